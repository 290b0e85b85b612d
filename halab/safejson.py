"""JSON from someone else (a request to the lab service, an evidence file a student hands in), read with a
bound on how deeply it nests.

``json.loads`` recurses once per level: a 64 KiB line of ``[[[[...`` raised RecursionError out of the lab
service's reader (the request's thread died with a traceback, the caller got no answer), and a structure just
under Python's limit still breaks the first recursive walk over it later. Here both are a ValueError, like any
other malformed JSON, that says what is wrong; callers already turn ValueError into a clear refusal. Used by the
lab service's wire (halab/access/protocol.py); the evidence loader can use it too.
"""

from __future__ import annotations

import json
from typing import Any

MAX_DEPTH = 64  # far deeper than any message or evidence file of halab's (a check's raw facts: about 8)


def loads(text: str | bytes, max_depth: int = MAX_DEPTH) -> Any:
    """``json.loads``, but ValueError (never RecursionError) for data nested deeper than ``max_depth``."""
    try:
        value = json.loads(text)
    except RecursionError:
        raise ValueError(f"JSON nested deeper than {max_depth} levels") from None
    depth_first: list[tuple[Any, int]] = [(value, 1)]
    while depth_first:  # a loop, not recursion: the check must not fail the way it guards against
        item, depth = depth_first.pop()
        children = item.values() if isinstance(item, dict) else item if isinstance(item, list) else ()
        for child in children:
            if isinstance(child, dict | list):
                if depth + 1 > max_depth:
                    raise ValueError(f"JSON nested deeper than {max_depth} levels")
                depth_first.append((child, depth + 1))
    return value
