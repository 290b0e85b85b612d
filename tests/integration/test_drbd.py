"""The drbd lab on real VMs (libvirt provider; TCG on hosts without working KVM): fresh, solved (with a
split brain induced and resolved), failover with the data intact, and nothing left after `down`."""

from __future__ import annotations

import json

import pytest

from halab.lab import Lab
from solutions import solve
from tests.integration.conftest import halab, vm_leftovers

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def test_drbd_lab_end_to_end(libvirt_running: None) -> None:
    lab = Lab("drbd")
    try:
        lab.up()
        fresh = json.loads(halab("check", "drbd", "--json", "--no-faults").stdout)
        assert fresh["score"] < 0.2 * fresh["max_score"]
        assert not any(c["passed"] for c in fresh["checks"] if c["id"].startswith("drbd-"))
        solve(lab)
        result = halab("check", "drbd", "--json", timeout=900)
        report = json.loads(result.stdout)
        assert result.returncode == 0, [c for c in report["checks"] if not c["passed"]]
        assert report["score"] == report["max_score"] == 120
        measured = report["measurements"]
        assert measured["data_intact"] is True and measured["failover_to"] != measured["failover_from"]
    finally:
        lab.down()
    assert vm_leftovers("drbd") == []
