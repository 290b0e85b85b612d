"""The lab runtime on real nodes: systemd-nspawn containers booted from the node image."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from halab.errors import HalabError
from halab.fence import daemon as fence
from halab.host import cgroups
from halab.host.fs import unmount_all
from halab.lab import Lab
from halab.providers.nspawn.provider import FIRMWARE_SECONDS
from halab.runtime import labnet, ssh
from halab.runtime.state import lab_dir, load_state
from solutions.common import wait_until
from tests.integration.conftest import HALAB, halab, leftovers

pytestmark = pytest.mark.integration


def test_two_and_three_node_labs_side_by_side(lab_up: Callable[[str], Lab]) -> None:
    two = lab_up("clustering")
    three = lab_up("clustering3")
    for lab, count in ((two, 2), (three, 3)):
        assert [n.name for n in lab.nodes] == [f"node{i}" for i in range(1, count + 1)]
        machine_ids, host_keys = set(), set()
        for node in lab.nodes:
            result = lab.run(node.name, "systemctl is-system-running --wait", timeout=90)
            failed = lab.run(node.name, "systemctl --failed --no-legend --plain").stdout
            assert result.stdout.strip() == "running", (node.name, result.stdout, failed)
            assert lab.run(node.name, "hostname").stdout.strip() == node.name
            machine_ids.add(lab.run(node.name, "cat /etc/machine-id").stdout)
            host_keys.add(node.host_key)
            # Every node reaches every other node by name.
            for peer in lab.nodes:
                ping = lab.run(node.name, f"ping -c1 -W2 {peer.name}")
                assert ping.ok, (node.name, peer.name, ping.stdout + ping.stderr)
        assert len(machine_ids) == count and len(host_keys) == count
        # Each node's systemd manages a cgroup tree of its own on the host, not one shared by all nodes.
        for node, pid in lab.state().provider_data["pids"].items():
            host_cgroup = Path(f"/proc/{pid}/cgroup").read_text()
            assert f":/halab/root/{lab.name}/{node}/" in host_cgroup, host_cgroup
        # No password logins, and a key of this lab only.
        assert "passwordauthentication no" in lab.run("node1", "sshd -T").stdout
    # Each lab is isolated: a node of one lab cannot reach the other lab's nodes.
    assert not two.run("node1", "ping -c1 -W1 10.42.30.11").ok
    assert two.nodes[0].key_file != three.nodes[0].key_file

    report = json.loads(halab("status", "--json", check=True).stdout)
    labs = {entry["lab"]: entry for entry in report["labs"]}
    assert set(labs) == {"clustering", "clustering3"}
    assert all(node["running"] and node["ssh"] for node in labs["clustering3"]["nodes"])


def test_cli_up_is_idempotent_and_ssh_returns_exit_code(tmp_path: Path, lab_up: Callable[[str], Lab]) -> None:
    lab_up("clustering")
    pids = load_state("clustering").provider_data["pids"]
    again = halab("up", "clustering", "--json", check=True)
    assert [n["name"] for n in json.loads(again.stdout)["nodes"]] == ["node1", "node2"]
    assert load_state("clustering").provider_data["pids"] == pids, "a healthy lab must not be recreated"
    assert halab("ssh", "node2", "--", "sh", "-c", "echo hi; exit 3").returncode == 3
    out = halab("ssh", "node2", "--", "hostname")
    assert (out.returncode, out.stdout.strip()) == (0, "node2")
    # A second halab (another checkout, its own state directory) asked for a lab of the same name must not pull
    # the network from under this lab's running nodes: it refuses, and this lab keeps working.
    other = subprocess.run([*HALAB, "up", "clustering"], capture_output=True, text=True, timeout=120,
                           env={**os.environ, "HALAB_STATE_DIR": str(tmp_path / "state")})
    assert other.returncode != 0 and "runs on this host outside this state directory" in other.stderr, other.stderr
    assert "Traceback" not in other.stderr
    assert load_state("clustering").provider_data["pids"] == pids
    assert halab("ssh", "node1", "--", "ping", "-c1", "-W2", "node2").returncode == 0


@pytest.mark.long  # README, 'Long test runs': the host-reboot test below repairs a lab the same way in CI
def test_killed_lab_is_repaired_by_next_up(lab_up: Callable[[str], Lab]) -> None:
    lab = lab_up("clustering")
    state = load_state("clustering")
    # A crash: every systemd-nspawn is gone, the namespaces and mounts are still there, and the containers'
    # systemd keep running as orphans (nspawn does not take them down when it is killed).
    inits = {node: cgroups.node_pids("clustering", node) for node in state.provider_data["pids"]}
    for pid in state.provider_data["pids"].values():
        subprocess.run(["kill", "-KILL", str(pid)], check=False)
    # How soon a killed process is gone is up to the machine's load: wait for it, do not bet on a second.
    wait_until("the killed node1 to be seen down", lambda: not Lab("clustering").status()["nodes"][0]["running"],
               timeout=30, interval=0.2)
    lab.up()
    assert lab.run("node1", "true").ok and lab.run("node2", "true").ok
    for node, old_pids in inits.items():
        assert not old_pids & cgroups.node_pids("clustering", node), f"{node}'s orphaned container still runs"


def test_after_a_host_reboot_up_rebuilds_the_lab_around_its_disks(lab_up: Callable[[str], Lab]) -> None:
    lab = lab_up("clustering")
    assert lab.run("node1", "echo students work > /root/work.txt").ok
    # What a reboot of the host leaves: the state and the nodes' disks (their overlay upper directories);
    # no process, namespace, bridge, host link, firewall rule, mount or cgroup of the lab.
    state = load_state("clustering")
    provider = lab.provider()
    lab.close()
    for node in state.nodes:
        provider._kill(state, node.name)  # noqa: SLF001 - the power cut a reboot is
    fence.stop("clustering")
    labnet.destroy("clustering")
    unmount_all(lab_dir("clustering") / "nodes")
    assert leftovers("clustering") == [f"state {lab_dir('clustering')}"]
    result = halab("up", "clustering", timeout=300)
    assert result.returncode == 0 and "none of its nodes runs" in result.stderr, result.stderr
    assert lab.run("node1", "cat /root/work.txt").stdout == "students work\n"
    assert lab.run("node2", "true").ok and fence.running("clustering")


def test_power_on_goes_through_firmware_and_a_cut_during_it_keeps_the_node_off(lab_up: Callable[[str], Lab]) -> None:
    lab = lab_up("clustering")
    provider = lab.provider()
    provider.power_off(lab.state(), "node2")
    provider.power_on(lab.state(), "node2")
    # Power is on at once (a fence agent sees "on"), but the OS boots only after the firmware delay.
    assert provider.node_running(lab.state(), "node2")
    lab.drop_connection("node2")
    with pytest.raises(HalabError):
        lab.run("node2", "true", timeout=3)
    provider.power_off(lab.state(), "node2")
    time.sleep(FIRMWARE_SECONDS + 2)
    assert not provider.node_running(lab.state(), "node2"), "a node cut off during POST booted anyway"
    provider.power_on(lab.state(), "node2")
    ssh.wait_ready(lab.state().node("node2"), time.monotonic() + FIRMWARE_SECONDS + 60)
    lab.drop_connection("node2")
    assert lab.run("node2", "true").ok


def _start_up_and_stop_it(lab: str, sig: signal.Signals) -> subprocess.Popen[str]:
    """Start `halab up LAB` and send it ``sig`` once its first node has been created."""
    process = subprocess.Popen([*HALAB, "up", lab], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        state = load_state(lab)
        if state and state.nodes:
            break
        time.sleep(0.02)
    process.send_signal(sig)
    process.wait(timeout=60)
    return process


def test_interrupted_up_leaves_nothing_and_next_up_works(lab_up: Callable[[str], Lab]) -> None:
    # Kill `halab up` itself part-way (no chance to clean up), then check both ways of recovering.
    _start_up_and_stop_it("clustering3", signal.SIGKILL)
    assert leftovers("clustering3"), "the interrupted up should have left something to clean"
    halab("down", "clustering3", check=True)
    assert leftovers("clustering3") == []
    # And a half-made lab is also cleaned by the next `up`.
    _start_up_and_stop_it("clustering3", signal.SIGKILL)
    lab = lab_up("clustering3")
    assert len(lab.nodes) == 3 and all(lab.run(n.name, "true").ok for n in lab.nodes)


@pytest.mark.long  # README, 'Long test runs': the interrupted-up test above covers a broken-off up in CI
def test_ctrl_c_during_up_removes_the_lab() -> None:
    process = _start_up_and_stop_it("clustering", signal.SIGINT)
    try:
        assert process.returncode != 0
        err = process.stderr.read() if process.stderr else ""
        assert "interrupted" in err and "Traceback" not in err
        assert leftovers("clustering") == []
    finally:
        Lab("clustering").down()


def test_bad_input_gives_one_line_errors() -> None:
    for args, message in (
        (("up", "nosuchlab"), "unknown lab 'nosuchlab'"),
        (("up", "clustering", "--provider", "docker"), "Invalid value"),
        (("ssh", "node9", "--", "true"), "no lab that is up has a node 'node9'"),
        (("status", "clustering"), "lab clustering is down"),
    ):
        result = halab(*args)
        said = result.stdout if args[0] == "status" else result.stderr  # status's answer is its output, not an error
        assert message in said, (args, result.stdout, result.stderr)
        assert "Traceback" not in result.stderr
        if args[0] != "status":
            assert result.returncode != 0


def test_not_root_without_the_lab_service_is_told_what_to_do() -> None:
    # A user who is not root works through the lab service (tests/integration/test_service.py); without it,
    # one line says so and what the administrator runs.
    result = subprocess.run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "env",
                             f"HALAB_SERVICE_SOCKET=/tmp/halab-no-service-{os.getpid()}/none.sock", "COLUMNS=200",
                             *HALAB, "up", "clustering"],
                            capture_output=True, text=True, cwd="/")
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert "lab service is not running" in result.stderr and "halab service start" in result.stderr


def test_subnet_in_use_by_another_lab(tmp_path, monkeypatch, lab_up: Callable[[str], Lab]) -> None:
    from halab import paths

    labs = tmp_path / "labs"
    labs.mkdir()
    original = (paths.labs_dir() / "clustering.toml").read_text()
    (labs / "clustering.toml").write_text(original)
    (labs / "clash.toml").write_text(original.replace('name = "clustering"', 'name = "clash"\nkind = "clustering"'))
    monkeypatch.setattr(paths, "labs_dir", lambda: labs)
    lab_up("clustering")
    with pytest.raises(Exception, match="subnet 10.42.10.0/24 of lab 'clash' is in use by lab 'clustering'"):
        Lab("clash").up()
    assert leftovers("clash") == []
