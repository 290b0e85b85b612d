"""Facts about a lab, computed lazily from raw command output (live or from saved evidence).

Checks ask for facts (``node.crm_mon()``, ``facts.cluster_view()``); when a fact cannot be had — the node
is unreachable, the daemon is stopped, the output is garbage — a FactMissing says why, in words a student
understands, and the check fails with that explanation.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from graders.collectors import ParseError, authkey, cfgtool, cib, cmapctl, corosync_conf, crm_mon, quorumtool
from graders.collectors import systemctl as systemctl_parser
from halab.spec import MEMBER_ROLE, LabSpec

T = TypeVar("T")
CLUSTER_UNITS = ["corosync", "pacemaker"]


class FactMissing(Exception):
    """A fact a check needs is not available; the message explains why."""


class NodeUnreadable(FactMissing):
    """A node's answer came back incomplete (the connection broke under a command): nothing can be judged from
    it, so a check that does not pass after meeting one is reported as unreadable, never as the student's
    failure (graders/grade.py)."""


@dataclass
class NodeFacts:
    name: str
    reachable: bool
    error: str
    commands: dict[str, dict[str, Any]]
    # The command behind each key, for messages ("'crm_mon -1 --output-as=xml' was not collected").
    wanted: dict[str, str] = field(default_factory=dict)
    _cache: dict[str, Any] = field(default_factory=dict, repr=False)
    # Every incomplete answer a check asked for, in the order asked (shared by the lab's nodes: LabFacts.unread),
    # so that a check that catches FactMissing itself is still known to have met one.
    _unread: list[str] = field(default_factory=list, repr=False)

    def command_text(self, key: str) -> str:
        recorded = self.commands.get(key, {}).get("command")
        return recorded if isinstance(recorded, str) else self.wanted.get(key, key)

    def output(self, key: str) -> dict[str, Any]:
        if not self.reachable:
            raise FactMissing(f"{self.name} is unreachable ({self.error or 'no answer'})")
        if key not in self.commands:
            raise FactMissing(f"{self.name}: '{self.command_text(key)}' was not collected")
        if self.commands[key].get("incomplete"):
            message = (f"{self.name} could not be read: the answer to '{self.command_text(key)}' was incomplete "
                       f"({self.commands[key]['incomplete']}), twice; this says nothing about your configuration: "
                       "run the check again")
            self._unread.append(message)
            raise NodeUnreadable(message)
        if self.commands[key].get("truncated"):
            raise FactMissing(f"{self.name}: '{self.command_text(key)}' printed more than the grader reads (1 MiB) "
                              "and was cut off, so it is not judged; is a file it reads a link to /dev/zero or a "
                              "device?")
        return self.commands[key]

    def parsed(self, key: str, parser: Callable[[str], T], explain_failure: str = "") -> T:
        if key in self._cache:
            return self._cache[key]
        out = self.output(key)
        if out["exit"] != 0 and explain_failure:
            detail = (out["stderr"] or out["stdout"]).strip().splitlines()
            last = detail[-1] if detail else f"exit {out['exit']}"
            raise FactMissing(f"{explain_failure} on {self.name} ({last})")
        try:
            value = parser(out["stdout"])
        except ParseError as exc:
            raise FactMissing(f"{self.name}: cannot read '{self.command_text(key)}': {exc}") from None
        self._cache[key] = value
        return value

    def crm_mon(self) -> crm_mon.ClusterStatus:
        status = self.parsed("crm_mon", crm_mon.parse)
        if not status.connected:
            raise FactMissing(f"Pacemaker is not running on {self.name} ({status.error})")
        return status

    def cib(self) -> cib.Cib:
        self.crm_mon()  # "Pacemaker is not running" says more than cibadmin's own error
        return self.parsed("cib", cib.parse, "Pacemaker's CIB cannot be read")

    def quorum(self) -> quorumtool.Quorum:
        out = self.output("quorumtool")
        # Exit 2 only means "not quorate": the text is still complete.
        if out["exit"] not in (0, 2):
            return self.parsed("quorumtool", quorumtool.parse, "Corosync is not running")
        return self.parsed("quorumtool", quorumtool.parse)

    def cmap(self) -> dict[str, str]:
        return self.parsed("cmapctl", cmapctl.parse, "Corosync is not running")

    def links(self) -> cfgtool.Links:
        out = self.output("cfgtool")
        # Since Corosync 3.1 cfgtool exits 1 when a link is down, with the full status still printed.
        if "Local node ID" in out["stdout"]:
            return self.parsed("cfgtool", cfgtool.parse)
        return self.parsed("cfgtool", cfgtool.parse, "Corosync is not running")

    def corosync_conf(self) -> corosync_conf.Section:
        return self.parsed("corosync_conf", corosync_conf.parse, "/etc/corosync/corosync.conf cannot be read")

    def corosync_conf_text(self) -> str:
        out = self.output("corosync_conf")
        return out["stdout"] if out["exit"] == 0 else ""

    def authkey(self) -> authkey.FileInfo:
        return self.parsed("authkey", authkey.parse, "/etc/corosync/authkey is missing or unreadable")

    def units(self, key: str) -> dict[str, str]:
        """``is_active`` or ``is_enabled`` states of corosync and pacemaker."""
        return self.parsed(key, lambda text: systemctl_parser.parse(text, CLUSTER_UNITS))

    def addresses(self) -> str:
        return self.output("addresses")["stdout"]


@dataclass
class LabFacts:
    spec: LabSpec
    raw: dict[str, Any]
    nodes: dict[str, NodeFacts]
    unread: list[str] = field(default_factory=list)  # see NodeFacts._unread

    @classmethod
    def from_raw(cls, spec: LabSpec, raw: dict[str, Any]) -> LabFacts:
        kind = spec.kind_def
        raw = raw if isinstance(raw, dict) else {}
        all_nodes = raw.get("nodes")
        nodes: dict[str, NodeFacts] = {}
        unread: list[str] = []
        for node in spec.nodes:
            name, wanted = node.name, kind.commands_for(spec.settings, node.role)
            entry = all_nodes.get(name) if isinstance(all_nodes, dict) else None
            if not isinstance(entry, dict):
                nodes[name] = NodeFacts(name, False, "no facts were collected from it", {}, wanted)
                continue
            commands = entry.get("commands")
            commands = {key: out for key, out in commands.items() if _well_formed(out)} \
                if isinstance(commands, dict) else {}
            nodes[name] = NodeFacts(name, entry.get("reachable") is True, str(entry.get("error", "")), commands,
                                    wanted, _unread=unread)
        return cls(spec, raw, nodes, unread)

    @property
    def probes(self) -> dict[str, Any]:
        probes = self.raw.get("probes")
        return {k: v for k, v in probes.items() if isinstance(v, dict)} if isinstance(probes, dict) else {}

    def each(self, role: str = MEMBER_ROLE) -> list[NodeFacts]:
        """The facts of every node of ``role``: by default the cluster's members, not its clients."""
        return [self.nodes[node.name] for node in self.spec.with_role(role)]

    def unreachable(self) -> list[str]:
        return [n.name for n in self.each() if not n.reachable]

    def cluster_view(self, fact: Callable[[NodeFacts], T], role: str = MEMBER_ROLE) -> tuple[str, T]:
        """A cluster-wide fact (the CIB, crm_mon) from the first node that can give it: any member sees the
        same replicated state, and one node down must not hide it."""
        reasons = []
        for node in self.each(role):
            try:
                return node.name, fact(node)
            except FactMissing as exc:
                reasons.append((node.name, str(exc)))
        raise FactMissing(_merge(reasons))

    def per_node(self, fact: Callable[[NodeFacts], T], role: str = MEMBER_ROLE) -> tuple[dict[str, T], list[str]]:
        """The fact from every node of ``role``: (values by node, explanations for the nodes that could not
        give it)."""
        values, problems = {}, []
        for node in self.each(role):
            try:
                values[node.name] = fact(node)
            except FactMissing as exc:
                problems.append((node.name, str(exc)))
        return values, [_merge(problems)] if problems else []


def _well_formed(output: Any) -> bool:
    """Saved evidence can be damaged: a command's record must have an int exit and text output."""
    return (isinstance(output, dict) and isinstance(output.get("exit"), int)
            and isinstance(output.get("stdout"), str) and isinstance(output.get("stderr"), str))


def _merge(reasons: list[tuple[str, str]]) -> str:
    """One sentence for the same problem on several nodes: "X is not running on node1, node2 (...)"."""
    groups: dict[str, list[str]] = {}
    for node, reason in reasons:
        groups.setdefault(reason.replace(node, "\0"), []).append(node)
    return "; ".join(shape.replace("\0", ", ".join(nodes), 1).replace("\0", nodes[0])
                     for shape, nodes in groups.items())
