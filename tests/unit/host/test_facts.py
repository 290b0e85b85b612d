"""`halab doctor`'s host facts (halab/host/facts.py): every fact a lab depends on gets a clear line."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from halab import paths
from halab.host import facts as hostfacts


@pytest.mark.parametrize(("found", "backend", "state"), [
    ({"legacy"}, "the legacy backend works", "ok"),  # this project's hosts
    ({"legacy", "nft"}, "nf_tables too", "ok"),
    ({"nft"}, "nodes switch to iptables-nft at boot", "ok"),  # a Debian kernel with ip_tables not loaded
    (set(), "neither legacy iptables nor nf_tables works", "problem"),
])
def test_iptables_in_nodes(monkeypatch: pytest.MonkeyPatch, found: set[str], backend: str, state: str) -> None:
    monkeypatch.setattr(os, "geteuid", lambda: 0)
    fact = hostfacts.namespace_facts(found)[0]
    assert (fact.name, fact.state) == ("iptables in nodes", state) and backend in fact.found
    assert state != "problem" or "modprobe" in fact.fix


def test_a_minimal_kernel_is_a_note_naming_what_labs_do_instead(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(os, "geteuid", lambda: 0)
    fact = hostfacts.namespace_facts({"legacy"})[1]
    assert fact.state == "note"
    assert "bonding (notebook 05 explains it" in fact.found and "netem" in fact.found and "IPVS" in fact.found
    assert hostfacts.namespace_facts({"legacy", "bonding", "netem", "ipvs"})[1].state == "ok"


def test_a_nodev_state_directory_is_a_problem_for_the_labs_device_nodes(monkeypatch: pytest.MonkeyPatch,
                                                                        tmp_path: Path) -> None:
    state = tmp_path / "state"
    monkeypatch.setattr(paths, "state_dir", lambda: state / "labs")
    mountinfo = (f"22 1 0:21 / / rw,relatime - ext4 /dev/vda rw\n"
                 f"90 22 0:50 / {tmp_path} rw,nosuid,nodev - tmpfs tmpfs rw\n")
    monkeypatch.setattr(hostfacts, "_read", lambda path: mountinfo if path.endswith("mountinfo") else "")
    fact = hostfacts.state_dir_devices()
    assert fact.state == "problem" and "nodev" in fact.found and "HALAB_STATE_DIR" in fact.fix
    monkeypatch.setattr(hostfacts, "_read", lambda path: mountinfo.splitlines()[0] if path.endswith("mountinfo")
                        else "")
    assert hostfacts.state_dir_devices().state == "ok"


def test_the_hosts_tun_is_reported_as_it_is_and_left_alone() -> None:
    if not Path("/dev/net/tun").exists():
        pytest.skip("no /dev/net/tun here")
    before = os.stat("/dev/net/tun")
    fact = hostfacts.tun()
    assert fact.state == "ok" and fact.labs == "virtualization"
    after = os.stat("/dev/net/tun")
    assert (after.st_mode, after.st_uid) == (before.st_mode, before.st_uid)


def test_every_fact_names_the_labs_that_depend_on_it() -> None:
    for fact in hostfacts.all_facts():
        assert fact.state in ("ok", "note", "problem") and fact.found and fact.labs
        assert fact.state == "ok" or fact.fix or fact.name == "bonding, netem, IPVS in namespaces"


@pytest.mark.parametrize(("limit", "state"), [("128", "note"), ("8192", "ok"), ("", "note")])
def test_inotify_names_how_many_nodes_the_limit_allows(monkeypatch: pytest.MonkeyPatch, limit: str,
                                                      state: str) -> None:
    monkeypatch.setattr(hostfacts, "_read", lambda path: limit if "inotify" in path else "")
    fact = hostfacts.inotify()
    assert fact.state == state
    if limit == "128":
        assert "about 16 nodes" in fact.found and "install.sh" in fact.fix
