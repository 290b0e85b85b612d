"""The drbd lab on real VMs (libvirt provider; TCG on hosts without working KVM): fresh, solved (with a
split brain induced and resolved), failover with the data intact, and nothing left after `down`."""

from __future__ import annotations

import json
from collections.abc import Iterator

import libvirt
import pytest

from halab import labnet, libvirtd, netns
from halab.lab import Lab
from solutions import solve
from tests.integration.conftest import halab, leftovers

pytestmark = [pytest.mark.integration, pytest.mark.slow]


@pytest.fixture(scope="module")
def libvirt_running() -> Iterator[None]:
    """libvirtd in its own network namespace, as `halab libvirtd start` runs it; stopped again if we started it."""
    started = not libvirtd.running()
    if started:
        libvirtd.start()
    yield
    if started:
        libvirtd.stop()


def vm_leftovers() -> list[str]:
    found = leftovers("drbd")
    connection = libvirt.open(libvirtd.URI)
    found += [f"domain {d.name()}" for d in connection.listAllDomains() if d.name().startswith("halab-drbd-")]
    switch = libvirtd.switch_namespace()
    if switch:
        found += [f"bridge {labnet.bridge('drbd', i)}" for i in range(2)
                  if netns.link_exists(labnet.bridge("drbd", i), switch)]
    return found


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
    assert vm_leftovers() == []
