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


def accepted_keys(question: Question) -> set[AnswerKey]:
    return {key_of(question, a) for a in question.answers}


def is_accepted(question: Question, text: str) -> bool:
    return key_of(question, text) in accepted_keys(question)


def known_mistake(question: Question, text: str) -> str | None:
    """The feedback on a wrong answer the bank expects (a near miss), or None."""
    given = key_of(question, text)
    for wrong in question.wrong_answers:
        if key_of(question, str(wrong.value)) == given:
            return wrong.feedback
    return None


def differs_only_in_case(question: Question, text: str) -> bool:
    """For the hint "letter case matters": the answer would be right if case did not count."""
    if not question.case_sensitive:
        return False
    folded = answer_key(text.casefold(), question.template.casefold(), True)
    return folded in {answer_key(a.casefold(), question.template.casefold(), True) for a in question.answers}
