"""The command line the break-fix state recorder and benchmarks/break.py share (tests/support/breakwalk.py)."""

from __future__ import annotations

import pytest

from tests.support.breakwalk import lab_and_names


@pytest.mark.parametrize(("args", "expected"), [
    ([], ("clustering", [])),
    (["authkey-differs"], ("clustering", ["authkey-differs"])),
    (["--lab", "infrastructure", "token-too-high"], ("infrastructure", ["token-too-high"])),
    (["loadbalancing", "journal"], ("loadbalancing", ["journal"])),
    (["dr", "journal"], ("dr", ["journal"])),
    (["drbd"], ("drbd", [])),
    (["nosuchlab"], ("clustering", ["nosuchlab"])),  # not a lab with scenarios: a scenario name
])
def test_the_lab_comes_first_or_from_lab(args: list[str], expected: tuple[str, list[str]]) -> None:
    assert lab_and_names(args) == expected
