"""Question banks: the TOML files under course/quizzes/, loaded, validated and cached as QuizBank objects.

Two sets of banks, kept apart so that no graded answer can be tried in practice first:

- practice banks, course/quizzes/NN-name.toml: the quiz widget at the end of each notebook, the mock exam,
  `halab exam`, spaced review and progress;
- graded banks, course/quizzes/graded/NN-name.toml: the questions that nbgrader test cells grade with
  `correct(bank, id, answer)`.

An id belongs to one question in one bank only (check_catalogue). The question types are in
halab.course.questions, the parser of one question in halab.course.quizparse; both are re-exported here.
"""

from __future__ import annotations

import functools
import random
import re
import tomllib
from dataclasses import replace
from pathlib import Path

from halab import paths
from halab.course.fillin import strip_decoration
from halab.course.objectives import QuizError, Vocabulary, load_vocabulary
from halab.course.questions import (
    GRADED_KINDS,
    LETTERS,
    MAX_ANSWER_CHARS,
    NUMBER_WORDS,
    PRACTICE_KINDS,
    Choice,
    Question,
    QuizBank,
    Section,
    WrongAnswer,
)
from halab.course.quizparse import QuestionParser

__all__ = [
    "GRADED_KINDS", "LETTERS", "MAX_ANSWER_CHARS", "NUMBER_WORDS", "PRACTICE_KINDS", "Choice", "Question",
    "QuizBank", "QuizError", "Section", "WrongAnswer", "bank_names", "check_catalogue", "graded_bank_names",
    "load_bank", "load_graded_bank", "normalise_text", "practice_questions", "quizzes_dir", "shuffled",
]  # fmt: skip
BANK_RE = re.compile(r"^\d\d[a-z]?-[a-z0-9-]+$")  # 05b-load-balancing: a notebook between 05 and 06


def quizzes_dir() -> Path:
    return paths.course_dir() / "quizzes"


def graded_dir() -> Path:
    return quizzes_dir() / "graded"


def _names(folder: Path) -> list[str]:
    return sorted(p.stem for p in folder.glob("*.toml") if BANK_RE.match(p.stem))


def bank_names() -> list[str]:
    """The practice banks (one per notebook that has a quiz)."""
    return _names(quizzes_dir())


def graded_bank_names() -> list[str]:
    return _names(graded_dir())


def load_bank(name_or_path: str | Path) -> QuizBank:
    """A practice bank by name ("02-ha-concepts"), or any bank by path (graded if it is in graded/)."""
    path = Path(name_or_path)
    if path.suffix != ".toml":
        path = quizzes_dir() / f"{name_or_path}.toml"
    return _read(path, graded=path.parent.name == "graded")


def load_graded_bank(name: str) -> QuizBank:
    """The graded questions of a notebook, as its nbgrader test cells use them."""
    return _read(graded_dir() / f"{name}.toml", graded=True)


def _read(path: Path, graded: bool) -> QuizBank:
    try:
        stat = path.stat()
    except FileNotFoundError:
        names = graded_bank_names() if graded else bank_names()
        kind = "graded quiz" if graded else "quiz"
        raise QuizError(f"{path}: no such {kind} file (banks: {', '.join(names) or 'none'})") from None
    except OSError as exc:
        raise QuizError(f"{path}: cannot read it: {exc.strerror or exc}") from None
    vocabulary = load_vocabulary()
    return _parse(path, graded, stat.st_mtime_ns, stat.st_size, vocabulary)


@functools.lru_cache(maxsize=64)
def _parse(path: Path, graded: bool, mtime_ns: int, size: int, vocabulary: Vocabulary) -> QuizBank:
    # Cached per file version: the widgets and the exam read the same banks many times.
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise QuizError(f"{path}: cannot read it: {exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise QuizError(f"{path}: not valid TOML: {exc}") from None
    unknown = set(data) - {"title", "notebook", "questions"}
    if unknown:
        raise QuizError(f"{path}: unknown top-level keys {', '.join(sorted(unknown))} (title, notebook, questions)")
    raw = data.get("questions")
    if not isinstance(raw, list) or not raw:
        raise QuizError(f"{path}: needs at least one [[questions]] table")
    notebook = data.get("notebook", path.stem)
    if not isinstance(notebook, str) or not notebook:
        raise QuizError(f"{path}: notebook must be the name of a notebook folder, e.g. 02-ha-concepts")
    parser = QuestionParser(path, graded, notebook, vocabulary)
    questions = tuple(parser.parse(index, item) for index, item in enumerate(raw))
    ids = [q.id for q in questions]
    duplicates = sorted({i for i in ids if ids.count(i) > 1})
    if duplicates:
        raise QuizError(f"{path}: duplicate question ids: {', '.join(duplicates)}")
    return QuizBank(path.stem, str(data.get("title", path.stem)), questions, graded)


def shuffled(question: Question, rng: random.Random) -> Question:
    """The question with its choices in a random order (authors tend to write the right answer first).

    Only for practice and the mock exam: graded questions keep their order, which the notebooks spell out."""
    if not question.choices:
        return question
    order = list(question.choices)
    rng.shuffle(order)
    return replace(question, choices=tuple(order))


def practice_questions() -> tuple[Question, ...]:
    """Every practice question of every bank, in bank order: what the mock exam and progress draw on. The whole
    catalogue is checked first, so that an id used twice is an error rather than two questions' history mixed."""
    practice, _ = check_catalogue()
    return tuple(q for bank in practice for q in bank.questions)


def check_catalogue() -> tuple[tuple[QuizBank, ...], tuple[QuizBank, ...]]:
    """Load every practice and graded bank; QuizError if an id is used twice anywhere."""
    practice = tuple(load_bank(n) for n in bank_names())
    graded = tuple(load_graded_bank(n) for n in graded_bank_names())
    owner: dict[str, str] = {}
    for bank in (*practice, *graded):
        where = f"graded/{bank.name}" if bank.graded else bank.name
        for question in bank.questions:
            if question.id in owner:
                raise QuizError(f"question id {question.id!r} is in both {owner[question.id]} and {where}: an id "
                                "is either a practice or a graded question, and unique")
            owner[question.id] = where
    return practice, graded


def normalise_text(text: str, case_sensitive: bool = True) -> str:
    """A text as typed, cleaned of what surrounds it (quotes, backticks, a shell prompt) and of extra spaces."""
    text = strip_decoration(text)
    return text if case_sensitive else text.casefold()
