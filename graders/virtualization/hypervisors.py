"""What libvirt knows on each hypervisor, from the raw facts (``raw["libvirt"]``, graders/virtualization/
collect.py) and parsed by the libvirt parsers: pure, so evidence is graded the same way anywhere.

A hypervisor whose libvirt could not be read gives a FactMissing that says why in a student's words: the
node is down, or libvirtd is not running there (and how to start it), or libvirt's own message.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from graders.collectors import ParseError, libvirt_domain, libvirt_network
from graders.collectors.libvirt_domain import ACTIVE_STATES, DomainDef
from graders.collectors.libvirt_network import NetworkDef
from graders.facts import FactMissing, LabFacts, NodeFacts


@dataclass(frozen=True)
class NetworkState:
    definition: NetworkDef
    active: bool
    persistent: bool
    autostart: bool


@dataclass(frozen=True)
class DomainState:
    definition: DomainDef
    state: int
    persistent: bool
    autostart: bool

    @property
    def running(self) -> bool:
        return self.state in ACTIVE_STATES

    @property
    def state_name(self) -> str:
        return libvirt_domain.state_name(self.state)


@dataclass
class Hypervisor:
    name: str
    networks: dict[str, NetworkState] = field(default_factory=dict)
    domains: dict[str, DomainState] = field(default_factory=dict)
    transports: dict[str, dict[str, Any]] = field(default_factory=dict)  # "ssh:hv2" -> {exit, output}

    def running(self) -> list[str]:
        return [name for name, domain in self.domains.items() if domain.running]


def _libvirtd_note(node: NodeFacts) -> str:
    """What `systemctl is-active libvirtd` said, when it explains a failed connection."""
    try:
        out = node.output("libvirtd_active")
    except FactMissing:
        return ""
    state = out["stdout"].strip() or "unknown"
    return "" if state == "active" else f" (systemctl says libvirtd is {state})"


def _explain(name: str, error: str, node: NodeFacts) -> str:
    if "unreachable" in error:
        return error
    note = _libvirtd_note(node)
    if note or "libvirt-sock" in error:
        return (f"libvirtd is not running on {name}{note}: libvirt cannot be asked about networks and VMs there, "
                f"nor can Pacemaker start or migrate a guest to it; start it with: systemctl start libvirtd")
    return f"libvirt on {name} cannot be read: {error.strip()[:300]}"


def _entries(raw: Any, key: str) -> list[dict[str, Any]]:
    items = raw.get(key) if isinstance(raw, dict) else None
    if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
        raise FactMissing(f"the recorded libvirt facts are damaged ({key})")
    return items


def read(facts: LabFacts, name: str) -> Hypervisor:
    """One hypervisor's libvirt state; FactMissing with the reason when it could not be read."""
    node = facts.nodes[name]
    if not node.reachable:
        raise FactMissing(f"{name} is unreachable ({node.error or 'no answer'})")
    recorded = facts.raw.get("libvirt")
    if isinstance(recorded, dict) and isinstance(recorded.get("collector_error"), str):
        raise FactMissing(recorded["collector_error"])
    entry = recorded.get(name) if isinstance(recorded, dict) else None
    if not isinstance(entry, dict):
        raise FactMissing(f"libvirt on {name} was not read (no libvirt facts were collected)")
    if entry.get("error"):
        raise FactMissing(_explain(name, str(entry["error"]), node))
    hypervisor = Hypervisor(name)
    try:
        for net in _entries(entry, "networks"):
            network = libvirt_network.parse(str(net.get("xml", "")))
            hypervisor.networks[network.name] = NetworkState(network, net.get("active") is True,
                                                                net.get("persistent") is True,
                                                                net.get("autostart") is True)
        for dom in _entries(entry, "domains"):
            definition = libvirt_domain.parse(str(dom.get("xml", "")))
            recorded = dom.get("state")
            state = recorded if isinstance(recorded, int) else -1
            hypervisor.domains[definition.name] = DomainState(definition, state, dom.get("persistent") is True,
                                                              dom.get("autostart") is True)
    except ParseError as exc:
        raise FactMissing(f"libvirt's answer from {name} cannot be read: {exc}") from None
    transports = entry.get("transports")
    hypervisor.transports = {k: v for k, v in transports.items() if isinstance(v, dict)} \
        if isinstance(transports, dict) else {}
    return hypervisor


def every(facts: LabFacts) -> tuple[dict[str, Hypervisor], list[str]]:
    """Every hypervisor that could be read, and the reasons for those that could not."""
    return facts.per_node(lambda node: read(facts, node.name))
