"""Recorded lab facts with another constraints section in every node's CIB: how the unit tests grade a
configuration the tools wrote (tests/fixtures/constraint-sets.json) on a lab recorded solved."""

from __future__ import annotations

import copy
import re
from typing import Any

CONSTRAINTS = re.compile(r"<constraints>.*?</constraints>|<constraints/>", re.S)


def ungrouped(text: str, group: str) -> str:
    """The CIB with ``group``'s members at the top level, the group gone (pcs refuses an order between members of
    one group, so a variant that ties the members needs them apart)."""
    return re.sub(rf'<group id="{re.escape(group)}">(.*?)</group>', r"\1", text, flags=re.S)


def with_constraints(raw: dict[str, Any], constraints: str, ungroup: str = "") -> dict[str, Any]:
    """A copy of the raw facts ``raw`` whose CIBs have ``constraints`` (and ``ungroup``'s members apart)."""
    data = copy.deepcopy(raw)
    for node in data["nodes"].values():
        cib = node["commands"].get("cib")
        if cib and CONSTRAINTS.search(cib["stdout"]):
            text = CONSTRAINTS.sub(lambda _m: constraints, cib["stdout"], count=1)
            cib["stdout"] = ungrouped(text, ungroup) if ungroup else text
    return data
