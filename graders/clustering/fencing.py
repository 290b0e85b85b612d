"""Which fence device can fence which node, and how long it waits first: read from the CIB as Pacemaker's fencer
reads a device's parameters (pcmk_host_list, pcmk_host_map, pcmk_host_check, pcmk_delay_base).

A device "can fence" a node when its host list (or host map) names the node, or, with neither, when its agent
can list the node (fence_halab lists every node of its lab: dynamic-list). The graders ask this per node, so a
device whose host list names another lab's nodes (``node1 node2`` on hypervisors hv1 and hv2) fences nobody.
"""

from __future__ import annotations

import re

from graders.collectors.cib import Cib, Primitive
from graders.collectors.crm_mon import ClusterStatus

_SEPARATORS = re.compile(r"[\s,;]+")


def devices(cib: Cib) -> list[Primitive]:
    return [p for p in cib.primitives.values() if p.agent.startswith("stonith:")]


def targets(device: Primitive, nodes: list[str]) -> set[str]:
    """The lab nodes ``device`` may fence, by its parameters."""
    params = device.params
    if params.get("pcmk_host_check") == "none":
        return set(nodes)
    if params.get("pcmk_host_list"):
        return {n for n in _SEPARATORS.split(params["pcmk_host_list"]) if n} & set(nodes)
    if params.get("pcmk_host_map"):
        return {entry.split(":", 1)[0].strip() for entry in _SEPARATORS.split(params["pcmk_host_map"])
                if ":" in entry} & set(nodes)
    plug = params.get("plug") or params.get("port")
    if plug:
        return {plug} & set(nodes)
    return set(nodes)  # dynamic-list: the agent lists every node of its lab


def running(status: ClusterStatus) -> set[str]:
    return {r.id for r in status.resources if r.agent.startswith("stonith:") and r.active and r.role == "Started"}


def fencers(cib: Cib, status: ClusterStatus, nodes: list[str]) -> dict[str, list[str]]:
    """Node -> the running devices that can fence it (empty: nothing can)."""
    live = running(status)
    return {node: [d.id for d in devices(cib) if d.id in live and node in targets(d, nodes)] for node in nodes}


def seconds(value: str | None) -> float:
    """A Pacemaker duration or number ("5", "5s", "500ms", "2m") in seconds; 0 for anything else."""
    if not value:
        return 0.0
    text = value.strip().lower()
    for suffix, factor in (("ms", 0.001), ("s", 1.0), ("m", 60.0)):
        if text.endswith(suffix) and text[: -len(suffix)].replace(".", "", 1).isdigit():
            return float(text[: -len(suffix)]) * factor
    return float(text) if text.replace(".", "", 1).isdigit() else 0.0


def base_delay(device: Primitive, node: str) -> float:
    """How long ``device`` waits before fencing ``node``: pcmk_delay_base, a fixed time or a per-node map
    ("node1:2s;node2:0")."""
    base = device.params.get("pcmk_delay_base", "")
    if ":" not in base:
        return seconds(base)
    waits = {n.strip(): seconds(d) for n, _, d in (e.partition(":") for e in base.split(";") if ":" in e)}
    return waits.get(node, 0.0)


def waits(cib: Cib, nodes: list[str]) -> dict[str, tuple[float, str]]:
    """Node -> (the shortest fixed delay before it can be shot, the device that gives it): in a fence race the
    node whose fencing waits longest shoots first and survives."""
    found: dict[str, tuple[float, str]] = {}
    for node in nodes:
        options = [(base_delay(d, node), d.id) for d in devices(cib) if node in targets(d, nodes)]
        if options:
            found[node] = min(options)
    return found
