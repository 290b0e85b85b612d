"""DRBD configuration (`drbdadm dump RES`, or a .res file) -> nested sections.

    resource r0 { on node1 { device /dev/drbd0 minor 0; address ipv4 10.42.21.11:7789; } net { protocol C; } }

Statements end with ';'; a section is a keyword, optional arguments and a block. Syntax errors in the
student's file are reported by drbdadm itself (its stderr names the line); this parser only reads what
drbdadm accepted, and raises ParseError on anything else.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from graders.collectors import ParseError

_TOKEN = re.compile(r'"[^"]*"|[{};]|[^\s{};"]+')


@dataclass
class Block:
    keyword: str
    args: list[str] = field(default_factory=list)
    values: dict[str, list[str]] = field(default_factory=dict)
    blocks: list[Block] = field(default_factory=list)

    def find(self, keyword: str, arg: str | None = None) -> Block | None:
        return next((b for b in self.blocks if b.keyword == keyword and (arg is None or arg in b.args)), None)

    def value(self, key: str) -> str | None:
        """The first word of a statement, e.g. "device" -> "/dev/drbd0"."""
        words = self.values.get(key)
        return words[0] if words else None


def parse(text: str) -> Block:
    lines = [line.split("#", 1)[0] for line in text.splitlines()]
    tokens = _TOKEN.findall("\n".join(lines))
    root = Block("")
    stack = [root]
    words: list[str] = []
    for token in tokens:
        if token == "{":
            if not words:
                raise ParseError("a '{' with no keyword before it")
            block = Block(words[0], words[1:])
            stack[-1].blocks.append(block)
            stack.append(block)
            words = []
        elif token == "}":
            if words or len(stack) == 1:
                raise ParseError(f"unexpected '}}' after {' '.join(words) or 'the top level'}")
            stack.pop()
        elif token == ";":
            if words:
                stack[-1].values[words[0]] = [w.strip('"') for w in words[1:]]
            words = []
        else:
            words.append(token)
    if len(stack) != 1 or words:
        raise ParseError("the configuration ends inside a section or statement")
    return root
