"""Parsers: one module per tool, each turning that tool's raw output into facts (dataclasses).

A parser never guesses: output it cannot read raises ParseError with a short explanation, which the
checks turn into a failed verdict instead of a traceback.
"""


class ParseError(ValueError):
    """The tool's output is not in the form the parser knows (garbage, truncated, or an error text)."""
