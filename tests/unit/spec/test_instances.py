"""Lab instances: every lab moved into a user's slot loads, with its own names, addresses and typed values,
and never overlaps another slot; slots are given out once per user, also under concurrent callers."""

from __future__ import annotations

import ipaddress
import json
import multiprocessing
from pathlib import Path

import pytest

from halab import paths
from halab.errors import HalabError
from halab.lab import Lab
from halab.runtime.slots import assign_slot, release_slot, slot_of
from halab.spec import available_labs, load_spec, load_spec_file
from halab.spec.instances import Owner, instance_name, move_address


@pytest.mark.parametrize("lab", available_labs())
def test_every_lab_moves_into_a_slot(lab: str) -> None:
    base, moved = load_spec(lab), load_spec_file(load_spec(lab).path, 7)
    assert moved.name == f"u7-{lab}" and moved.kind == base.kind
    for ours, theirs in zip(moved.networks, base.networks, strict=True):
        assert ours.subnet.subnet_of(ipaddress.IPv4Network("10.49.0.0/16"))
        assert not ours.subnet.overlaps(theirs.subnet)
    for ours, theirs in zip(moved.nodes, base.nodes, strict=True):
        assert ours.name == theirs.name and ours.role == theirs.role
        assert all(str(a).startswith("10.49.") for a in ours.addresses.values())
    if "floating_ip" in base.settings:
        assert moved.settings["floating_ip"] == move_address(base.settings["floating_ip"], 7)
        assert base.settings["floating_ip"] not in " ".join(t.description for t in moved.tasks)  # no stale values
    if "cluster_name" in base.settings:
        assert moved.settings["cluster_name"] == f"{base.settings['cluster_name']}-u7"


def test_addresses_outside_the_lab_range_stay() -> None:
    assert move_address("10.42.10.100", 3) == "10.45.10.100"
    assert move_address("10.42.10.0/24", 3) == "10.45.10.0/24"
    assert move_address("192.168.1.1", 3) == "192.168.1.1"
    assert move_address("not an address", 3) == "not an address"
    assert move_address("10.42.10.100", 0) == "10.42.10.100"


def test_instance_names_and_their_limits() -> None:
    assert instance_name("clustering", 0) == "clustering"
    assert instance_name("clustering", 12) == "u12-clustering"
    with pytest.raises(HalabError, match="too long a name"):
        instance_name("a-lab-with-a-long-name-x", 200)


def test_an_owned_lab_is_named_and_specified_by_its_slot(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(paths, "state_dir", lambda: tmp_path)
    lab = Lab("clustering", Owner(1001, "alice", 4))
    assert lab.name == "u4-clustering" and lab.base == "clustering"
    assert lab.spec.settings["floating_ip"] == "10.46.10.100"
    assert Lab("clustering", Owner(0, "root", 0)).name == "clustering"


def _take_slot(args: tuple[str, int]) -> int:
    folder, uid = args
    paths.state_dir = lambda: Path(folder)  # type: ignore[assignment]  # in the worker process only
    return slot_of(uid, f"user{uid}")


def test_slots_are_given_once_per_user_even_when_asked_at_once(tmp_path: Path,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    with multiprocessing.get_context("fork").Pool(6) as pool:
        slots = pool.map(_take_slot, [(str(tmp_path), 1000 + i % 12) for i in range(48)])
    by_user: dict[int, set[int]] = {}
    for i, slot in enumerate(slots):
        by_user.setdefault(1000 + i % 12, set()).add(slot)
    assert all(len(s) == 1 for s in by_user.values())  # each user always got the same slot
    assert sorted(s.pop() for s in by_user.values()) == list(range(1, 13))  # and no two users share one
    monkeypatch.setattr(paths, "state_dir", lambda: tmp_path)
    assert slot_of(0, "root") == 0
    table = json.loads((tmp_path / ".users.json").read_text())
    assert table["1000"] == {"user": "user1000", "slot": slots[0]}
    (tmp_path / ".users.json").write_text("{damaged")
    with pytest.raises(HalabError, match="damaged"):
        slot_of(2000, "new")


def test_vm_labs_of_two_users_share_no_domain_switch_or_disk(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from halab.fence.daemon import password_file
    from halab.providers.libvirt.provider import domain_name
    from halab.runtime import labnet
    from halab.runtime.state import lab_dir

    monkeypatch.setattr(paths, "state_dir", lambda: tmp_path)
    one, two = (Lab("drbd", Owner(uid, f"user{uid}", slot)) for uid, slot in ((1001, 1), (1002, 2)))
    assert one.name != two.name
    for name in ("node1", "node2"):
        assert domain_name(one.name, name) != domain_name(two.name, name)  # libvirt domains and their disks
    assert lab_dir(one.name) != lab_dir(two.name)  # VM disks live in the lab's directory
    assert password_file(one.name) != password_file(two.name)  # each lab's power switch has its own password
    assert {labnet.bridge(one.name, i) for i in range(2)}.isdisjoint(labnet.bridge(two.name, i) for i in range(2))
    subnets = [n.subnet for lab in (one, two) for n in lab.spec.networks]
    assert not any(a.overlaps(b) for i, a in enumerate(subnets) for b in subnets[i + 1:])
    assert one.spec.settings["drbd_port"] != two.spec.settings["drbd_port"]


def test_a_slot_can_be_given_to_a_user_and_stays_theirs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(paths, "state_dir", lambda: tmp_path)
    assign_slot(1001, "ann", 5)
    assign_slot(1001, "ann", 5)  # again: nothing changes
    assert slot_of(1001, "ann") == 5
    assert slot_of(1002, "ben") == 1  # the free slots are still given out from the lowest
    with pytest.raises(HalabError, match="slot 5 belongs to user ann"):
        assign_slot(1003, "cid", 5)
    with pytest.raises(HalabError, match="ann already has slot 5, not 6"):
        assign_slot(1001, "ann", 6)
    for bad in (0, 201):
        with pytest.raises(HalabError, match="not a user slot"):
            assign_slot(1003, "cid", bad)
    with pytest.raises(HalabError, match="root"):
        assign_slot(0, "root", 3)
    release_slot(1001)
    assign_slot(1003, "cid", 5)  # a released slot can be given again
    assert json.loads((tmp_path / ".users.json").read_text())["1003"] == {"user": "cid", "slot": 5}
