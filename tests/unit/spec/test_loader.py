"""Lab spec validation: every shipped lab loads, and every kind of mistake names file, field and problem."""

from __future__ import annotations

import copy
import os
import stat
import tomllib
from pathlib import Path
from typing import Any

import pytest

from halab import paths
from halab.errors import HalabError, SpecError
from halab.spec import available_labs, load_spec, load_spec_file, parse_spec

GOOD: dict[str, Any] = {
    "name": "demo",
    "title": "Demo",
    "kind": "clustering",
    "settings": {"cluster_name": "demo", "floating_ip": "10.99.0.100"},
    "networks": [{"name": "lan", "subnet": "10.99.0.0/24"}],
    "nodes": [
        {"name": "node1", "addresses": {"lan": "10.99.0.11"}},
        {"name": "node2", "addresses": {"lan": "10.99.0.12"}, "disks": [{"name": "data", "size_mib": 256}]},
    ],
    "tasks": [{"id": "corosync", "title": "Task one"}],
    "checks": [{"id": "corosync-quorum", "task": "corosync", "points": 5}],
}


def parse(data: dict[str, Any]):
    return parse_spec(Path("labs/demo.toml"), data)


def test_shipped_labs_load_and_have_distinct_subnets() -> None:
    labs = available_labs()
    assert {"clustering", "clustering3"} <= set(labs)
    subnets = []
    for name in labs:
        spec = load_spec(name)
        assert spec.name == name
        subnets += [net.subnet for net in spec.networks]
    for index, subnet in enumerate(subnets):
        assert not any(subnet.overlaps(other) for other in subnets[:index]), subnet


def test_good_spec_parses() -> None:
    spec = parse(GOOD)
    assert spec.node_names == ["node1", "node2"]
    assert str(spec.management_network.host_address) == "10.99.0.254"
    assert spec.nodes[1].disks[0].size_mib == 256
    assert spec.default_provider == "nspawn"


def mutate(path: str, value: Any) -> dict[str, Any]:
    """A copy of GOOD with the value at a dotted path (list indexes as numbers) replaced or deleted."""
    data = copy.deepcopy(GOOD)
    *parents, last = path.split(".")
    target: Any = data
    for part in parents:
        target = target[int(part)] if part.isdigit() else target[part]
    key: Any = int(last) if last.isdigit() else last
    if value is DELETE:
        del target[key]
    else:
        target[key] = value
    return data


DELETE = object()


@pytest.mark.parametrize(
    ("path", "value", "field", "problem"),
    [
        ("name", "Demo!", "name", "lower-case"),
        ("name", "other", "name", "must match the file name"),
        ("title", DELETE, "title", "is required"),
        ("title", 3, "title", "must be a str"),
        ("networks", [], "networks", "at least one"),
        ("networks.0.subnet", "10.99.0.0/33", "networks[0].subnet", "not an IPv4 network"),
        ("networks.0.subnet", "8.8.8.0/24", "networks[0].subnet", "private range"),
        ("nodes.1.name", "node1", "nodes[1].name", "duplicate name"),
        ("nodes.0.addresses", {"lan": "10.98.0.1"}, "nodes[0].addresses.lan", "not a host address"),
        ("nodes.0.addresses", {"wan": "10.99.0.1"}, "nodes[0].addresses.wan", "no network named"),
        ("nodes.0.addresses", {"lan": "10.99.0.254"}, "nodes[0].addresses.lan", "host's address"),
        ("nodes.0.addresses", {"lan": "10.99.0.12"}, "nodes[1].addresses.lan", "duplicate"),
        ("nodes.0.addresses", {"lan": "banana"}, "nodes[0].addresses.lan", "not an IPv4 address"),
        ("nodes.0.memory_mib", 10, "nodes[0].memory_mib", "between 256 and 8192"),
        ("nodes.0.memory_mib", True, "nodes[0].memory_mib", "must be a int"),
        ("nodes.1.disks", [{"name": "d", "size_mib": 1}], "nodes[1].disks[0].size_mib", "between"),
        ("nodes.1.disks", ["x"], "nodes[1].disks[0]", "must be a table"),
        ("nodes.0.colour", "red", "nodes[0].colour", "unknown field"),
        ("providers", ["docker"], "providers", "unknown provider"),
        ("default_provider", "qemu", "default_provider", "not in providers"),
        ("checks.0.task", "t9", "checks[0].task", "no task with id"),
        ("checks.0.points", 0, "checks[0].points", "between 1 and 100"),
        ("kind", "webfarm", "kind", "unknown lab kind"),
        ("settings", {"cluster_name": "x"}, "settings", "needs floating_ip"),
        ("tasks", [{"id": "corosync", "title": "T", "description": "quorum {"}], "tasks", "stray brace"),
        # What the lab's kind does not know: its graders could not grade it.
        ("tasks.0.id", "webfarm", "tasks[0].id", "not a task of a clustering lab"),
        ("checks.0.id", "corosync-qourum", "checks[0].id", "no grader of a clustering lab implements"),
        ("checks.0.fault", True, "checks[0].id", "is a check, not a fault check"),
        ("checks.0.id", "failover", "checks[0].id", "is a fault check: add 'fault = true'"),
        ("settings.flaoting_ip", "10.99.0.1", "settings.flaoting_ip", "not a setting of a clustering lab"),
        ("nodes.0.role", "balancer", "nodes[0].role", "not a role in a clustering lab"),
        ("nodes.0.role", "Client!", "nodes[0].role", "lower-case"),
        # Container extras.
        ("networks.0.node_bridge", "eth1", "networks[0].node_bridge", "not eth<N> or lo"),
        ("networks.0.node_bridge", "a-very-long-bridge-name", "networks[0].node_bridge", "interface name"),
        ("nodes.0.layer", "gpu", "nodes[0].layer", "no image layer 'gpu'"),
        ("nodes.0.devices", ["/etc/shadow"], "nodes[0].devices[0]", "not a device path under /dev/"),
        ("nodes.0.devices", ["/dev/../etc/shadow"], "nodes[0].devices[0]", "not a device path under /dev/"),
        ("shared_storage", [{"name": "s", "path": "srv", "nodes": ["node1"]}], "shared_storage[0].path", "absolute"),
        ("shared_storage", [{"name": "s", "path": "/proc", "nodes": ["node1"]}], "shared_storage[0].path",
         "directory of its own"),
        ("shared_storage", [{"name": "s", "path": "/srv/../etc", "nodes": ["node1"]}], "shared_storage[0].path",
         "without . or .."),
        ("shared_storage", [{"name": "s", "path": "/srv/s", "nodes": ["node9"]}], "shared_storage[0].nodes",
         "unknown: node9"),
        ("shared_storage", [{"name": "s", "path": "/srv/s", "nodes": []}], "shared_storage[0].nodes", "at least one"),
    ],
)
def test_malformed_spec_names_field_and_problem(path: str, value: Any, field: str, problem: str) -> None:
    data = mutate(path, value)
    if path == "providers":
        data["default_provider"] = "nspawn"
    if path == "default_provider":
        data["providers"] = ["nspawn"]
    with pytest.raises(SpecError) as raised:
        parse(data)
    assert raised.value.path == "labs/demo.toml"
    assert raised.value.field == field
    assert problem in raised.value.problem


def test_nodes_may_skip_networks_but_not_the_management_network() -> None:
    data = copy.deepcopy(GOOD)
    data["networks"].append({"name": "ring1", "subnet": "10.99.1.0/24", "host_joins": False})
    data["nodes"][0]["addresses"]["ring1"] = "10.99.1.11"
    spec = parse(data)
    node1, node2 = spec.nodes
    assert [net.name for _, net in spec.networks_of(node1)] == ["lan", "ring1"]
    assert [index for index, _ in spec.networks_of(node2)] == [0]
    assert spec.network_index(node1, "ring1") == 1
    with pytest.raises(HalabError, match="node2 is not on network 'ring1'"):
        spec.network_index(node2, "ring1")
    data["nodes"][1]["addresses"] = {"ring1": "10.99.1.12"}
    with pytest.raises(SpecError, match="needs an address on the management network 'lan'"):
        parse(data)


def test_roles_say_who_is_a_cluster_member() -> None:
    spec = parse(GOOD)
    assert [n.role for n in spec.nodes] == ["node", "node"] and spec.member_names == ["node1", "node2"]


def test_overlapping_networks_rejected() -> None:
    data = copy.deepcopy(GOOD)
    data["networks"].append({"name": "ring1", "subnet": "10.99.0.128/25"})
    with pytest.raises(SpecError, match="overlaps network 'lan'"):
        parse(data)


def test_invalid_toml_and_unknown_lab(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    broken = tmp_path / "broken.toml"
    broken.write_text("name = 'broken\n")
    with pytest.raises(SpecError, match=r"broken.toml: \(file\): not valid TOML"):
        load_spec_file(broken)
    monkeypatch.setattr(paths, "labs_dir", lambda: tmp_path)
    with pytest.raises(HalabError, match="unknown lab 'nope' \\(available labs: broken\\)"):
        load_spec("nope")
    with pytest.raises(HalabError, match="not a valid lab name"):
        load_spec("Bad Name")
    with pytest.raises(HalabError, match="cannot read: No such file"):
        load_spec(str(tmp_path / "missing.toml"))


def test_binary_garbage_is_a_spec_error(tmp_path: Path) -> None:
    garbage = tmp_path / "garbage.toml"
    garbage.write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(SpecError):
        load_spec_file(garbage)


def test_spec_files_are_valid_toml() -> None:
    for path in paths.labs_dir().glob("*.toml"):
        tomllib.loads(path.read_text())


def test_container_extras_parse_and_need_the_nspawn_provider() -> None:
    data = copy.deepcopy(GOOD)
    data["providers"] = ["nspawn"]
    data["networks"].append({"name": "vm", "subnet": "10.99.1.0/24", "host_joins": False, "node_bridge": "br0"})
    data["nodes"][0].update(layer="hypervisor", devices=["/dev/net/tun"])
    data["nodes"][0]["addresses"]["vm"] = "10.99.1.11"
    data["shared_storage"] = [{"name": "vmstore", "path": "/srv/vmstore/", "nodes": ["node1", "node2"]}]
    spec = parse(data)
    assert spec.networks[1].node_bridge == "br0" and spec.networks[0].node_bridge == ""
    assert (spec.nodes[0].layer, spec.nodes[0].devices) == ("hypervisor", ("/dev/net/tun",))
    assert (spec.nodes[1].layer, spec.nodes[1].devices) == ("", ())
    assert [(s.name, s.path, s.nodes) for s in spec.shared_storage] == [("vmstore", "/srv/vmstore", ("node1", "node2"))]
    data["providers"] = ["nspawn", "libvirt"]
    with pytest.raises(SpecError, match="must be \\[\"nspawn\"\\]: node_bridge of network vm is a container feature"):
        parse(data)


def test_container_extras_become_nspawn_binds(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from halab.providers.nspawn.provider import node_extras

    monkeypatch.setattr(paths, "state_dir", lambda: tmp_path)
    data = copy.deepcopy(GOOD)
    data["providers"] = ["nspawn"]
    data["nodes"][0]["devices"] = ["/dev/net/tun"]
    data["shared_storage"] = [{"name": "vmstore", "path": "/srv/vmstore", "nodes": ["node1"]},
                              {"name": "san", "type": "disk", "path": "/dev/san/disk1", "size_mib": 32,
                               "nodes": ["node1", "node2"]}]
    spec = parse(data)
    assert [(s.type, s.size_mib) for s in spec.shared_storage] == [("directory", 1024), ("disk", 32)]
    assert node_extras(spec, spec.nodes[0]) == [
        f"--bind={tmp_path}/demo/devices/net-tun:/dev/net/tun", f"--bind={tmp_path}/demo/shared/vmstore:/srv/vmstore",
        f"--bind={tmp_path}/demo/shared/san.dev:/dev/san/disk1"]
    assert node_extras(spec, spec.nodes[1]) == [f"--bind={tmp_path}/demo/shared/san.dev:/dev/san/disk1"]


@pytest.mark.skipif(os.geteuid() != 0, reason="mknod needs root")
def test_a_node_device_is_a_node_of_the_labs_own_and_the_hosts_is_left_alone(monkeypatch: pytest.MonkeyPatch,
                                                                             tmp_path: Path) -> None:
    """The virtualization lab on a host without udev: /dev/net/tun is 0600 root there, which root of a node (an
    unprivileged ID on the host) cannot open; the lab gets a node of its own, owned by its nodes' root."""
    from halab.providers.nspawn.storage import device_node, make_devices

    monkeypatch.setattr(paths, "state_dir", lambda: tmp_path)
    data = copy.deepcopy(GOOD)
    data["providers"] = ["nspawn"]
    data["nodes"][0]["devices"] = ["/dev/null"]  # a device every host has, at 0666 there
    spec = parse(data)
    host_before = os.stat("/dev/null")
    make_devices(spec, 0x10000000)
    own = os.stat(device_node("demo", "/dev/null"))
    assert stat.S_ISCHR(own.st_mode) and own.st_rdev == host_before.st_rdev
    assert (stat.S_IMODE(own.st_mode), own.st_uid, own.st_gid) == (0o600, 0x10000000, 0x10000000)
    host_after = os.stat("/dev/null")
    assert (host_after.st_mode, host_after.st_uid, host_after.st_ino) == \
           (host_before.st_mode, host_before.st_uid, host_before.st_ino)
    make_devices(spec, 0x10000000)  # again (a node boots again): the node that is right is kept
    assert os.stat(device_node("demo", "/dev/null")).st_ino == own.st_ino
    data["nodes"][0]["devices"] = ["/dev/halab-no-such-device"]
    with pytest.raises(HalabError, match="needs /dev/halab-no-such-device, which this host does not have"):
        make_devices(parse(data), 0x10000000)


@pytest.mark.parametrize(("storage", "field", "problem"), [
    ({"type": "nas"}, "type", "not a type of shared storage"),
    ({"type": "disk", "path": "/srv/disk", "size_mib": 32}, "path", "a shared disk is a device, under /dev/"),
    ({"type": "disk", "path": "/dev/san/d1"}, "size_mib", "is required"),
    ({"type": "disk", "path": "/dev/san/d1", "size_mib": 1}, "size_mib", "between 16 and 65536"),
    ({"path": "/dev/san"}, "path", "directory of its own"),
    ({"size_mib": 8}, "size_mib", "between 16 and 65536"),  # a directory is capped too
])
def test_shared_disks_are_devices_with_a_size(storage: dict[str, Any], field: str, problem: str) -> None:
    data = copy.deepcopy(GOOD)
    data["providers"] = ["nspawn"]
    data["shared_storage"] = [{"name": "s", "path": "/srv/s", "nodes": ["node1"], **storage}]
    with pytest.raises(SpecError) as raised:
        parse(data)
    assert raised.value.field == f"shared_storage[0].{field}" and problem in raised.value.problem


def test_a_lab_that_takes_another_labs_tasks_may_add_its_own_but_not_redefine_them() -> None:
    labs = paths.labs_dir()
    data = {**copy.deepcopy(GOOD), "tasks_from": "clustering",
            "tasks": [{"id": "quorum", "title": "Quorum"}],
            "checks": [{"id": "no-quorum-policy", "task": "quorum", "points": 5}]}
    spec = parse_spec(labs / "demo.toml", data)
    assert [t.id for t in spec.tasks][-2:] == ["failover", "quorum"] and spec.checks[-1].id == "no-quorum-policy"
    data["tasks"] = [{"id": "corosync", "title": "again"}]
    data["checks"] = []
    with pytest.raises(SpecError, match="tasks: corosync already come from tasks_from"):
        parse_spec(labs / "demo.toml", data)
