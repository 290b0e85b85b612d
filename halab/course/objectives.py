"""The controlled vocabulary of the question bank: exam objectives, their weights and their terms.

course/quizzes/objectives.toml lists each objective the course teaches (id, title, weight) with the terms and
utilities it covers, which lab task or widget demonstrates a term live, which terms each lab task exercises
(so that a failed lab check puts those terms up for review), and every objective of the real exam with its
weight (so that the course can say honestly which share of the exam it covers). Every question names terms
from it, so that mastery can be counted per term and the mock exam can draw questions with the objectives'
weights. A malformed file is a QuizError naming the file, the entry and the problem.
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
    # A topic of the course that is not an objective of the exam: left out of the default mock exam.
    course_only: bool = False

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
class ExamObjective:
    """An objective of the real exam, as the exam's publisher weights it, taught here or not."""

    id: str
    title: str
    weight: int


@dataclass(frozen=True)
class LabLink:
    """The terms a lab task exercises (task "" = the whole lab): a failed check there reviews those terms."""

    labs: tuple[str, ...]
    task: str
    terms: tuple[str, ...]


@dataclass(frozen=True)
class Coverage:
    """Which objectives of the exam the course teaches, and their share of the exam's weight."""

    exam: str
    taught: tuple[ExamObjective, ...]
    untaught: tuple[ExamObjective, ...]

    @property
    def weight(self) -> int:
        return sum(o.weight for o in self.taught)

    @property
    def total(self) -> int:
        return self.weight + sum(o.weight for o in self.untaught)

    @property
    def share(self) -> float:
        return self.weight / self.total if self.total else 0.0

    def taught_text(self) -> str:
        taught = ", ".join(f"{o.id} (weight {o.weight})" for o in self.taught)
        return (f"{self.exam}: this course teaches {taught}: {self.weight} of the exam's {self.total} weight points "
                f"({100 * self.share:.0f} %).")

    def summary(self) -> str:
        return f"{self.taught_text()} Not taught: {', '.join(o.id for o in self.untaught)}."


@dataclass(frozen=True)
class Vocabulary:
    objectives: tuple[Objective, ...]
    demonstrations: tuple[Demonstration, ...]
    path: Path
    exam: str = ""
    exam_objectives: tuple[ExamObjective, ...] = ()
    lab_links: tuple[LabLink, ...] = ()

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

    @property
    def course_only(self) -> frozenset[str]:
        """The ids of the course's own topics, which are not objectives of the exam."""
        return frozenset(o.id for o in self.objectives if o.course_only)

    def coverage(self) -> Coverage:
        taught = {o.id for o in self.objectives if not o.course_only}
        return Coverage(self.exam, tuple(o for o in self.exam_objectives if o.id in taught),
                        tuple(o for o in self.exam_objectives if o.id not in taught))

    def terms_for_lab(self, lab: str, task: str) -> tuple[str, ...]:
        """The terms a lab task (or, with task "", the whole lab) exercises: its links and demonstrations."""
        terms = [t for link in self.lab_links if lab in link.labs and link.task == task for t in link.terms]
        terms += [d.term for d in self.demonstrations if d.lab == lab and d.task == task]
        return tuple(dict.fromkeys(terms))


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
    links = tuple(_lab_link(path, i, item, vocabulary) for i, item in enumerate(data.get("lab_terms", [])))
    name, exam_objectives = _exam(path, data.get("exam", {}), objectives)
    return Vocabulary(objectives, demos, path, name, exam_objectives, links)


def _strings(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(v, str) and v.strip() for v in value)


def _objective(path: Path, index: int, item: Any) -> Objective:
    label = item.get("id", f"#{index + 1}") if isinstance(item, dict) else f"#{index + 1}"

    def fail(problem: str) -> QuizError:
        return QuizError(f"{path}: objective {label}: {problem}")

    if not isinstance(item, dict):
        raise fail("must be a table")
    unknown = set(item) - {"id", "title", "weight", "terms", "utilities", "course_only"}
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
    if not isinstance(item.get("course_only", False), bool):
        raise fail("course_only must be true or false")
    return Objective(item["id"], item["title"], weight, tuple(item["terms"]), tuple(item.get("utilities", [])),
                     item.get("course_only", False))


def _exam(path: Path, raw: Any, objectives: tuple[Objective, ...]) -> tuple[str, tuple[ExamObjective, ...]]:
    """The [exam] table: the exam's name and all its objectives; each taught objective must be one of them,
    with the same weight, and no course-only topic may be."""
    if not isinstance(raw, dict) or not isinstance(raw.get("name"), str) or not raw["name"].strip():
        raise QuizError(f"{path}: needs an [exam] table with a name and [[exam.objectives]] (id, title, weight)")
    listed = []
    for index, item in enumerate(raw.get("objectives", [])):
        if not isinstance(item, dict) or set(item) != {"id", "title", "weight"}:
            raise QuizError(f"{path}: exam.objectives #{index + 1}: needs exactly id, title and weight")
        weight = item["weight"]
        if not isinstance(weight, int) or isinstance(weight, bool) or weight < 1:
            raise QuizError(f"{path}: exam.objectives {item['id']}: weight must be a whole number of at least 1")
        listed.append(ExamObjective(str(item["id"]), str(item["title"]), weight))
    weights = {o.id: o.weight for o in listed}
    for objective in objectives:
        if objective.course_only and objective.id in weights:
            raise QuizError(f"{path}: objective {objective.id} is course_only but is listed as an exam objective")
        if not objective.course_only and weights.get(objective.id) != objective.weight:
            found = f"weight {weights[objective.id]}" if objective.id in weights else "not listed"
            raise QuizError(f"{path}: objective {objective.id} has weight {objective.weight}, but in "
                            f"[[exam.objectives]] it is {found}")
    return raw["name"].strip(), tuple(listed)


def _lab_link(path: Path, index: int, item: Any, vocabulary: Vocabulary) -> LabLink:
    def fail(problem: str) -> QuizError:
        return QuizError(f"{path}: lab_terms #{index + 1}: {problem}")

    if not isinstance(item, dict) or set(item) - {"labs", "task", "terms"}:
        raise fail("needs labs (a list), task (optional) and terms, nothing else")
    if not _strings(item.get("labs")) or not item["labs"]:
        raise fail("labs must be a non-empty list of lab names")
    if not isinstance(item.get("task", ""), str):
        raise fail("task must be a task id (or left out for the whole lab)")
    if not _strings(item.get("terms")) or not item["terms"]:
        raise fail("terms must be a non-empty list of terms")
    for term in item["terms"]:
        if term not in vocabulary.terms:
            raise fail(vocabulary.unknown(term))
    return LabLink(tuple(item["labs"]), item.get("task", ""), tuple(item["terms"]))


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
