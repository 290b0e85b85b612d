"""The load-balancing kind's fault checks: break one part of the live lab, measure what visitors see from the
client, and always restore it (``finally``). Also the faults `halab fault loadbalancing ...` can inject.

The power-loss check also watches the master come back; the return check uses that observation when it was made
in the same grading run (one power cycle, not two), and makes its own power cycle otherwise.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from graders.checks import FaultOutcome, Verdict
from graders.collectors.journal import KEEPALIVED_SOURCES
from graders.facts import LabFacts
from graders.faults import fault_timeline
from graders.loadbalancing import live
from halab.errors import HalabError
from halab.lab import Lab
from halab.runtime import faults
from halab.types import Progress

PAUSE = 0.2  # between two requests while measuring


def _objective(lab: Lab, setting: str) -> float:
    return float(lab.spec.settings[setting])


Samples = list[tuple[float, bool]]  # (when, answered): the client's side of a timeline (graders/timeline.py)


def _timeline(lab: Lab, fault_at: float, what: str, node: str, samples: Samples) -> list[dict[str, Any]]:
    """The fault, keepalived's state changes and HAProxy's view of its servers on the balancers, and the client's
    requests failing and answered again."""
    return fault_timeline(lab, fault_at, what, node, samples, live.balancers(lab), KEEPALIVED_SOURCES)


def web_server_failure(lab: Lab, facts: LabFacts, progress: Progress) -> FaultOutcome:
    """Stop Apache on the web server that holds a session: the session's next requests must go to the other
    server, and none may fail once HAProxy's health check has noticed."""
    rto = _objective(lab, "web_recovery_time_objective_s")
    lab.run(lab.spec.with_role("client")[0].name, f"rm -f {live.SESSION_JAR}")
    opening = [live.request(lab, live.SESSION_JAR) for _ in range(2)]
    if not all(r.ok for r in opening) or opening[0].server != opening[1].server:
        return FaultOutcome(Verdict(False, "not run: a session does not stay on one web server ("
                                    + ", ".join(r.describe() for r in opening) + ")"))
    victim = opening[0].server
    survivor = live.other(live.web_servers(lab), victim)
    balancer = (live.holders(lab) or live.balancers(lab))[0]
    progress(f"fault check: stopping Apache on {victim}, which holds a session")
    started, fault_at = time.monotonic(), time.time()  # the clock runs from the moment the fault begins
    live.must(lab, victim, "systemctl stop apache2")
    measured: dict[str, Any] = {"web_failover_from": victim, "web_rto_seconds": rto}
    samples: Samples = []
    try:
        failed, moved = 0, None
        while time.monotonic() - started < max(2 * rto, 30):
            reply = live.request(lab, live.SESSION_JAR)
            samples.append((time.time(), reply.ok))
            if reply.ok and reply.server == survivor:
                moved = round(time.monotonic() - started, 1)
                break
            failed += not reply.ok
            time.sleep(PAUSE)
        measured.update(web_failover_seconds=moved, web_failed_requests=failed)
        noticed, after = None, []
        if moved is not None:
            noticed = live.wait_for(lambda: live.server_status(lab, balancer, victim).startswith("DOWN"), 30)
            measured["web_down_noticed_seconds"] = None if noticed is None else round(moved + noticed, 1)
            after = [live.request(lab, live.SESSION_JAR) for _ in range(8)]
    finally:
        progress(f"fault check: starting Apache on {victim} again")
        restored = _start_web(lab, victim, balancer)
        events = _timeline(lab, fault_at, "stopping Apache on", victim, samples)
    if moved is None:
        return FaultOutcome(Verdict(False, f"stopped Apache on {victim}: within {max(2 * rto, 30):g} s no request "
                                    f"of its session was answered by {survivor} ({failed} failed).{restored}"),
                            measured, events)
    wrong = [r.describe() for r in after if not (r.ok and r.server == survivor)]
    measured["web_failed_after_noticed"] = len(wrong)
    story = (f"stopped Apache on {victim}, which held the session: its requests reached {survivor} after {moved} s "
             f"(objective {rto:g} s), {failed} failed before that")
    if noticed is None:
        return FaultOutcome(Verdict(False, f"{story}; but HAProxy on {balancer} never marked {victim} DOWN: is its "
                                    f"health check on?{restored}"), measured, events)
    story += f"; HAProxy marked {victim} DOWN after {measured['web_down_noticed_seconds']} s"
    if wrong:
        return FaultOutcome(Verdict(False, f"{story}, yet {len(wrong)} of {len(after)} later requests failed or went "
                                    f"elsewhere ({', '.join(wrong[:3])}).{restored}"), measured, events)
    passed = moved <= rto
    return FaultOutcome(Verdict(passed, f"{story}; all {len(after)} requests after that were served by {survivor}."
                                f"{restored}", "" if passed else "Check more often (inter) or fail faster (fall), "
                                "or let HAProxy retry on the other server (option redispatch)."), measured, events)


def _start_web(lab: Lab, web: str, balancer: str) -> str:
    try:
        live.must(lab, web, "systemctl start apache2")
    except HalabError as exc:
        return f" Starting Apache on {web} again failed: {exc}"
    if live.wait_for(lambda: live.server_status(lab, balancer, web) == "UP", 60) is None:
        return f" HAProxy on {balancer} did not see {web} UP again within 60 s."
    return ""


def _takeover(lab: Lab, backup: str, started: float, deadline: float, samples: Samples) -> \
        tuple[float | None, int, int]:
    """Requests through the virtual IP until one is answered while the backup holds it: (seconds, failed, sent);
    each request's outcome goes to ``samples``."""
    failed = sent = 0
    while time.monotonic() - started < deadline:
        reply = live.request(lab)
        samples.append((time.time(), reply.ok))
        sent += 1
        if reply.ok and live.holders(lab, [backup]) == [backup]:
            return round(time.monotonic() - started, 1), failed, sent
        failed += not reply.ok
        time.sleep(PAUSE)
    return None, failed, sent


def _why_no_takeover(lab: Lab, master: str, backup: str, master_alive: bool) -> str:
    parts = []
    for node in ([master] if master_alive else []) + [backup]:
        chosen = live.vrrp_instance(lab, node)
        parts.append(f"{node}: {chosen.name} {chosen.state}, priority {chosen.effective_priority}"
                     + ("" if chosen.preempt else ", nopreempt") if chosen else f"{node}: keepalived does not answer")
    return "; ".join(parts)


def _current_master(lab: Lab) -> tuple[str, str] | None:
    found = live.holders(lab)
    return (found[0], live.other(live.balancers(lab), found[0])) if len(found) == 1 else None


def haproxy_failure(lab: Lab, facts: LabFacts, progress: Progress) -> FaultOutcome:
    """Kill HAProxy on the master for good: keepalived's tracking must move the virtual IP to the backup."""
    rto = _objective(lab, "vip_recovery_time_objective_s")
    pair = _current_master(lab)
    if pair is None:
        return FaultOutcome(Verdict(False, "not run: not exactly one balancer holds the virtual IP"))
    master, backup = pair
    progress(f"fault check: killing HAProxy on {master}, the VRRP master")
    started, fault_at = time.monotonic(), time.time()
    samples: Samples = []
    live.kill_haproxy(lab, master)
    try:
        seconds, failed, sent = _takeover(lab, backup, started, max(2 * rto, 30), samples)
        reason = "" if seconds is not None else _why_no_takeover(lab, master, backup, master_alive=True)
    finally:
        progress(f"fault check: starting HAProxy on {master} again")
        try:
            live.restart_haproxy(lab, master)
            settled, _ = observe_return(lab, master, backup, rto)
            restored = "" if settled.passed else f" After HAProxy's restart: {settled.feedback}."
        except HalabError as exc:
            restored = f" Restarting HAProxy on {master} failed: {exc}"
        events = _timeline(lab, fault_at, "killing HAProxy on", master, samples)
    measured = {"haproxy_kill_from": master, "haproxy_kill_takeover_seconds": seconds,
                "haproxy_kill_failed_requests": failed, "haproxy_kill_requests": sent, "vip_rto_seconds": rto}
    if seconds is None:
        return FaultOutcome(Verdict(False, f"killed HAProxy on {master}: {backup} did not take over "
                                    f"{lab.spec.settings['virtual_ip']} ({reason}).{restored}"), measured, events)
    passed = seconds <= rto
    return FaultOutcome(Verdict(passed, f"killed HAProxy on {master} (it stays dead): {backup} answered on the virtual "
                                f"IP after {seconds} s (objective {rto:g} s); {failed} of {sent} requests failed "
                                f"meanwhile.{restored}", "" if passed else "Track HAProxy more often (interval, fall) "
                                "and keep advert_int at 1 s."), measured, events)


@dataclass
class PowerCycle:
    """One power loss of the master and its return, as seen from the client."""

    master: str
    backup: str
    takeover_seconds: float | None = None
    failed: int = 0
    sent: int = 0
    reason: str = ""
    return_verdict: Verdict | None = None
    measurements: dict[str, Any] = field(default_factory=dict)
    timeline: list[dict[str, Any]] = field(default_factory=list)  # from the power loss to the return


_CYCLES: dict[str, PowerCycle] = {}  # lab name -> the power cycle the return check may reuse


def _ready(lab: Lab, node: str) -> bool:
    """keepalived runs on the node and its instance is out of FAULT (its tracked HAProxy is back)."""
    chosen = live.vrrp_instance(lab, node)
    return chosen is not None and chosen.state in ("BACKUP", "MASTER")


def observe_return(lab: Lab, node: str, peer: str, rto: float) -> tuple[Verdict, dict[str, Any]]:
    """After ``node`` (the master until it failed) is back: does it take the address back (preempt, with the higher
    priority) or leave it on ``peer`` (nopreempt), as its configuration says?"""
    if live.wait_for(lambda: _ready(lab, node), 40, interval=1) is None:
        chosen = live.vrrp_instance(lab, node)
        return Verdict(False, f"{node} is back, but keepalived is not running on it: enable it at boot (systemctl "
                       "enable keepalived)" if chosen is None else f"{node} is back, but its VRRP instance stays "
                       f"{chosen.state} (is HAProxy running there?)"), {}
    mine, theirs = live.vrrp_instance(lab, node), live.vrrp_instance(lab, peer)
    if mine is None or theirs is None:
        return Verdict(False, f"{node} is back, but keepalived on {peer} does not answer"), {}
    measured: dict[str, Any] = {"return_policy": "preempt" if mine.preempt else "nopreempt"}
    delay = float(mine.preempt_delay.split()[0]) if mine.preempt_delay[:1].isdigit() else 0.0
    if mine.preempt and mine.priority > theirs.priority:
        seconds = live.wait_for(lambda: live.holders(lab) == [node] and live.request(lab).ok, rto + delay + 20)
        measured["return_seconds"] = seconds
        if seconds is None:
            return Verdict(False, f"{node} is back with priority {mine.priority} over {theirs.priority} and preempt "
                           f"on, but did not take the address back (now on {', '.join(live.holders(lab)) or 'none'})"
                           ), measured
        return Verdict(True, f"{node} is back and took the address back after {seconds} s, as preempt (the default) "
                       "and its higher priority say"), measured
    time.sleep(4)  # several advert intervals: a node that would preempt has done so by now
    now = live.holders(lab)
    if now != [peer] or not live.request(lab).ok:
        return Verdict(False, f"{node} is back with {measured['return_policy']} and should have left the address on "
                       f"{peer}, but it is now on {', '.join(now) or 'no balancer'}"), measured
    why = "nopreempt" if not mine.preempt else f"its lower priority ({mine.priority} < {theirs.priority})"
    return Verdict(True, f"{node} is back as backup and left the address on {peer}, as {why} says"), measured


def power_cycle(lab: Lab, progress: Progress) -> PowerCycle | None:
    pair = _current_master(lab)
    if pair is None:
        return None
    rto = _objective(lab, "vip_recovery_time_objective_s")
    cycle = PowerCycle(*pair)
    progress(f"fault check: powering off {cycle.master}, the VRRP master")
    started, fault_at = time.monotonic(), time.time()
    samples: Samples = []
    faults.power_off(lab, cycle.master)
    try:
        cycle.takeover_seconds, cycle.failed, cycle.sent = _takeover(lab, cycle.backup, started, max(2 * rto, 30),
                                                                     samples)
        if cycle.takeover_seconds is None:
            cycle.reason = _why_no_takeover(lab, cycle.master, cycle.backup, master_alive=False)
    finally:
        progress(f"fault check: powering {cycle.master} on again")
        faults.restore(lab, cycle.master)
    if cycle.takeover_seconds is not None:
        cycle.return_verdict, returned = observe_return(lab, cycle.master, cycle.backup, rto)
        cycle.measurements.update(returned)
    cycle.measurements.update(power_off_from=cycle.master, power_off_takeover_seconds=cycle.takeover_seconds,
                              power_off_failed_requests=cycle.failed, power_off_requests=cycle.sent)
    restored = live.settle_note(lab)
    cycle.timeline = _timeline(lab, fault_at, "powering off", cycle.master, samples)
    if cycle.return_verdict and restored:
        cycle.return_verdict = Verdict(False, cycle.return_verdict.feedback + restored)
    return cycle


def balancer_power_loss(lab: Lab, facts: LabFacts, progress: Progress) -> FaultOutcome:
    """Power off the VRRP master: the backup must answer on the virtual IP within the objective."""
    rto = _objective(lab, "vip_recovery_time_objective_s")
    _CYCLES.pop(lab.name, None)  # an observation is only ever reused within the grading run that made it
    cycle = power_cycle(lab, progress)
    if cycle is None:
        return FaultOutcome(Verdict(False, "not run: not exactly one balancer holds the virtual IP"))
    _CYCLES[lab.name] = cycle
    measured = {**cycle.measurements, "vip_rto_seconds": rto}
    if cycle.takeover_seconds is None:
        return FaultOutcome(Verdict(False, f"powered off {cycle.master}: {cycle.backup} did not take over the virtual "
                                    f"IP ({cycle.reason})"), measured, cycle.timeline)
    passed = cycle.takeover_seconds <= rto
    return FaultOutcome(Verdict(passed, f"powered off {cycle.master}: {cycle.backup} answered on the virtual IP after "
                                f"{cycle.takeover_seconds} s (objective {rto:g} s); {cycle.failed} of {cycle.sent} "
                                "requests failed meanwhile", "" if passed else "Keep advert_int at 1 s: the backup "
                                "takes over after three missed adverts."), measured, cycle.timeline)


def balancer_return(lab: Lab, facts: LabFacts, progress: Progress) -> FaultOutcome:
    """The master powered on again: it takes the address back or leaves it, as configured (preempt/nopreempt)."""
    cycle = _CYCLES.pop(lab.name, None) or power_cycle(lab, progress)
    if cycle is None:
        return FaultOutcome(Verdict(False, "not run: not exactly one balancer holds the virtual IP"))
    if cycle.return_verdict is None:
        return FaultOutcome(Verdict(False, f"not observed: when {cycle.master} was powered off, {cycle.backup} did not "
                                    "take over the virtual IP"), cycle.measurements, cycle.timeline)
    keys = ("return_policy", "return_seconds")
    return FaultOutcome(cycle.return_verdict, {k: v for k, v in cycle.measurements.items() if k in keys},
                        cycle.timeline)


# ---- faults for `halab fault loadbalancing ...` ----------------------------------------------------------

def stop_web_fault(lab: Lab, node: str) -> str:
    if node not in live.web_servers(lab):
        raise HalabError(f"stop-web stops a web server's Apache; {node} is not a web server")
    live.must(lab, node, "systemctl stop apache2")
    faults.record(lab, node, {"fault": "stop-web"})
    return f"stopped Apache on {node}. Undo: halab fault {lab.base} restore {node}"


def kill_haproxy_fault(lab: Lab, node: str) -> str:
    if node not in live.balancers(lab):
        raise HalabError(f"kill-haproxy kills a balancer's HAProxy; {node} is not a balancer")
    live.kill_haproxy(lab, node)
    faults.record(lab, node, {"fault": "kill-haproxy"})
    return (f"killed HAProxy on {node} (SIGKILL; the unit is masked until you restore it, so systemd does not restart "
            f"it). Undo: halab fault {lab.base} restore {node}")


def start_web_undo(lab: Lab, node: str, _record: dict[str, Any]) -> str:
    """`restore` after stop-web: Apache started again, unless it runs already."""
    if lab.run(node, "systemctl is-active --quiet apache2").ok:
        return f"Apache ran on {node} again already (started since by hand)"
    live.must(lab, node, "systemctl start apache2")
    return f"started Apache on {node}"


def restart_haproxy_undo(lab: Lab, node: str, _record: dict[str, Any]) -> str:
    """`restore` after kill-haproxy: the unit unmasked and HAProxy started, unless that was done already."""
    masked = lab.run(node, "systemctl is-enabled haproxy").stdout.strip().startswith("masked")
    if not masked and lab.run(node, "systemctl is-active --quiet haproxy").ok:
        return f"HAProxy ran on {node} again already (restarted since by hand)"
    live.restart_haproxy(lab, node)
    return f"unmasked and started HAProxy on {node}"
