"""The controlled vocabulary of the question bank: exam objectives, their weights and their terms.

course/quizzes/objectives.toml lists each objective (id, title, weight) with the terms and utilities it
covers, and which lab task or widget demonstrates a term live. Every question names terms from it, so that
mastery can be counted per term and the mock exam can draw questions with the objectives' weights. A
malformed file is a QuizError naming the file, the entry and the problem.
"""

from __future__ import annotations

import difflib
import functools
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from halab import paths
from halab.errors import HalabError


class QuizError(HalabError):
    """A question bank or the objectives file is malformed; the message names file, entry and problem."""


@dataclass(frozen=True)
class Objective:
    id: str
    title: str
    weight: int
    # Concepts, then commands and files: both are terms a question can name; quotas treat them alike.
    terms: tuple[str, ...]
    utilities: tuple[str, ...]

    @property
    def vocabulary(self) -> tuple[str, ...]:
        return self.terms + self.utilities

    @property
    def label(self) -> str:
        return f"{self.id} {self.title}"


@dataclass(frozen=True)
class Demonstration:
    """Where a term is seen live: a lab task (lab + task; the whole lab when no task is named) or a widget."""

    term: str
    lab: str = ""
    task: str = ""
    widget: str = ""
    notebook: str = ""
    note: str = ""

    @property
    def where(self) -> str:
        if self.lab:
            return f"lab {self.lab}, task {self.task}" if self.task else f"lab {self.lab}"
        return f"widget {self.widget} (notebook {self.notebook})"


@dataclass(frozen=True)
class Vocabulary:
    objectives: tuple[Objective, ...]
    demonstrations: tuple[Demonstration, ...]
    path: Path

    def objective(self, objective_id: str) -> Objective:
        for objective in self.objectives:
            if objective.id == objective_id:
                return objective
        raise QuizError(f"{self.path}: no objective {objective_id!r}")

    def objective_of(self, term: str) -> Objective:
        for objective in self.objectives:
            if term in objective.vocabulary:
                return objective
        raise QuizError(f"{self.path}: {term!r} is not a term of any objective{_suggest(term, self.terms)}")

    @property
    def terms(self) -> tuple[str, ...]:
        return tuple(t for o in self.objectives for t in o.vocabulary)

    def unknown(self, term: str) -> str:
        """The problem with a term that is not in the vocabulary, with a suggestion when one is close."""
        return f"unknown term {term!r} (not in {self.path.name}){_suggest(term, self.terms)}"

    def demonstrated(self, term: str) -> tuple[Demonstration, ...]:
        return tuple(d for d in self.demonstrations if d.term == term)


def _suggest(term: str, known: tuple[str, ...]) -> str:
    close = difflib.get_close_matches(term, known, n=1, cutoff=0.6)
    return f"; did you mean {close[0]!r}?" if close else ""


def objectives_path() -> Path:
    return paths.course_dir() / "quizzes" / "objectives.toml"


def load_vocabulary(path: Path | None = None) -> Vocabulary:
    path = path or objectives_path()
    try:
        stat = path.stat()
    except OSError as exc:
        raise QuizError(f"{path}: cannot read the objectives file: {exc.strerror or exc}") from None
    return _load(path, stat.st_mtime_ns, stat.st_size)


@functools.lru_cache(maxsize=8)
def _load(path: Path, mtime_ns: int, size: int) -> Vocabulary:
    # Keyed on the file's mtime and size, so an edited file is read again (a notebook kernel lives long).
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise QuizError(f"{path}: cannot read the objectives file: {exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise QuizError(f"{path}: not valid TOML: {exc}") from None
    raw = data.get("objectives")
    if not isinstance(raw, list) or not raw:
        raise QuizError(f"{path}: needs at least one [[objectives]] table")
    objectives = tuple(_objective(path, i, item) for i, item in enumerate(raw))
    seen: dict[str, str] = {}
    for objective in objectives:
        for term in objective.vocabulary:
            if term in seen:
                raise QuizError(f"{path}: objective {objective.id}: term {term!r} is already in {seen[term]}")
            seen[term] = objective.id
    if len({o.id for o in objectives}) != len(objectives):
        raise QuizError(f"{path}: two objectives have the same id")
    vocabulary = Vocabulary(objectives, (), path)
    demos = tuple(_demonstration(path, i, item, vocabulary) for i, item in enumerate(data.get("demonstrations", [])))
    return Vocabulary(objectives, demos, path)


def _strings(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(v, str) and v.strip() for v in value)


def _objective(path: Path, index: int, item: Any) -> Objective:
    label = item.get("id", f"#{index + 1}") if isinstance(item, dict) else f"#{index + 1}"

    def fail(problem: str) -> QuizError:
        return QuizError(f"{path}: objective {label}: {problem}")

    if not isinstance(item, dict):
        raise fail("must be a table")
    unknown = set(item) - {"id", "title", "weight", "terms", "utilities"}
    if unknown:
        raise fail(f"unknown keys {', '.join(sorted(unknown))}")
    for key in ("id", "title"):
        if not isinstance(item.get(key), str) or not item[key].strip():
            raise fail(f"needs a non-empty string {key!r}")
    weight = item.get("weight")
    if not isinstance(weight, int) or isinstance(weight, bool) or weight < 1:
        raise fail("weight must be a whole number of at least 1")
    if not _strings(item.get("terms")) or not item["terms"]:
        raise fail("terms must be a non-empty list of strings")
    if not _strings(item.get("utilities", [])):
        raise fail("utilities must be a list of strings")
    return Objective(item["id"], item["title"], weight, tuple(item["terms"]), tuple(item.get("utilities", [])))


def _demonstration(path: Path, index: int, item: Any, vocabulary: Vocabulary) -> Demonstration:
    def fail(problem: str) -> QuizError:
        return QuizError(f"{path}: demonstrations #{index + 1}: {problem}")

    if not isinstance(item, dict):
        raise fail("must be a table")
    unknown = set(item) - {"term", "lab", "task", "widget", "notebook", "note"}
    if unknown:
        raise fail(f"unknown keys {', '.join(sorted(unknown))}")
    if not all(isinstance(v, str) for v in item.values()):
        raise fail("every value must be a string")
    if item.get("term") not in vocabulary.terms:
        raise fail(vocabulary.unknown(str(item.get("term"))))
    if bool(item.get("lab")) == bool(item.get("widget")):
        raise fail("name either a lab (and optionally its task) or a widget (with its notebook)")
    if item.get("widget") and not item.get("notebook"):
        raise fail("a widget demonstration needs the notebook that shows it")
    return Demonstration(**item)
