"""Question banks: the TOML files under course/quizzes/, parsed and validated into Question objects.

Two sets of banks, kept apart so that no graded answer can be tried in practice first:

- practice banks, course/quizzes/NN-name.toml: the quiz widget at the end of each notebook, the mock exam,
  `halab exam`, and progress; kinds `single` (4-5 options, one right), `choose` (the prompt says how many to
  pick, and only exactly that set is right), `fill` (a command, file, option or value, with accepted
  variants) and `numeric`;
- graded banks, course/quizzes/graded/NN-name.toml: the questions that nbgrader test cells grade with
  `correct(bank, id, answer)`; they may also use `choice` (2-5 options) and `multi` (tick all that apply),
  because the notebooks' graded cells spell out their options in prose.

An id belongs to one question in one bank only (check_catalogue). Every problem is a QuizError naming the
file, the question and what is wrong, like a lab spec's SpecError.
"""

from __future__ import annotations

import functools
import math
import random
import re
import string
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from halab import paths
from halab.course.objectives import QuizError, Vocabulary, load_vocabulary

PRACTICE_KINDS = ("single", "choose", "fill", "numeric")
GRADED_KINDS = (*PRACTICE_KINDS, "choice", "multi")
LETTERS = string.ascii_lowercase
ID_RE = re.compile(r"^[a-z0-9][a-z0-9-]{0,63}$")
BANK_RE = re.compile(r"^\d\d[a-z]?-[a-z0-9-]+$")  # 05b-load-balancing: a notebook between 05 and 06
MAX_ANSWER_CHARS = 300
COMMON_KEYS = {"id", "kind", "prompt", "explanation", "terms", "section", "notebook", "points"}
KIND_KEYS = {
    "single": {"choices"},
    "choice": {"choices"},
    "multi": {"choices"},
    "choose": {"choices", "pick"},
    "fill": {"answers", "case_sensitive", "blank", "wrong_answers"},
    "numeric": {"answer", "tolerance", "unit", "wrong_answers"},
}
NUMBER_WORDS = {2: "two", 3: "three", 4: "four"}
Fail = Callable[[str], QuizError]


@dataclass(frozen=True)
class Choice:
    text: str
    correct: bool
    feedback: str


@dataclass(frozen=True)
class WrongAnswer:
    """An answer students often give, with feedback on the mistake behind it (a number, or text for fill)."""

    value: float | str
    feedback: str


@dataclass(frozen=True)
class Section:
    """The notebook section that teaches a question: the notebook's folder name and a heading in it."""

    notebook: str
    heading: str

    def __str__(self) -> str:
        return f"notebook {self.notebook}, section \u201c{self.heading}\u201d"


@dataclass(frozen=True)
class Question:
    id: str
    kind: str
    prompt: str
    terms: tuple[str, ...]
    explanation: str
    section: Section
    bank: str = ""
    objective: str = ""
    graded: bool = False
    points: int = 1
    choices: tuple[Choice, ...] = ()
    pick: int = 0
    answers: tuple[str, ...] = ()
    case_sensitive: bool = True
    blank: str = ""
    answer: float | None = None
    tolerance: float = 0.0
    unit: str = ""
    wrong_answers: tuple[WrongAnswer, ...] = ()

    def letter(self, index: int) -> str:
        return LETTERS[index]

    @property
    def objectives(self) -> tuple[str, ...]:
        """The terms (the name the first banks used for them)."""
        return self.terms

    @property
    def text(self) -> str:
        """The prompt as shown: "choose" questions say how many answers to pick, as LPI exams do."""
        if self.kind == "choose":
            return f"{self.prompt} (Choose {NUMBER_WORDS.get(self.pick, str(self.pick))}.)"
        return self.prompt

    @property
    def right_letters(self) -> tuple[str, ...]:
        return tuple(self.letter(i) for i, c in enumerate(self.choices) if c.correct)

    @property
    def key(self) -> Any:
        """The right answer in the form grading takes: letters, the first accepted text, or the number."""
        if self.kind == "fill":
            return self.answers[0]
        if self.kind == "numeric":
            return self.answer
        return list(self.right_letters)

    @property
    def key_text(self) -> str:
        """The right answer for people: the letters and texts of the right choices, or the value."""
        if self.kind == "fill":
            return self.answers[0]
        if self.kind == "numeric":
            return f"{self.answer:g} {self.unit}".strip()
        return "; ".join(f"({self.letter(i)}) {c.text}" for i, c in enumerate(self.choices) if c.correct)


@dataclass(frozen=True)
class QuizBank:
    name: str
    title: str
    questions: tuple[Question, ...]
    graded: bool = False

    def question(self, question_id: str) -> Question:
        for question in self.questions:
            if question.id == question_id:
                return question
        kind = "graded bank" if self.graded else "quiz"
        raise QuizError(f"{kind} {self.name!r} has no question {question_id!r}")


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
    parser = _QuestionParser(path, graded, notebook, vocabulary)
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


class _QuestionParser:
    def __init__(self, path: Path, graded: bool, notebook: str, vocabulary: Vocabulary) -> None:
        self.path, self.graded, self.notebook, self.vocabulary = path, graded, notebook, vocabulary

    def parse(self, index: int, item: Any) -> Question:
        label = item.get("id", f"#{index + 1}") if isinstance(item, dict) else f"#{index + 1}"

        def fail(problem: str) -> QuizError:
            return QuizError(f"{self.path}: question {label}: {problem}")

        if not isinstance(item, dict):
            raise fail("must be a table")
        for key in ("id", "kind", "prompt", "explanation"):
            if not isinstance(item.get(key), str) or not item[key].strip():
                raise fail(f"needs a non-empty string {key!r}")
        if not ID_RE.match(item["id"]):
            raise fail("id must be lower-case letters, digits and dashes")
        kinds = GRADED_KINDS if self.graded else PRACTICE_KINDS
        if item["kind"] in ("choice", "multi") and not self.graded:
            raise fail(f"kind {item['kind']!r} is only for graded banks; practice questions use 'single' (4-5 "
                       "options) or 'choose' (the prompt says how many to pick)")
        if item["kind"] not in kinds:
            where = "a graded bank" if self.graded else "a practice bank"
            raise fail(f"kind must be one of {', '.join(kinds)} in {where}")
        unknown = set(item) - COMMON_KEYS - KIND_KEYS[item["kind"]]
        if unknown:
            raise fail(f"unknown keys for kind {item['kind']!r}: {', '.join(sorted(unknown))}")
        # The answer key first: it is where most typos hide.
        body = {"numeric": _numeric, "fill": _fill}.get(item["kind"], _choices)(item, fail)
        terms = item.get("terms")
        if not isinstance(terms, list) or not terms or not all(isinstance(t, str) for t in terms):
            raise fail("terms must be a non-empty list of objective terms (see objectives.toml)")
        for term in terms:
            if term not in self.vocabulary.terms:
                raise fail(self.vocabulary.unknown(term))
        if not isinstance(item.get("section"), str) or not item["section"].strip():
            raise fail("needs a non-empty string 'section' (a heading of the notebook that teaches it)")
        notebook = item.get("notebook", self.notebook)
        if not isinstance(notebook, str) or not notebook:
            raise fail("notebook must be a notebook folder name")
        points = item.get("points", 1)
        if not isinstance(points, int) or isinstance(points, bool) or points < 1:
            raise fail("points must be a whole number of at least 1")
        return Question(
            id=item["id"], kind=item["kind"], prompt=item["prompt"].strip(), terms=tuple(terms),
            explanation=item["explanation"].strip(), section=Section(notebook, item["section"].strip()),
            bank=self.path.stem, objective=self.vocabulary.objective_of(terms[0]).id, graded=self.graded,
            points=points, **body,
        )


def _choices(item: dict[str, Any], fail: Fail) -> dict[str, Any]:
    raw = item.get("choices")
    if not isinstance(raw, list) or not all(isinstance(c, dict) for c in raw):
        raise fail("needs a list of choices, each a table with text, correct and feedback")
    choices = []
    for number, choice in enumerate(raw, 1):
        extra = set(choice) - {"text", "correct", "feedback"}
        if extra:
            raise fail(f"choice {number}: unknown keys {', '.join(sorted(extra))}")
        if not isinstance(choice.get("text"), str) or not choice["text"].strip():
            raise fail(f"choice {number}: needs a non-empty text")
        if not isinstance(choice.get("correct", False), bool):
            raise fail(f"choice {number}: correct must be true or false")
        if not isinstance(choice.get("feedback", ""), str):
            raise fail(f"choice {number}: feedback must be text")
        choices.append(Choice(choice["text"].strip(), choice.get("correct", False), choice.get("feedback", "")))
    texts = [" ".join(c.text.split()) for c in choices]  # case matters: "-a" and "-A" are different options
    if len(set(texts)) != len(texts):
        raise fail("two choices have the same text")
    right = sum(c.correct for c in choices)
    kind = item["kind"]
    limits = {"single": (4, 5), "choice": (2, 5), "multi": (2, 6), "choose": (4, 6)}[kind]
    if not limits[0] <= len(choices) <= limits[1]:
        raise fail(f"kind {kind!r} needs {limits[0]} to {limits[1]} choices, has {len(choices)}")
    if kind in ("single", "choice") and right != 1:
        raise fail(f"kind {kind!r} needs exactly one correct choice, has {right}")
    if kind == "multi" and right < 1:
        raise fail("kind 'multi' needs at least one correct choice")
    pick = 0
    if kind == "choose":
        given = item.get("pick")
        if not isinstance(given, int) or isinstance(given, bool) or not 2 <= given < len(choices):
            raise fail("kind 'choose' needs pick = the number of answers to choose (2 or more, fewer than choices)")
        pick = given
        if right != pick:
            raise fail(f"pick = {pick} but {right} choices are marked correct")
    return {"choices": tuple(choices), "pick": pick}


def normalise_text(text: str, case_sensitive: bool = True) -> str:
    """A fill-in answer as compared: no surrounding quotes/backticks or shell prompt, single spaces."""
    text = text.strip()
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "`'\"":
        text = text[1:-1].strip()
    if text[:2] in ("$ ", "# "):
        text = text[2:]
    text = " ".join(text.split())
    return text if case_sensitive else text.casefold()


def _fill(item: dict[str, Any], fail: Fail) -> dict[str, Any]:
    answers = item.get("answers")
    if not isinstance(answers, list) or not answers or not all(isinstance(a, str) and a.strip() for a in answers):
        raise fail("kind 'fill' needs answers = a non-empty list of accepted texts")
    case_sensitive = item.get("case_sensitive", True)
    if not isinstance(case_sensitive, bool):
        raise fail("case_sensitive must be true or false")
    accepted = [normalise_text(a, case_sensitive) for a in answers]
    if len(set(accepted)) != len(accepted):
        raise fail("two accepted answers are the same once spaces, quotes and case are normalised")
    if any(len(a) > MAX_ANSWER_CHARS for a in answers):
        raise fail(f"accepted answers must be shorter than {MAX_ANSWER_CHARS} characters")
    wrong = _wrong_answers(item, fail, str)
    for answer in wrong:
        if normalise_text(str(answer.value), case_sensitive) in accepted:
            raise fail(f"wrong answer {answer.value!r} is also an accepted answer")
    blank = item.get("blank", "")
    if not isinstance(blank, str):
        raise fail("blank (what to type, e.g. 'a command') must be text")
    return {"answers": tuple(a.strip() for a in answers), "case_sensitive": case_sensitive, "blank": blank,
            "wrong_answers": wrong}


def _numeric(item: dict[str, Any], fail: Fail) -> dict[str, Any]:
    answer, tolerance = item.get("answer"), item.get("tolerance")
    numbers = (answer, tolerance)
    if not all(isinstance(n, int | float) and not isinstance(n, bool) and math.isfinite(n) for n in numbers):
        raise fail("a numeric question needs a number 'answer' and a number 'tolerance'")
    assert isinstance(answer, int | float) and isinstance(tolerance, int | float)
    if tolerance < 0:
        raise fail("tolerance must be zero or more")
    wrong = _wrong_answers(item, fail, float)
    for entry in wrong:
        if abs(float(entry.value) - answer) <= tolerance:
            raise fail(f"wrong answer {entry.value:g} is within the tolerance of the right answer {answer:g}")
    unit = item.get("unit", "")
    if not isinstance(unit, str):
        raise fail("unit must be text")
    return {"answer": float(answer), "tolerance": float(tolerance), "unit": unit, "wrong_answers": wrong}


def _wrong_answers(item: dict[str, Any], fail: Fail, kind: type) -> tuple[WrongAnswer, ...]:
    raw = item.get("wrong_answers", [])
    key = "text" if kind is str else "value"
    if not isinstance(raw, list):
        raise fail(f"wrong_answers must be a list of {{ {key} = ..., feedback = ... }}")
    parsed = []
    for entry in raw:
        if not isinstance(entry, dict) or set(entry) != {key, "feedback"} or not isinstance(entry["feedback"], str):
            raise fail(f"each wrong answer needs exactly {key} and feedback")
        value = entry[key]
        if kind is str and not (isinstance(value, str) and value.strip()):
            raise fail("a wrong answer's text must be non-empty")
        if kind is float and (isinstance(value, bool) or not isinstance(value, int | float)):
            raise fail("a wrong answer's value must be a number")
        parsed.append(WrongAnswer(value if kind is str else float(value), entry["feedback"]))
    return tuple(parsed)
