"""A lab's [limits] and a node's own limits (halab/spec/limits.py): defaults, overrides, and errors that name the
file, the field and the problem."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from halab.errors import SpecError
from halab.spec.limits import NodeLimits
from tests.unit.spec.test_loader import GOOD, parse


def test_defaults_then_the_labs_then_the_nodes_own() -> None:
    assert parse(copy.deepcopy(GOOD)).nodes[0].limits == NodeLimits(4096, 100, 4096, 1024)
    data = copy.deepcopy(GOOD)
    data["limits"] = {"memory_mib": 512, "pids": 1000, "disk_mib": 1024}
    data["nodes"][1].update(memory_mib=768, limits={"pids": 2000, "console_kib": 64})
    one, two = parse(data).nodes
    assert (one.memory_mib, one.limits) == (512, NodeLimits(1000, 100, 1024, 1024))
    assert (two.memory_mib, two.limits) == (768, NodeLimits(2000, 100, 1024, 64))


@pytest.mark.parametrize(("where", "table", "field", "problem"), [
    ("lab", {"pids": 10}, "limits.pids", "between 64 and 65536"),
    ("lab", {"swap_mib": 10}, "limits.swap_mib", "unknown field"),
    ("lab", {"memory_mib": 100}, "limits.memory_mib", "between 256 and 8192"),
    ("node", {"cpu_weight": 0}, "nodes[0].limits.cpu_weight", "between 1 and 10000"),
    ("node", {"disk_mib": "big"}, "nodes[0].limits.disk_mib", "must be a int"),
    ("node", {"memory_mib": 512}, "nodes[0].limits.memory_mib", "unknown field"),  # a node's is its memory_mib
])
def test_errors_name_the_field(where: str, table: dict[str, Any], field: str, problem: str) -> None:
    data = copy.deepcopy(GOOD)
    if where == "lab":
        data["limits"] = table
    else:
        data["nodes"][0]["limits"] = table
    with pytest.raises(SpecError) as raised:
        parse(data)
    assert raised.value.field == field and problem in raised.value.problem
    assert "labs/demo.toml" in str(raised.value)
