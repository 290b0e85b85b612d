"""Fault checks, the live side: prove HA by breaking the lab on purpose, measuring recovery, and restoring it.

Each kind's fault checks live in graders/<kind>/faults.py and are named in its Kind; this module runs them
(only after the checks they depend on passed) and holds what several kinds share: cutting a node's power
and always restoring it, and reading the cluster's state while it recovers. They run only on a live lab
(never from evidence); their verdicts and measurements are stored in the evidence so that grading later
needs no lab.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

from graders import timeline
from graders.checks import FaultOutcome, Verdict
from graders.collect import probe_http
from graders.collectors import ParseError, crm_mon, journal
from graders.collectors.journal import Event
from graders.facts import FactMissing, LabFacts
from halab.errors import HalabError
from halab.lab import Lab
from halab.runtime import faults
from halab.spec.kinds import Kind
from halab.types import Progress

T = TypeVar("T")


def cluster_status(lab: Lab, node: str) -> crm_mon.ClusterStatus | None:
    """Pacemaker's state as ``node`` sees it now; None when it cannot tell."""
    try:
        result = lab.run(node, "crm_mon -1 --output-as=xml", timeout=10)
        return crm_mon.parse(result.stdout)
    except (HalabError, ParseError):
        return None


STALE_FAILURE_S = 60  # a failed action this much older than the fault was there before it (clocks may differ)


def why_not(status: crm_mon.ClusterStatus | None, survivor: str, victim: str, since: float | None = None) -> str:
    """Explain a failover that did not happen, from the survivor's point of view. ``since``: when the fault was
    injected (host clock), to tell a failed action the student left uncleaned from one the fault caused: a
    recorded failure makes Pacemaker recover that resource (stop, start) at its next transition, the failover's
    (a walk-through of notebook 4 lost the drbd failover so: DRBD restarted without its peer cannot be
    promoted)."""
    if status is None or not status.connected:
        return f"Pacemaker on {survivor} does not answer"
    if not status.quorate:
        return (f"{survivor} lost quorum when {victim} died, so Pacemaker stopped everything instead of taking "
                "over (a two-node cluster needs 'two_node: 1' in the quorum section)")
    node = status.nodes.get(victim)
    if node and node.unclean:
        return f"{victim} is still UNCLEAN: the cluster is waiting for fencing to confirm it is off"
    stale = [f for f in status.failures
             if since is not None and status.failed_at.get(f, since) < since - STALE_FAILURE_S]
    if stale:
        return ("failed actions recorded before the fault check began, never cleaned up: " + "; ".join(stale[:2]) +
                ". Pacemaker recovers a failed resource (stops and starts it) at its next transition, here in the "
                "middle of the failover: run crm resource cleanup and make sure crm_mon -1 shows no Failed Resource "
                "Actions before you grade")
    if status.failures:
        return "failed actions: " + "; ".join(status.failures[:2])
    return "the resources did not start on a surviving node"


def with_fault(lab: Lab, node: str, inject: Callable[[], None], wait: Callable[[], T],
               progress: Progress) -> tuple[T, str]:
    """Break the node with ``inject`` (a fault `halab fault LAB restore NODE` undoes), run ``wait``, and always
    restore the node, even if ``wait`` fails or the user presses Ctrl-C: a fault check restores what it
    broke. Returns wait's result and a restore note."""
    try:
        inject()
        result = wait()
    finally:
        progress(f"fault check: restoring {node}")
        restored = restore_and_rejoin(lab, node)
    return result, restored


def power_cut(lab: Lab, node: str, wait: Callable[[], T], progress: Progress) -> tuple[T, str]:
    """Power the node off, run ``wait``, and always power it on again (see with_fault)."""
    return with_fault(lab, node, lambda: faults.power_off(lab, node), wait, progress)


def objective(lab: Lab, setting: str, default: float) -> tuple[float, str]:
    """A lab's time objective as it applies to how the lab runs now, and what it applies to.

    The setting is a number (the same everywhere) or a table by how the nodes run: ``nspawn`` (containers),
    ``kvm`` or ``tcg`` (VMs with or without hardware acceleration), since a TCG guest takes several times as
    long for the same failover as a container."""
    value = lab.spec.settings.get(setting, default)
    state = lab.state()
    containers = state.provider in ("nspawn", "incus")  # the table's "nspawn" is for container nodes
    runs_on = "nspawn" if containers else "kvm" if state.provider_data.get("accel") == "kvm" else "tcg"
    if isinstance(value, dict):
        if runs_on not in value:
            raise HalabError(f"lab '{lab.name}': {setting} has no objective for {runs_on} (it has: "
                             f"{', '.join(value)})")
        value = value[runs_on]
    if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
        raise HalabError(f"lab '{lab.name}': {setting} must be a positive number of seconds, not {value!r}")
    return float(value), f"{state.provider} ({runs_on})" if state.provider != "nspawn" else "nspawn"


def restore_and_rejoin(lab: Lab, node: str) -> str:
    """Undo the node's faults and wait for it to rejoin; returns a note for the feedback if it did not."""
    try:
        faults.restore(lab, node)
    except HalabError as exc:
        return f" Restoring {node} failed: {exc}"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        status = cluster_status(lab, node)
        if status and status.connected and all(n.online for n in status.nodes.values()):
            # Without resource-stickiness Pacemaker may now move resources back (failback): let the
            # transition finish, so the cluster is left as settled as it was found.
            with contextlib.suppress(HalabError):
                lab.run(node, "crm_resource --wait --timeout=60s", timeout=70)
            return ""
        time.sleep(2)
    return f" {node} is back on but has not rejoined the cluster yet."


JOURNAL_SOURCES = ("corosync", "pacemaker-controld", "pacemaker-fenced")  # whose lines tell a failover's story


def clock_offset(lab: Lab, node: str) -> float:
    """How far the node's clock is ahead of the host's (s), from one `date` halfway through its SSH round trip; 0
    when it does not answer. A container shares the host's clock; a VM keeps its own (under TCG it drifts), so its
    journal's times are moved by this before they join the grader's."""
    try:
        before = time.time()
        result = lab.run(node, "date +%s.%N", timeout=10)
        after = time.time()
        return round(float(result.stdout.strip()) - (before + after) / 2, 2) if result.ok else 0.0
    except (HalabError, ValueError):
        return 0.0


def journal_events(lab: Lab, since: float, until: float, nodes: list[str] | None = None,
                   sources: tuple[str, ...] = JOURNAL_SOURCES, own_clocks: bool = False) -> list[Event]:
    """The fault's events in the journals of ``nodes`` (the cluster's members unless told) between two moments
    (host clock), from the logging daemons ``sources``; a node that does not answer (still booting after fencing)
    adds none. ``own_clocks``: the nodes are VMs, whose clocks are measured and their times moved to the host's."""
    tags = " ".join(f"-t {name}" for name in sources)
    events: list[Event] = []
    for node in lab.spec.member_names if nodes is None else nodes:
        ahead = clock_offset(lab, node) if own_clocks else 0.0
        command = (f"journalctl -o json --no-pager --since @{int(since + ahead)} --until @{int(until + ahead) + 1} "
                   f"{tags}")
        try:
            result = lab.run(node, command, timeout=20)
        except HalabError:
            lab.drop_connection(node)
            continue
        events += [Event(e.at - ahead, e.node, e.event) for e in journal.parse(result.stdout, node)]
    return events


def fault_timeline(lab: Lab, fault_at: float, what: str, node: str, samples: list[tuple[float, bool]],
                   nodes: list[str] | None = None, sources: tuple[str, ...] = JOURNAL_SOURCES,
                   meaning: tuple[str, str] = timeline.CLIENT, seen: list[Event] | None = None,
                   own_clocks: bool = False) -> list[dict[str, Any]]:
    """A fault check's timeline: the injection, the journals of ``nodes`` (the members unless told), the grader's
    probe (graders/timeline.py; ``meaning`` words its changes) and what else the grader ``seen`` (a constraint
    found, data read back). ``own_clocks``: the nodes are VMs, whose journals' times are moved to the host's clock."""
    injected = Event(fault_at, timeline.GRADER, f"fault injected: {what} {node}")
    return timeline.build(fault_at, [injected, *journal_events(lab, fault_at - 1, time.time(), nodes, sources,
                                                               own_clocks),
                                     *timeline.probe_events(samples, meaning=meaning), *(seen or [])])


class Probe:
    """The grader's client, sampled while a fault lasts: (time, answered) pairs for the fault's timeline."""

    def __init__(self, lab: Lab) -> None:
        self.url = f"http://{lab.spec.settings['floating_ip']}/"
        self.samples: list[tuple[float, bool]] = []

    def __call__(self) -> bool:
        answered = probe_http(self.url, timeout=1)["status"] == 200
        self.samples.append((time.time(), answered))
        return answered

    def during(self, seconds: float) -> None:
        """Keep sampling for ``seconds``."""
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            self()
            time.sleep(0.5)

    @contextlib.contextmanager
    def background(self, interval: float = 0.5) -> Iterator[Probe]:
        """Sample every ``interval`` seconds in a thread while the block runs: the client's view at its own pace,
        while the check waits on SSH to nodes that may be off (each such question costs its timeout)."""
        stop = threading.Event()

        def sample() -> None:
            while not stop.is_set():
                self()
                stop.wait(interval)

        thread = threading.Thread(target=sample, name="halab-probe", daemon=True)
        thread.start()
        try:
            yield self
        finally:
            stop.set()
            thread.join(timeout=5)


def run_fault(kind: Kind, check_id: str, lab: Lab, facts: LabFacts, passed: dict[str, bool],
              progress: Progress) -> FaultOutcome:
    definition = kind.faults[check_id]
    missing = [c for c in definition.requires if not passed.get(c)]
    if missing:
        return FaultOutcome(Verdict(False, f"not run: these checks must pass first: {', '.join(missing)}"))
    try:
        return definition.function()(lab, facts, progress)
    except (FactMissing, HalabError) as exc:
        return FaultOutcome(Verdict(False, f"the fault check could not complete: {exc}"))
