"""JSON from people who may be hostile, read without letting its shape crash the reader.

Python's json module recurses once per nested array or object, so a document of 100 000 `[` raises
RecursionError (not ValueError) from json.loads, and a merely deep one that loads can still raise it later
in code that walks it (json.dumps for a digest, a recursive check). Files and requests that students or
other users write (evidence files, the lab service's requests) are read with ``loads`` here: their nesting
depth is measured first, on the text, and a document deeper than ``max_depth`` is refused with a
ValueError that says so, before any parser recurses into it. Real halab documents nest a dozen levels.
"""

from __future__ import annotations

import json
import re
from itertools import accumulate
from typing import Any

MAX_DEPTH = 64
# A JSON string (escapes included); what is left outside strings is structure, numbers and literals.
_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"', re.S)
_NOT_BRACKET = re.compile(rb"[^\[\]{}]+")
_STEP = {ord("["): 1, ord("{"): 1, ord("]"): -1, ord("}"): -1}


class TooDeep(ValueError):
    """The document nests arrays and objects deeper than the reader allows."""


def depth(text: str | bytes) -> int:
    """How deeply arrays and objects nest in a JSON text (0 for a scalar); brackets inside strings do not
    count. Unbalanced text gives the depth it reaches: the parser names what is wrong with it afterwards."""
    data = text.encode("utf-8", "surrogatepass") if isinstance(text, str) else text
    brackets = _NOT_BRACKET.sub(b"", _STRING.sub(b"", data))
    return max(accumulate(_STEP[b] for b in brackets), default=0)


def loads(text: str | bytes, max_depth: int = MAX_DEPTH) -> Any:
    """json.loads for text from someone else: TooDeep (a ValueError) if it nests deeper than ``max_depth``."""
    found = depth(text)
    if found > max_depth:
        raise TooDeep(f"it nests arrays and objects {found} levels deep (at most {max_depth} are accepted)")
    return json.loads(text)
