"""A node's journal around a fault (`journalctl -o json`), read as the events of a failover: the token lost, a
knet link down, membership and quorum changes, a node fenced, a resource stopped or started; on a load balancer,
keepalived's VRRP state changes and tracked script results, HAProxy's servers going DOWN or UP; at a dr lab's sites,
booth's ticket revoked and granted, PostgreSQL promoted and demoted (issue 24's timeline).

One JSON object per line; ``__REALTIME_TIMESTAMP`` is microseconds since the epoch (a container shares the
host's clock, so the events line up with the grader's own). Lines that are not JSON, or messages that tell
nothing about the failover, are skipped: the journal is full of noise, and a damaged line must not hide the
others.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Event:
    at: float  # seconds since the epoch
    node: str
    event: str


Meaning = Callable[[re.Match[str]], str]
DONE = {"start": "started", "stop": "stopped", "promote": "promoted", "demote": "demoted"}


def rule(identifier: str, pattern: str, meaning: Meaning) -> tuple[str, re.Pattern[str], Meaning]:
    return identifier, re.compile(pattern), meaning


# (the logging daemon's identifier prefix, its message, what it means), as Corosync 3.1 and Pacemaker 2.1 write them.
RULES = [
    rule("corosync", r"Token has not been received in (\d+) ms", lambda m: f"token lost ({m[1]} ms)"),
    rule("corosync", r"A processor failed, forming new configuration", lambda _m: "new membership forming"),
    rule("corosync", r"link: host: (\d+) link: (\d+) is down", lambda m: f"knet link {m[2]} to node id {m[1]} down"),
    rule("corosync", r"(?:rx|link): host: (\d+) link: (\d+) is up", lambda m: f"knet link {m[2]} to node id {m[1]} up"),
    rule("corosync", r"\[QUORUM\] Members\[(\d+)\]:\s*([\d ]+)",
         lambda m: f"membership: {m[1]} node(s) ({m[2].strip()})"),
    rule("corosync", r"This node is within the non-primary component", lambda _m: "quorum lost"),
    rule("corosync", r"This node is within the primary component", lambda _m: "quorum held"),
    rule("pacemaker-controld", r"Node (\S+) state is now lost", lambda m: f"{m[1]} lost"),
    rule("pacemaker-controld", r"Node (\S+) state is now member", lambda m: f"{m[1]} joined"),
    rule("pacemaker-controld", r"Requesting fencing \((\w+)\) (?:of|targeting) node (\S+)",
         lambda m: f"fencing of {m[2]} requested ({m[1]})"),
    rule("pacemaker-controld", r"Peer (\S+) was terminated \((\w+)\) by (\S+) on behalf of \S+: OK",
         lambda m: f"{m[1]} fenced ({m[2]}) by {m[3]}"),
    rule("pacemaker-fenced", r"Operation '(\w+)' \[\d+\] targeting (\S+) using (\S+) returned 0",
         lambda m: f"{m[3]} did {m[1]} {m[2]}"),
    rule("pacemaker-controld", r"Quorum lost", lambda _m: "Pacemaker lost quorum"),
    rule("pacemaker-controld", r"Quorum acquired", lambda _m: "Pacemaker has quorum"),
    rule("pacemaker-controld", r"Result of (start|stop|promote|demote) operation for (\S+) on (\S+): (\w+)",
         lambda m: f"{m[2]} {DONE[m[1]]} on {m[3]}" + ("" if m[4] == "ok" else f" ({m[4]})")),
    # A live migration (a VirtualDomain resource with allow-migrate): sent from the source, taken on the target.
    rule("pacemaker-controld", r"Result of (migrate_to|migrate_from) operation for (\S+) on (\S+): (\w+)",
         lambda m: f"{m[2]} {'migrating away from' if m[1] == 'migrate_to' else 'migrated to'} {m[3]}"
                   + ("" if m[4] == "ok" else f" ({m[4]})")),
]


# keepalived 2.2 (Keepalived_vrrp) and HAProxy 2.6, as a load-balancing lab's balancers write them.
RULES += [
    rule("Keepalived", r"\((\S+)\) Entering (MASTER|BACKUP|FAULT) STATE", lambda m: f"VRRP {m[1]}: {m[2]}"),
    rule("Keepalived", r"VRRP_Script\((\S+)\) (failed|succeeded)", lambda m: f"track script {m[1]} {m[2]}"),
    rule("Keepalived", r"Script `(\S+)` now returning (\d+)", lambda m: f"track script {m[1]} returns {m[2]}"),
    rule("haproxy", r"Server (\S+) is (DOWN|UP)", lambda m: f"HAProxy: server {m[1]} {m[2]}"),
    rule("haproxy", r"(?:backend|proxy) (\S+) has no server available", lambda m: f"HAProxy: {m[1]} has no server"),
]
KEEPALIVED_SOURCES = ("Keepalived_vrrp", "haproxy")  # the `journalctl -t` names of the lines above

# A dr lab's sites and arbitrator: PostgreSQL promoted and demoted by PAF through Pacemaker, and booth 1.0's ticket
# (its lines read "<ticket> (<state>/<term>/<ms left>): <what>"; an election's own steps are left out).
_BOOTH = r"(\S+) \(\w+/\d+/-?\d+\): "
RULES += [
    rule("boothd", _BOOTH + r"revoking ticket", lambda m: f"booth: {m[1]} revoked here"),
    rule("boothd", _BOOTH + r"(\S+) revokes ticket", lambda m: f"booth: {m[2]} revokes {m[1]}"),
    rule("boothd", _BOOTH + r"granted successfully here", lambda m: f"booth: {m[1]} granted here"),
    rule("boothd", _BOOTH + r"(.*(?:expired|majority|lost).*)", lambda m: f"booth: {m[1]}: {m[2].strip()}"),
]
DR_SOURCES = ("pacemaker-controld", "pacemaker-fenced", "boothd-site", "boothd-arbitrator")

# DRBD 8.4's kernel module (a VM's kernel log) and the CIB's record of the constraint its fence-peer handler places
# (crm-fence-peer.sh) and its after-resync-target handler lifts (crm-unfence-peer.sh), as the drbd lab writes them.
LOST = "NetworkFailure|Timeout|BrokenPipe|ProtocolError|TearDown"
FENCE_CONSTRAINT = r"rsc_location[^>]*id=.(drbd-fence-by-handler[^'\"]*)"
WHO = r"(drbd \S+|drbd\d+)"  # a resource's connection ("drbd r0: ...") or its device ("block drbd0: ...")


def _who(found: re.Match[str]) -> str:
    return found[1].removeprefix("drbd ")


RULES += [
    rule("kernel", rf"{WHO}: PingAck did not arrive in time", lambda m: f"DRBD {_who(m)}: the peer stopped answering"),
    rule("kernel", rf"{WHO}: conn\( \w+ -> ({LOST}) \)", lambda m: f"DRBD {_who(m)}: connection lost ({m[2]})"),
    rule("kernel", rf"{WHO}: conn\( \w+ -> (StandAlone|Connected|WFConnection|SyncSource|SyncTarget) \)",
         lambda m: f"DRBD {_who(m)}: {m[2]}"),
    rule("kernel", r"Split-Brain detected but unresolved", lambda _m: "DRBD: split brain detected, connection dropped"),
    rule("kernel", r"fence-peer helper returned (\d+) \(([^)]*)\)",
         lambda m: f"DRBD: fence-peer handler returned {m[1]} ({m[2]})"),
    rule("kernel", r"helper command: \S+ (fence-peer|unfence-peer|after-resync-target|split-brain) \S+$",
         lambda m: f"DRBD: {m[1]} handler called"),
    rule("kernel", rf"{WHO}: role\( (\w+) -> (\w+) \)", lambda m: f"DRBD {_who(m)}: {m[2]} -> {m[3]}"),
    rule("kernel", rf"{WHO}:.*\bpdsk\( \w+ -> (Outdated|UpToDate) \)",
         lambda m: f"DRBD {_who(m)}: the peer's disk is {m[2]}"),
    rule("kernel", rf"{WHO}:.*\bdisk\( \w+ -> (Outdated|Diskless|UpToDate) \)",
         lambda m: f"DRBD {_who(m)}: own disk {m[2]}"),
    rule("kernel", rf"{WHO}: Resync done", lambda m: f"DRBD {_who(m)}: resync done"),
    rule("pacemaker-based", rf"\+\+ /cib/configuration/constraints:\s+<{FENCE_CONSTRAINT}",
         lambda m: f"constraint {m[1]} placed"),
    rule("pacemaker-based", rf"-- /cib/configuration/constraints/{FENCE_CONSTRAINT}",
         lambda m: f"constraint {m[1]} removed"),
]
DRBD_SOURCES = ("kernel", "pacemaker-based")  # besides Corosync's and Pacemaker's (graders/faults.py)


def _message(entry: dict) -> str:
    message = entry.get("MESSAGE", "")
    if isinstance(message, list):  # journald gives bytes it cannot decode as a list of numbers
        message = bytes(b for b in message if isinstance(b, int) and 0 <= b < 256).decode(errors="replace")
    return message if isinstance(message, str) else ""


def _at(entry: dict) -> float | None:
    stamp = entry.get("__REALTIME_TIMESTAMP")
    return int(stamp) / 1e6 if isinstance(stamp, str) and stamp.isdigit() else None


def parse(text: str, node: str) -> list[Event]:
    """The failover's events in one node's ``journalctl -o json`` output, in the journal's order."""
    events: list[Event] = []
    for line in text.splitlines():
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        if not isinstance(entry, dict):
            continue
        at, identifier, message = _at(entry), str(entry.get("SYSLOG_IDENTIFIER", "")), _message(entry)
        if at is None or not message:
            continue
        for prefix, pattern, meaning in RULES:
            if identifier.startswith(prefix):
                found = pattern.search(message)
                if found:
                    events.append(Event(at, node, meaning(found)))
                    break
    return _without_repeats(events)


def _without_repeats(events: list[Event]) -> list[Event]:
    """One line per change: Pacemaker and Corosync say some things several times within a second (each daemon,
    each retry)."""
    kept: list[Event] = []
    for event in events:
        if not any(k.event == event.event and abs(k.at - event.at) < 2 for k in kept[-5:]):
            kept.append(event)
    return kept
