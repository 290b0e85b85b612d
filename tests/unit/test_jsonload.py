"""JSON from others (evidence files, the lab service's requests): nesting is measured before any parser recurses."""

from __future__ import annotations

import json

import pytest

from halab import jsonload


@pytest.mark.parametrize(("text", "expected"), [
    ("1", 0), ("[]", 1), ('{"a": [1, {"b": []}]}', 4), ('["[[[[", "}}"]', 1), ('"\\"[[["', 0), ("[[[", 3),
])  # fmt: skip
def test_depth_counts_arrays_and_objects_but_not_brackets_in_strings(text: str, expected: int) -> None:
    assert jsonload.depth(text) == expected == jsonload.depth(text.encode())


def test_a_deeply_nested_document_is_refused_with_a_sentence_not_a_recursion_error() -> None:
    deep = "[" * 100_000 + "]" * 100_000
    with pytest.raises(RecursionError):
        json.loads(deep)  # what the plain parser does with it
    with pytest.raises(jsonload.TooDeep, match="nests arrays and objects 100000 levels deep") as raised:
        jsonload.loads(deep)
    assert isinstance(raised.value, ValueError)
    with pytest.raises(jsonload.TooDeep):
        jsonload.loads(b'{"a": ' * 5000)  # unbalanced as well: refused before the parser sees it


def test_ordinary_documents_load_as_json_loads_them() -> None:
    document = {"payload": {"raw": {"nodes": {"node1": {"commands": {"x": {"stdout": "[{]}", "exit": 0}}}}}}}
    text = json.dumps(document)
    assert jsonload.loads(text) == document == jsonload.loads(text.encode())
    nested = "[" * jsonload.MAX_DEPTH + "]" * jsonload.MAX_DEPTH
    assert jsonload.loads(nested) == json.loads(nested)
    with pytest.raises(ValueError):
        jsonload.loads("{not json")
