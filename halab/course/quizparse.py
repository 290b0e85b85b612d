"""Parsing and validating one [[questions]] table of a bank into a Question (halab.course.questions).

Every problem is a QuizError naming the file, the question and what is wrong, like a lab spec's SpecError.
The answer key is checked first, because that is where most typos hide: a single-choice question with two
right options, a fill-in whose listed wrong answer is in fact accepted once compared by meaning, a numeric
near miss inside the tolerance.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from halab.course import fillin
from halab.course.cmdline import BLANK, is_command
from halab.course.objectives import QuizError, Vocabulary
from halab.course.questions import (
    GRADED_KINDS,
    MAX_ANSWER_CHARS,
    PRACTICE_KINDS,
    Choice,
    Question,
    Section,
    WrongAnswer,
)

ID_RE = re.compile(r"^[a-z0-9][a-z0-9-]{0,63}$")
TEMPLATE_RE = re.compile(r"`([^`]*_{3,}[^`]*)`")
COMMON_KEYS = {"id", "kind", "prompt", "explanation", "terms", "section", "notebook", "points"}
KIND_KEYS = {
    "single": {"choices"},
    "choice": {"choices"},
    "multi": {"choices"},
    "choose": {"choices", "pick"},
    "fill": {"answers", "case_sensitive", "blank", "wrong_answers", "command"},
    "numeric": {"answer", "tolerance", "unit", "wrong_answers"},
}
CHOICE_LIMITS = {"single": (4, 5), "choice": (2, 5), "multi": (2, 6), "choose": (4, 6)}
Fail = Callable[[str], QuizError]


class QuestionParser:
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
        body = {"numeric": numeric, "fill": fill}.get(item["kind"], choices)(item, fail)
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
        )  # fmt: skip


def choices(item: dict[str, Any], fail: Fail) -> dict[str, Any]:
    raw = item.get("choices")
    if not isinstance(raw, list) or not all(isinstance(c, dict) for c in raw):
        raise fail("needs a list of choices, each a table with text, correct and feedback")
    parsed = []
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
        parsed.append(Choice(choice["text"].strip(), choice.get("correct", False), choice.get("feedback", "")))
    texts = [" ".join(c.text.split()) for c in parsed]  # case matters: "-a" and "-A" are different options
    if len(set(texts)) != len(texts):
        raise fail("two choices have the same text")
    right = sum(c.correct for c in parsed)
    kind = item["kind"]
    low, high = CHOICE_LIMITS[kind]
    if not low <= len(parsed) <= high:
        raise fail(f"kind {kind!r} needs {low} to {high} choices, has {len(parsed)}")
    if kind in ("single", "choice") and right != 1:
        raise fail(f"kind {kind!r} needs exactly one correct choice, has {right}")
    if kind == "multi" and right < 1:
        raise fail("kind 'multi' needs at least one correct choice")
    pick = 0
    if kind == "choose":
        wanted = item.get("pick")
        if not isinstance(wanted, int) or isinstance(wanted, bool) or not 2 <= wanted < len(parsed):
            raise fail("kind 'choose' needs pick = the number of answers to choose (2 or more, fewer than choices)")
        pick = wanted
        if right != pick:
            raise fail(f"pick = {pick} but {right} choices are marked correct")
    return {"choices": tuple(parsed), "pick": pick}


def fill(item: dict[str, Any], fail: Fail) -> dict[str, Any]:
    answers = item.get("answers")
    if not isinstance(answers, list) or not answers or not all(isinstance(a, str) and a.strip() for a in answers):
        raise fail("kind 'fill' needs answers = a non-empty list of accepted texts")
    case_sensitive = item.get("case_sensitive", True)
    if not isinstance(case_sensitive, bool):
        raise fail("case_sensitive must be true or false")
    if any(len(a) > MAX_ANSWER_CHARS for a in answers):
        raise fail(f"accepted answers must be shorter than {MAX_ANSWER_CHARS} characters")
    command = item.get("command", "")
    if not isinstance(command, str):
        raise fail("command (the command whose option is asked, e.g. 'crm_verify') must be text")
    found = TEMPLATE_RE.search(item["prompt"])
    # A blank in a command line of a known command is filled in before comparing; a blank in anything else
    # (a line of a configuration file) asks for a word, compared as text.
    template = re.sub(r"_{3,}", BLANK, found.group(1)) if found and is_command(found.group(1)) else ""
    if template and command:
        raise fail(f"the prompt already has the command line `{found.group(1) if found else ''}`; drop "
                   f"command = {command!r}")
    if command and not is_command(command):
        raise fail(f"command = {command!r} is not a command with an option table (halab/course/cmdtables.py)")
    template = template or (f"{command} {BLANK}" if command else "")
    keys = [fillin.answer_key(a, template, case_sensitive) for a in answers]
    for number, key in enumerate(keys):
        if any(fillin.same(key, earlier) for earlier in keys[:number]):
            raise fail(f"accepted answer {answers[number]!r} means the same as an earlier one (spaces, quotes, case, "
                       "option order and spelling are compared by meaning): list each answer once")
    wrong = wrong_answers(item, fail, str)
    wrong_keys = [fillin.answer_key(str(w.value), template, case_sensitive) for w in wrong]
    for number, (answer, key) in enumerate(zip(wrong, wrong_keys, strict=True)):
        if any(fillin.same(key, accepted) for accepted in keys):
            raise fail(f"wrong answer {answer.value!r} is also an accepted answer")
        if any(fillin.same(key, earlier) for earlier in wrong_keys[:number]):
            raise fail(f"wrong answer {answer.value!r} means the same as an earlier wrong answer: list it once")
    blank = item.get("blank", "")
    if not isinstance(blank, str):
        raise fail("blank (what to type, e.g. 'a command') must be text")
    return {"answers": tuple(a.strip() for a in answers), "case_sensitive": case_sensitive, "blank": blank,
            "template": template, "wrong_answers": wrong}


def numeric(item: dict[str, Any], fail: Fail) -> dict[str, Any]:
    answer, tolerance = item.get("answer"), item.get("tolerance")
    numbers = (answer, tolerance)
    if not all(isinstance(n, int | float) and not isinstance(n, bool) and math.isfinite(n) for n in numbers):
        raise fail("a numeric question needs a number 'answer' and a number 'tolerance'")
    assert isinstance(answer, int | float) and isinstance(tolerance, int | float)
    if tolerance < 0:
        raise fail("tolerance must be zero or more")
    wrong = wrong_answers(item, fail, float)
    for entry in wrong:
        if abs(float(entry.value) - answer) <= tolerance:
            raise fail(f"wrong answer {entry.value:g} is within the tolerance of the right answer {answer:g}")
    unit = item.get("unit", "")
    if not isinstance(unit, str):
        raise fail("unit must be text")
    return {"answer": float(answer), "tolerance": float(tolerance), "unit": unit, "wrong_answers": wrong}


def wrong_answers(item: dict[str, Any], fail: Fail, kind: type) -> tuple[WrongAnswer, ...]:
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
