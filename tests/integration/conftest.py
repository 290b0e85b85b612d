"""Integration fixtures: real labs on this host, always torn down, with a census of leftovers."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import libvirt
import pytest

from halab import labnet, libvirtd, netns
from halab.cgroups import systemd_hierarchy_mounts
from halab.hostfs import mounts_under
from halab.image.build import current_image
from halab.lab import Lab
from halab.providers.libvirt import domain_name
from halab.state import lab_dir

HALAB = [sys.executable, "-m", "halab"]


@pytest.fixture(scope="session", autouse=True)
def host_ready() -> None:
    if os.geteuid() != 0:
        pytest.fail("integration tests need root (run: sudo bash scripts/test.sh)")
    if current_image() is None:
        pytest.fail("the node image is not built; run: halab image build")


def leftovers(lab: str) -> list[str]:
    """Everything of ``lab`` still on the host: namespaces, links, mounts, processes, state."""
    found = [f"netns {name}" for name in netns.list_netns(labnet.lab_netns(lab))
             if name == labnet.lab_netns(lab) or name.startswith(labnet.lab_netns(lab) + "_")]
    found += [f"link {labnet.host_link(lab, i)}" for i in range(4) if netns.link_exists(labnet.host_link(lab, i))]
    found += [f"mount {point}" for point in mounts_under(lab_dir(lab))]
    marker = str(lab_dir(lab)) + "/"
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                cmdline = (entry / "cmdline").read_bytes().decode(errors="replace")
            except OSError:
                continue
            if marker in cmdline:
                found.append(f"process {entry.name}: {cmdline[:80]!r}")
    found += [f"cgroup {mount / 'halab' / lab}" for mount in systemd_hierarchy_mounts()
              if (mount / "halab" / lab).exists()]
    if lab_dir(lab).exists():
        found.append(f"state {lab_dir(lab)}")
    return found


# Fault checks whose verdict compares a measured time with the lab's objective for the provider and accelerator
# it runs on (graders/faults.py objective()): check id -> (the time measured, the objective that applied). No test
# may pass or fail on a time this machine cannot promise: a miss is accepted when the recovery happened, its
# time was measured and is over the objective the check applied, and the feedback says so.
TIMED_FAULTS = {"failover": ("failover_seconds", "rto_seconds"), "failover-data": ("failover_seconds", "rto_seconds")}


def slow_misses(report: dict[str, Any], timed: dict[str, tuple[str, str]] = TIMED_FAULTS) -> dict[str, int]:
    """Assert that every check of a report passed, but for timed fault checks that only missed their objective;
    returns those (check id -> the points they did not get), so a test can say what full marks are here."""
    missed = {}
    for check in report["checks"]:
        if check["passed"]:
            continue
        assert check["id"] in timed, (check["id"], check["feedback"])
        measured, objective = (report["measurements"].get(key) for key in timed[check["id"]])
        assert measured is not None and objective is not None and measured > objective, check["feedback"]
        assert "objective" in check["feedback"], check["feedback"]
        missed[check["id"]] = check["max_points"] - check["points"]
        print(f"slower than its objective on this machine: {check['id']}: {check['feedback']}")
    return missed


def halab(*args: str, check: bool = False, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    result = subprocess.run([*HALAB, *args], capture_output=True, text=True, timeout=timeout,
                            stdin=subprocess.DEVNULL)
    if check and result.returncode != 0:
        raise AssertionError(f"halab {' '.join(args)} failed ({result.returncode}): {result.stderr}")
    return result


@pytest.fixture
def lab_up() -> Iterator[Callable[[str], Lab]]:
    """Bring labs up; every one of them is taken down afterwards, whatever the test did."""
    started: list[Lab] = []

    def up(name: str) -> Lab:
        lab = Lab(name)
        started.append(lab)
        lab.up()
        return lab

    yield up
    for lab in started:
        lab.down()
        assert leftovers(lab.name) == [], f"{lab.name} left things behind"


@pytest.fixture(scope="module")
def libvirt_running() -> Iterator[None]:
    """libvirtd in its own network namespace, as `halab libvirtd start` runs it; stopped again if we started it."""
    started = not libvirtd.running()
    if started:
        libvirtd.start()
    yield
    if started:
        libvirtd.stop()


def vm_leftovers(lab: str) -> list[str]:
    """leftovers(), plus what a VM lab can leave in libvirt: domains, bridges, volumes in halab's pool."""
    found = leftovers(lab)
    connection = libvirt.open(libvirtd.URI)
    prefix = domain_name(lab, "")
    found += [f"domain {d.name()}" for d in connection.listAllDomains() if d.name().startswith(prefix)]
    switch = libvirtd.switch_namespace()
    if switch:
        found += [f"bridge {labnet.bridge(lab, i)}" for i in range(4)
                  if netns.link_exists(labnet.bridge(lab, i), switch)]
    for pool in connection.listAllStoragePools():
        if not pool.isActive():
            continue
        pool.refresh()
        found += [f"volume {name}" for name in pool.listVolumes() if name.startswith(prefix)]
    return found
