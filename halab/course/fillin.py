"""Whether a typed fill-in answer is one of a question's accepted answers, by meaning (halab.course.cmdline).

An answer is first stripped of what surrounds it when copied from a terminal or a notebook (quotes, backticks,
a shell prompt), then put into the question's template when it only fills a blank (`-g` in
`corosync-cmapctl ___ key`), then brought to a canonical form: a command line of a known command by its option
table, anything else (a term, a path, a `key: value` line) as text, with the question's case rule.
"""

from __future__ import annotations

from halab.course.cmdline import Key, canonical, fill_template, is_command, text_key
from halab.course.questions import Question

AnswerKey = Key | str


def strip_decoration(text: str) -> str:
    """No surrounding quotes or backticks, no shell prompt, single spaces."""
    text = text.strip()
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "`'\"":
        text = text[1:-1].strip()
    if text[:2] in ("$ ", "# "):
        text = text[2:]
    return " ".join(text.split())


def answer_key(text: str, template: str = "", case_sensitive: bool = True) -> AnswerKey:
    """The canonical form two answers must share to be the same answer."""
    line = fill_template(strip_decoration(text), template)
    if is_command(line):
        return canonical(line)
    return text_key(line, case_sensitive)


def key_of(question: Question, text: str) -> AnswerKey:
    return answer_key(text, question.template, question.case_sensitive)


def same(given: AnswerKey, expected: AnswerKey) -> bool:
    """Whether a given answer is the expected one. An option the key names without a value (`-k` for "which
    option writes the key elsewhere") matches that option with any value (`-k /root/key`); everything else must
    be equal, with no option more or fewer."""
    if isinstance(given, str) or isinstance(expected, str):
        return given == expected
    if (given.command, given.positional) != (expected.command, expected.positional):
        return False
    remaining = list(given.options)
    # Options with a value first, so that an open option cannot take the token a fixed one needs.
    for name, value in sorted(expected.options, key=lambda token: token[1] is None):
        match = next((t for t in remaining if t[0] == name and (value is None or t[1] == value)), None)
        if match is None:
            return False
        remaining.remove(match)
    return not remaining


def is_accepted(question: Question, text: str) -> bool:
    given = key_of(question, text)
    return any(same(given, key_of(question, answer)) for answer in question.answers)


def known_mistake(question: Question, text: str) -> str | None:
    """The feedback on a wrong answer the bank expects (a near miss), or None."""
    given = key_of(question, text)
    for wrong in question.wrong_answers:
        if same(given, key_of(question, str(wrong.value))):
            return wrong.feedback
    return None


def differs_only_in_case(question: Question, text: str) -> bool:
    """For the hint "letter case matters": the answer would be right if case did not count."""
    if not question.case_sensitive:
        return False
    folded = answer_key(text.casefold(), question.template.casefold(), True)
    return folded in {answer_key(a.casefold(), question.template.casefold(), True) for a in question.answers}
