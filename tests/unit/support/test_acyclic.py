"""The import-linter contract that keeps halab's modules free of import circles (tests/support/acyclic.py), on
graphs made here, and on the code itself."""

from __future__ import annotations

import grimp

from tests.support.acyclic import circles


def graph(*imports: str) -> grimp.ImportGraph:
    made = grimp.ImportGraph()
    for line in imports:
        importer, imported = line.split(" -> ")
        for module in (importer, imported):
            made.add_module(module)
        made.add_import(importer=importer, imported=imported)
    return made


def test_a_circle_across_packages_is_found_and_shown_in_import_order() -> None:
    found = circles(graph("halab.spec.loader -> graders.kinds", "graders.kinds -> graders.checks",
                          "graders.checks -> halab.spec.loader", "halab.spec.loader -> halab.errors"),
                    {"halab", "graders"})
    assert found == [["graders.checks", "halab.spec.loader", "graders.kinds"]]


def test_modules_that_only_import_downwards_have_no_circle() -> None:
    assert circles(graph("a.x -> a.y", "a.y -> a.z", "a.x -> a.z", "b.q -> a.x"), {"a", "b"}) == []


def test_a_circle_outside_the_packages_is_not_theirs() -> None:
    assert circles(graph("a.x -> other.y", "other.y -> a.x"), {"a"}) == []


def test_the_code_has_no_import_circle() -> None:
    code = grimp.build_graph("halab", "graders", "solutions")
    assert circles(code, {"halab", "graders", "solutions"}) == []
