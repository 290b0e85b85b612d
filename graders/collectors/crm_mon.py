"""`crm_mon -1 --output-as=xml` (Pacemaker 2.1, schema api/crm_mon-2.x) -> ClusterStatus."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from datetime import UTC, datetime

from graders.collectors import xml_root

# Pacemaker 2.1 renamed the roles; accept both spellings and report the new one.
ROLE_NAMES = {"Master": "Promoted", "Slave": "Unpromoted"}


@dataclass(frozen=True)
class CrmNode:
    name: str
    online: bool
    standby: bool
    unclean: bool
    is_dc: bool


@dataclass(frozen=True)
class CrmResource:
    id: str
    agent: str  # e.g. "ocf:heartbeat:IPaddr2", "stonith:fence_halab"
    role: str
    active: bool
    failed: bool
    nodes: tuple[str, ...]
    group: str | None = None
    clone: str | None = None


@dataclass
class ClusterStatus:
    connected: bool
    error: str = ""
    dc: str | None = None
    quorate: bool = False
    stonith_enabled: bool = False
    maintenance: bool = False  # maintenance-mode: Pacemaker watches but manages nothing
    nodes: dict[str, CrmNode] = field(default_factory=dict)
    resources: list[CrmResource] = field(default_factory=list)
    fail_counts: dict[tuple[str, str], int] = field(default_factory=dict)  # (node, resource) -> count
    failures: list[str] = field(default_factory=list)
    failed_at: dict[str, float] = field(default_factory=dict)  # failure -> when (epoch seconds, the node's clock)
    failed_resource: dict[str, str] = field(default_factory=dict)  # failure -> the resource's id
    bans: list[str] = field(default_factory=list)

    def resource(self, resource_id: str) -> CrmResource | None:
        return next((r for r in self.resources if r.id == resource_id), None)

    def failures_of(self, *resource_ids: str) -> list[str]:
        """The failed actions of these resources only: by the resource id in the op_key, never by a prefix of
        it (the failures of "web-ip" are not those of a resource named "web")."""
        return [f for f in self.failures if self.failed_resource.get(f) in resource_ids]


def _when(text: str) -> float | None:
    """``last-rc-change`` as Pacemaker 2.1 writes it (``2026-12-06 21:54:22Z``, UTC); None for another form."""
    try:
        return datetime.strptime(text, "%Y-%m-%d %H:%M:%SZ").replace(tzinfo=UTC).timestamp()
    except ValueError:
        return None


def _bool(element: ET.Element, name: str) -> bool:
    return element.get(name, "false") == "true"


def _resources(parent: ET.Element, group: str | None = None, clone: str | None = None) -> list[CrmResource]:
    found = []
    for child in parent:
        if child.tag == "resource":
            found.append(CrmResource(
                id=child.get("id", "?"), agent=child.get("resource_agent", "?"),
                role=ROLE_NAMES.get(child.get("role", ""), child.get("role", "")),
                active=_bool(child, "active"), failed=_bool(child, "failed"),
                nodes=tuple(n.get("name", "?") for n in child.findall("node")), group=group, clone=clone,
            ))
        elif child.tag == "group":
            found += _resources(child, group=child.get("id"), clone=clone)
        elif child.tag in ("clone", "bundle"):
            found += _resources(child, group=group, clone=child.get("id"))
    return found


def parse(text: str) -> ClusterStatus:
    root = xml_root(text, "crm_mon", "pacemaker-result", "status")
    status = root.find("status")
    assert status is not None
    if status.get("code", "0") != "0":
        # The last error is the conclusion ("Connection to cluster failed: ..."); earlier ones are detail.
        errors = [e.text.strip() for e in status.iter("error") if e.text and e.text.strip()]
        return ClusterStatus(connected=False, error=errors[-1] if errors else status.get("message", "?"))
    summary = root.find("summary")
    dc = summary.find("current_dc") if summary is not None else None
    options = summary.find("cluster_options") if summary is not None else None
    result = ClusterStatus(
        connected=True,
        dc=dc.get("name") if dc is not None and _bool(dc, "present") else None,
        quorate=dc is not None and _bool(dc, "with_quorum"),
        stonith_enabled=options is not None and _bool(options, "stonith-enabled"),
        maintenance=options is not None and _bool(options, "maintenance-mode"),
    )
    for node in root.iterfind("nodes/node"):
        name = node.get("name", "?")
        result.nodes[name] = CrmNode(name, _bool(node, "online"), _bool(node, "standby"), _bool(node, "unclean"),
                                     _bool(node, "is_dc"))
    resources = root.find("resources")
    if resources is not None:
        result.resources = _resources(resources)
    for node in root.iterfind("node_history/node"):
        for history in node.iterfind("resource_history"):
            count = history.get("fail-count")
            if count:
                result.fail_counts[(node.get("name", "?"), history.get("id", "?"))] = int(count)
    for failure in root.iterfind("failures/failure"):
        text = (f"{failure.get('op_key', '?')} on {failure.get('node', '?')}: "
                f"{failure.get('exitreason') or failure.get('exitstatus', '?')}")
        result.failures.append(text)
        # op_key is <resource>_<task>_<interval ms>; the task may hold underscores (migrate_to), the id too
        op_key, task, interval = failure.get("op_key", ""), failure.get("task"), failure.get("interval")
        if task and interval and op_key.endswith(suffix := f"_{task}_{interval}"):
            result.failed_resource[text] = op_key.removesuffix(suffix)
        when = _when(failure.get("last-rc-change", ""))
        if when is not None:
            result.failed_at[text] = when
    result.bans = [ban.get("id", "?") for ban in root.iterfind("bans/ban")]
    return result
