"""Parsers: one module per tool, each turning that tool's raw output into facts (dataclasses).

A parser never guesses: output it cannot read raises ParseError with a short explanation, which the
checks turn into a failed verdict instead of a traceback.
"""

import xml.etree.ElementTree as ET


class ParseError(ValueError):
    """The tool's output is not in the form the parser knows (garbage, truncated, or an error text)."""


def xml_root(text: str, tool: str, tag: str, child: str):  # -> xml.etree.ElementTree.Element
    """The root element of a tool's XML output, checked to be the document the parser expects."""
    try:
        root = ET.fromstring(text)
    except ET.ParseError as exc:
        raise ParseError(f"{tool} printed no readable XML ({exc})") from None
    if root.tag != tag or root.find(child) is None:
        raise ParseError(f"{tool}'s XML has no <{tag}>/<{child}>")
    return root
