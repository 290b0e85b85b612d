"""The vagrant provider on real VMs (vagrant-libvirt; TCG on hosts without working KVM): the top-level
Vagrantfile brings the clustering lab up, Vagrant sees its machines, the lab grades fresh and solved like
on any provider (the fault check powers a Vagrant-made VM off through the lab's fence device), and `down`
leaves nothing in libvirt or Vagrant."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from halab.lab import Lab
from halab.paths import PROJECT_ROOT
from halab.providers.libvirt import libvirtd
from halab.providers.vagrant.provider import vagrant_for
from halab.runtime.state import lab_dir
from solutions import solve
from tests.integration.conftest import halab, slow_misses, vm_leftovers

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def test_vagrantfile_alone_says_how_to_use_it(tmp_path: Path) -> None:
    # A copy, so that Vagrant's .vagrant/ directory lands in tmp_path, not in the repository.
    shutil.copy(PROJECT_ROOT / "Vagrantfile", tmp_path / "Vagrantfile")
    result = subprocess.run(["vagrant", "status"], cwd=tmp_path, capture_output=True, text=True,
                            stdin=subprocess.DEVNULL, timeout=120)
    assert result.returncode != 0
    assert "halab up LAB --provider vagrant" in result.stdout + result.stderr


@pytest.mark.long  # README, 'Long test runs': the Vagrant provider's VMs (the same lab runs on nspawn in CI)
def test_clustering_lab_on_vagrant_end_to_end(libvirt_running: None) -> None:
    lab = Lab("clustering")
    try:
        up = halab("up", "clustering", "--provider", "vagrant", "--json", timeout=900)
        assert up.returncode == 0, up.stderr
        assert [n["name"] for n in json.loads(up.stdout)["nodes"]] == ["node1", "node2"]
        # Vagrant itself knows the machines (python-vagrant, inside libvirtd's namespace).
        assert {s.name: s.state for s in vagrant_for("clustering").status()} == {"node1": "running", "node2": "running"}
        assert (lab_dir("clustering") / "nodes/node1/console.log").stat().st_size > 0
        for node in ("node1", "node2"):
            assert lab.run(node, "hostname").stdout.strip() == node
            assert lab.run(node, "systemctl is-system-running --wait", timeout=120).stdout.strip() == "running"
        assert lab.run("node1", "ping -c1 -W2 node2").ok

        fresh = json.loads(halab("check", "clustering", "--json", "--no-faults").stdout)
        assert fresh["score"] < 0.2 * fresh["max_score"]
        solve(lab)
        result = halab("check", "clustering", "--json", timeout=900)
        report = json.loads(result.stdout)
        # Under TCG the failover once took 33.7 s against the containers' 30 s: the objective is per accelerator
        # now, and a miss of it is only measured, never a failed test.
        slow = slow_misses(report)
        assert result.returncode == (1 if slow else 0)
        assert report["score"] == report["max_score"] - sum(slow.values())
        measured = report["measurements"]
        assert measured["failover_to"] != measured["failover_from"] and measured["failover_seconds"] > 0
        accel = "kvm" if lab.state().provider_data["accel"] == "kvm" else "tcg"
        assert (measured["rto_applies_to"], measured["rto_seconds"]) == (f"vagrant ({accel})",
                                                                        {"kvm": 45, "tcg": 90}[accel])
    finally:
        lab.close()
        lab.down()
    assert vm_leftovers("clustering") == []
    assert not (lab_dir("clustering") / ".vagrant").exists()
    networks = subprocess.run(["virsh", "-c", libvirtd.URI, "net-list", "--name"], capture_output=True, text=True)
    assert "vagrant-libvirt" not in networks.stdout, "Vagrant's management network outlived the last Vagrant lab"
