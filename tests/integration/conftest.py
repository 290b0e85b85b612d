"""Integration fixtures: real labs on this host, always torn down, with a census of leftovers."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import libvirt
import pytest

from halab import hostfirewall, labnet, libvirtd, netns
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
    found += [f"firewall chain {hostfirewall.chain(labnet.host_link(lab, i))}" for i in range(4)
              if hostfirewall.guarded(labnet.host_link(lab, i))]
    found += [f"mount {point}" for point in mounts_under(lab_dir(lab))]
    marker = str(lab_dir(lab)) + "/"
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                cmdline = (entry / "cmdline").read_bytes().decode(errors="replace")
                root = os.readlink(entry / "root")  # a node's processes (a guest's QEMU) live in its root
            except OSError:
                continue
            if marker in cmdline or root.startswith(marker):
                found.append(f"process {entry.name}: {cmdline[:80]!r}")
    found += [f"loop device {device} on {backing}" for device, backing in loop_devices() if backing.startswith(marker)]
    found += [f"cgroup {mount / 'halab' / lab}" for mount in systemd_hierarchy_mounts()
              if (mount / "halab" / lab).exists()]
    if lab_dir(lab).exists():
        found.append(f"state {lab_dir(lab)}")
    return found


def loop_devices() -> list[tuple[str, str]]:
    """(device, backing file) of every loop device of the host (a lab's shared disk is one)."""
    listing = subprocess.run(["losetup", "--list", "--noheadings", "--raw", "--output", "NAME,BACK-FILE"],
                             capture_output=True, text=True).stdout
    return [(line.split(" ", 1)[0], line.split(" ", 1)[1]) for line in listing.splitlines() if " " in line]


@contextmanager
def running_lab(name: str) -> Iterator[Lab]:
    """A lab up for a test module, taken down afterwards whatever happened, with nothing left behind."""
    lab = Lab(name)
    try:
        lab.up()
        yield lab
    finally:
        lab.down()
        assert leftovers(name) == [], f"{name} left things behind"


def check_json(lab: str, *flags: str, timeout: float = 900) -> tuple[int, dict[str, Any]]:
    """`halab check LAB --json FLAGS`: its exit code and report; never a traceback."""
    result = halab("check", lab, "--json", *flags, timeout=timeout)
    assert "Traceback" not in result.stderr, result.stderr
    return result.returncode, json.loads(result.stdout)


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
