"""Loading lab specs: one TOML file per lab under labs/, validated into a LabSpec (model.py).

Every problem is reported as a SpecError naming the file, the field (e.g. ``nodes[1].addresses.lan``) and
what is wrong, so that a typo in a spec never turns into a traceback deep inside a provider.
"""

from __future__ import annotations

import copy
import ipaddress
import re
import tomllib
from pathlib import Path
from typing import Any

from halab import paths
from halab.errors import HalabError
from halab.image.layerdefs import layer_names
from halab.names import RESERVED_LAB_NAMES, check_lab_name
from halab.spec.containers import containers_only, shared_storage
from halab.spec.instances import instance_data, read_spec_data
from halab.spec.kinds import Kind, get_kind, known_kinds
from halab.spec.limits import MEMORY_MIB, NodeLimits, lab_defaults, node_limits
from halab.spec.model import MEMBER_ROLE, PROVIDERS, CheckSpec, Disk, LabSpec, Network, Node, Task
from halab.spec.reader import Reader, unique

_IFNAME = re.compile(r"[a-z][a-z0-9-]{0,14}")
_DEVICE = re.compile(r"/dev/[A-Za-z0-9_./-]+")


def _network(reader: Reader, first: bool) -> Network:
    reader.unknown_keys({"name", "subnet", "host_address", "host_joins", "node_bridge"})
    name = reader.name("name")
    try:
        subnet = ipaddress.IPv4Network(reader.get("subnet", str))
    except ValueError as exc:
        raise reader.fail("subnet", f"not an IPv4 network: {exc}") from None
    if not subnet.is_private or subnet.prefixlen > 29:
        raise reader.fail("subnet", f"{subnet} must be a private range with room for hosts (/29 or larger)")
    default_host = str(subnet.broadcast_address - 1)
    host = _address(reader, "host_address", reader.get("host_address", str, default_host), subnet)
    bridge = reader.get("node_bridge", str, "")
    if bridge and (not _IFNAME.fullmatch(bridge) or bridge.startswith("eth") or bridge == "lo"):
        raise reader.fail("node_bridge", f"{bridge!r} must be an interface name (letters, digits, '-', at most 15), "
                                         "not eth<N> or lo")
    return Network(name, subnet, host, reader.get("host_joins", bool, first), bridge)


def _address(
    reader: Reader, key: str, text: str, subnet: ipaddress.IPv4Network
) -> ipaddress.IPv4Address:
    try:
        address = ipaddress.IPv4Address(text)
    except ValueError:
        raise reader.fail(key, f"{text!r} is not an IPv4 address") from None
    if address not in subnet or address in (subnet.network_address, subnet.broadcast_address):
        raise reader.fail(key, f"{address} is not a host address in {subnet}")
    return address


def _node(reader: Reader, networks: dict[str, Network], default_memory: int, limits: NodeLimits) -> Node:
    reader.unknown_keys({"name", "addresses", "memory_mib", "disks", "role", "layer", "devices", "limits"})
    name = reader.name("name")
    raw = reader.get("addresses", dict)
    addresses = {}
    for net_name, text in raw.items():
        key = f"addresses.{net_name}"
        if net_name not in networks:
            raise reader.fail(key, f"no network named {net_name!r} (networks: {', '.join(networks)})")
        if not isinstance(text, str):
            raise reader.fail(key, "must be a string")
        network = networks[net_name]
        address = _address(reader, key, text, network.subnet)
        if address == network.host_address:
            raise reader.fail(key, f"{address} is the host's address on {net_name}")
        addresses[net_name] = address
    management = next(net.name for net in networks.values() if net.host_joins)
    if management not in addresses:
        raise reader.fail("addresses", f"needs an address on the management network {management!r}, which the host "
                                       "reaches it by (other networks are optional)")
    memory = reader.get("memory_mib", int, default_memory)
    if not MEMORY_MIB[0] <= memory <= MEMORY_MIB[1]:
        raise reader.fail("memory_mib", f"{memory} must be between {MEMORY_MIB[0]} and {MEMORY_MIB[1]}")
    disks = []
    for disk_reader in reader.tables("disks", required=False):
        disk_reader.unknown_keys({"name", "size_mib"})
        size = disk_reader.get("size_mib", int)
        if not 16 <= size <= 65536:
            raise disk_reader.fail("size_mib", f"{size} must be between 16 and 65536")
        disks.append(Disk(disk_reader.name("name"), size))
    role = reader.name("role") if "role" in reader.table else MEMBER_ROLE
    layer = reader.get("layer", str, "")
    if layer and layer not in layer_names():
        raise reader.fail("layer", f"no image layer {layer!r} (halab/image/layers.toml has: "
                                   f"{', '.join(layer_names()) or 'none'})")
    devices = reader.get("devices", list, [])
    for index, device in enumerate(devices):
        if not isinstance(device, str) or not _DEVICE.fullmatch(device) or "/../" in device + "/":
            raise reader.fail(f"devices[{index}]", f"{device!r} is not a device path under /dev/")
    return Node(name, addresses, memory, tuple(disks), role, layer, tuple(devices), node_limits(reader, limits))


def _tasks_and_checks(reader: Reader, kind: Kind) -> tuple[tuple[Task, ...], tuple[CheckSpec, ...]]:
    """The lab's tasks and checks, each one its kind's graders know (graders/<kind>/)."""
    task_readers = reader.tables("tasks", required=False)
    tasks = []
    for task in task_readers:
        task.unknown_keys({"id", "title", "description"})
        task_id = task.name("id")
        if task_id not in kind.tasks:
            raise task.fail("id", f"{task_id!r} is not a task of a {kind.name} lab (its tasks: "
                                  f"{', '.join(kind.tasks)})")
        tasks.append(Task(task_id, task.get("title", str), task.get("description", str, "")))
    unique(task_readers, [t.id for t in tasks], "id")
    task_ids = {t.id for t in tasks}
    check_readers = reader.tables("checks", required=False)
    checks = []
    for check in check_readers:
        check.unknown_keys({"id", "task", "points", "fault"})
        task_id = check.get("task", str)
        if task_id not in task_ids:
            raise check.fail("task", f"no task with id {task_id!r}")
        points = check.get("points", int)
        if not 0 < points <= 100:
            raise check.fail("points", f"{points} must be between 1 and 100")
        check_id, fault = check.name("id"), check.get("fault", bool, False)
        problem = _unknown_check(kind, check_id, fault)
        if problem:
            raise check.fail("id", problem)
        checks.append(CheckSpec(check_id, task_id, points, fault))
    unique(check_readers, [c.id for c in checks], "id")
    return tuple(tasks), tuple(checks)


def _more_tasks(top: Reader, kind: Kind, tasks: tuple[Task, ...],
                checks: tuple[CheckSpec, ...]) -> tuple[tuple[Task, ...], tuple[CheckSpec, ...]]:
    own_tasks, own_checks = _tasks_and_checks(top, kind)
    for field_name, ids, own in (("tasks", {t.id for t in tasks}, [t.id for t in own_tasks]),
                                 ("checks", {c.id for c in checks}, [c.id for c in own_checks])):
        taken = [i for i in own if i in ids]
        if taken:
            raise top.fail(field_name, f"{', '.join(taken)} already come from tasks_from")
    return tasks + own_tasks, checks + own_checks


def _unknown_check(kind: Kind, check_id: str, fault: bool) -> str:
    """Why the kind has no such check (or no such fault check); empty when it has."""
    if check_id in (kind.faults if fault else kind.checks):
        return ""
    if check_id in kind.checks:
        return f"{check_id!r} is a check, not a fault check: remove 'fault = true'"
    if check_id in kind.faults:
        return f"{check_id!r} is a fault check: add 'fault = true'"
    return (f"no grader of a {kind.name} lab implements {check_id!r} (its checks: {', '.join(kind.checks)}; "
            f"fault checks: {', '.join(kind.faults) or 'none'})")


class _Keep(dict):
    """Settings as task texts show them: an unknown {name} stays as it is, and a value that depends on how
    the nodes run ({nspawn = 30, tcg = 90}) reads "30 (nspawn) / 90 (tcg)"."""

    def __missing__(self, key: str) -> str:
        return "{" + key + "}"

    def __getitem__(self, key: str) -> Any:
        value = super().__getitem__(key)
        if isinstance(value, dict):
            return " / ".join(f"{v} ({k})" for k, v in value.items())
        return value


def _task_source(top: Reader, path: Path) -> Reader:
    """The spec whose tasks and checks this lab uses: itself, or the lab named by ``tasks_from``."""
    other = top.get("tasks_from", str, "")
    if not other:
        return top
    source = path.with_name(f"{other}.toml")
    try:
        data = tomllib.loads(source.read_text())
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise top.fail("tasks_from", f"cannot load {source.name}: {exc}") from None
    return Reader(source, data)


def parse_spec(path: Path, data: dict[str, Any], file_name: str | None = None) -> LabSpec:
    """A validated spec from a spec file's data; its name must be ``file_name`` (the file's stem unless a lab
    instance moved it: halab/spec/instances.py)."""
    top = Reader(path, data)
    top.unknown_keys({"name", "title", "summary", "default_provider", "providers", "networks", "nodes",
                      "tasks", "checks", "settings", "kind", "tasks_from", "shared_storage", "limits"})
    name = top.name("name")
    if name in RESERVED_LAB_NAMES:
        raise top.fail("name", f"{name!r} cannot name a lab: halab uses it for itself")
    if name != (file_name or path.stem):
        raise top.fail("name", f"{name!r} must match the file name {path.stem!r}")
    providers = tuple(top.get("providers", list, list(PROVIDERS)))
    for provider in providers:
        if provider not in PROVIDERS:
            raise top.fail("providers", f"unknown provider {provider!r} (known: {', '.join(PROVIDERS)})")
    default_provider = top.get("default_provider", str, providers[0] if providers else "nspawn")
    if default_provider not in providers:
        raise top.fail("default_provider", f"{default_provider!r} is not in providers")

    net_readers = top.tables("networks")
    networks = [_network(r, index == 0) for index, r in enumerate(net_readers)]
    unique(net_readers, [n.name for n in networks], "name")
    if sum(n.host_joins for n in networks) != 1:
        raise top.fail("networks", "exactly one network must have host_joins = true")
    for index, net in enumerate(networks):
        for other in networks[:index]:
            if net.subnet.overlaps(other.subnet):
                raise net_readers[index].fail("subnet", f"{net.subnet} overlaps network {other.name!r}")

    by_name = {n.name: n for n in networks}
    node_readers = top.tables("nodes")
    default_memory, default_limits = lab_defaults(top)
    nodes = [_node(r, by_name, default_memory, default_limits) for r in node_readers]
    unique(node_readers, [n.name for n in nodes], "name")
    for net in networks:
        on_net = [(r, n) for r, n in zip(node_readers, nodes, strict=True) if n.on(net.name)]
        unique([r for r, _ in on_net], [str(n.addresses[net.name]) for _, n in on_net], f"addresses.{net.name}")
    kind = _kind(top, name)
    for reader, node in zip(node_readers, nodes, strict=True):
        if node.role not in kind.roles:
            raise reader.fail("role", f"{node.role!r} is not a role in a {kind.name} lab (its roles: "
                                      f"{', '.join(kind.roles)})")
    settings = _settings(top, kind)
    shared = shared_storage(top, nodes)
    containers_only(top, providers, networks, nodes, shared)
    source = _task_source(top, path)
    tasks, checks = _tasks_and_checks(source, kind)
    if source is not top:  # a lab that takes another's tasks may add its own (clustering3: quorum)
        tasks, checks = _more_tasks(top, kind, tasks, checks)
    # Task texts may name settings, e.g. {floating_ip}, so labs that share tasks show their own values.
    try:
        tasks = tuple(Task(t.id, t.title, t.description.format_map(_Keep(settings))) for t in tasks)
    except (ValueError, IndexError) as exc:
        raise top.fail("tasks", f"a description has a stray brace ({exc}); write {{{{ and }}}} for braces") from None
    return LabSpec(
        name=name,
        title=top.get("title", str),
        summary=top.get("summary", str, ""),
        path=path,
        default_provider=default_provider,
        providers=providers,
        networks=tuple(networks),
        nodes=tuple(nodes),
        tasks=tasks,
        checks=checks,
        settings=settings,
        kind=kind.name,
        kind_def=kind,
        shared_storage=shared,
    )


def _kind(top: Reader, name: str) -> Kind:
    """The lab's kind from the registry (kinds.py): its graders say what a lab of that kind needs."""
    kind = top.get("kind", str, name)
    try:
        return get_kind(kind)
    except HalabError:
        raise top.fail("kind", f"unknown lab kind {kind!r} (known: {', '.join(known_kinds())})") from None


def _settings(top: Reader, kind: Kind) -> dict[str, Any]:
    settings = top.get("settings", dict, {})
    missing = [key for key in kind.settings if key not in settings]
    if missing:
        raise top.fail("settings", f"a {kind.name} lab needs {', '.join(missing)}")
    unknown = sorted(key for key in settings if key not in kind.all_settings)
    if unknown:
        raise top.fail(f"settings.{unknown[0]}", f"not a setting of a {kind.name} lab "
                                                 f"(its settings: {', '.join(kind.all_settings)})")
    return settings


def spec_from_data(path: Path, data: dict[str, Any], slot: int = 0) -> LabSpec:
    """The spec of a spec file's data (as read_spec_data gives it), moved into a user's slot when ``slot`` is not
    0 (instances.py). The data is left as it is: it may be kept (a lab's state keeps the data it was made from)."""
    moved = instance_data(copy.deepcopy(data), slot)
    return parse_spec(path, moved, file_name=moved.get("name") if slot else None)


def load_spec_file(path: Path, slot: int = 0) -> LabSpec:
    """The spec of a file, moved into a user's slot when ``slot`` is not 0 (instances.py)."""
    return spec_from_data(path, read_spec_data(path), slot)


def available_labs() -> list[str]:
    return sorted(p.stem for p in paths.labs_dir().glob("*.toml"))


def spec_path(name: str) -> Path:
    """The spec file of a lab by name (``clustering``) or by path to a spec file, without reading it."""
    if name.endswith(".toml") or "/" in name:
        return Path(name)
    path = paths.labs_dir() / f"{check_lab_name(name)}.toml"
    if not path.exists():
        known = ", ".join(available_labs()) or "none"
        raise HalabError(f"unknown lab '{name}' (available labs: {known})")
    return path


def load_spec(name: str) -> LabSpec:
    """Load a lab by name (``clustering``) or by path to a spec file."""
    return load_spec_file(spec_path(name))
