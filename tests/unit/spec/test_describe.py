"""Check titles and hints as a student reads them: the lab's settings filled in as text (Kind.describe)."""

from __future__ import annotations

import re

import pytest

from halab.spec import load_spec
from halab.spec.kinds import Kind
from tests.support.paths import REPO

LABS = sorted(p.stem for p in (REPO / "labs").glob("*.toml"))


def test_describe_names_a_tables_values_by_their_path_never_a_python_dict() -> None:
    settings = {"database": {"name": "halab", "user": "halab"}, "rto": {"nspawn": 30, "tcg": 90},
                "expire_range_s": [10, 60], "cluster_name": "c"}
    text = "host {database_name} {database_user}; {database}; {rto}; [{expire_range_s}]; {cluster_name} { x }"
    assert Kind.describe(text, settings) == ("host halab halab; halab (name) / halab (user); 30 (nspawn) / 90 (tcg); "
                                             "[10, 60]; c { x }")
    assert Kind.describe("{unknown} stays", settings) == "{unknown} stays"


@pytest.mark.parametrize("lab", LABS)
def test_every_check_title_and_hint_reads_as_text_in_every_lab(lab: str) -> None:
    """A hint that names a setting gets its value: never a Python repr ({'name': ...}), never a {placeholder}
    left unfilled (the dr lab's client-writes hint once printed the database table as a dict)."""
    spec = load_spec(lab)
    kind = spec.kind_def
    values = {**spec.settings, "cluster_nodes": " ".join(spec.member_names)}
    for check_id, definition in [*kind.checks.items(), *kind.faults.items()]:
        for text in (definition.title, definition.hint):
            described = Kind.describe(text, values)
            assert "{'" not in described and not re.search(r"\{\w+\}", described), (check_id, described)
