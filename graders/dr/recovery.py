"""Putting a dr lab back after a fault check: the DR runbook's planned switch and failback, done by the graders.

- move_ticket: a planned switch, revoke at one site (its primary demotes cleanly, and its shutdown checkpoint
  reaches the other site's standbys) then grant at the other (which promotes its most advanced standby);
- rebuild_site: a site whose instances cannot follow the primary (they hold WAL the primary never received, or
  one crashed as the primary, which PAF refuses to start) is made again from the primary, as PAF's own
  documentation says to: the site's cluster stopped, each data directory a fresh pg_basebackup (the node's own
  postgresql.auto.conf kept), the cluster started again, and PAF starts the copies as standbys;
- failback: the site that came back is rebuilt where it must be, then given the ticket back.
"""

from __future__ import annotations

import contextlib
import shlex

from graders.collectors import ParseError, cib
from graders.dr.live import booth, everyone_streams, primaries, promoted_at, status, streaming_to, wait
from graders.dr.sites import Site, sites
from halab.errors import HalabError
from halab.lab import Lab
from halab.runtime import faults
from halab.types import Progress

AUTO_CONF = "/root/.halab-dr-auto.conf"
MAINTENANCE = "crm_attribute --type crm_config --name maintenance-mode"
# How long a running standby gets to stream from a new primary before it is rebuilt: PostgreSQL retries its
# upstream every wal_retrieve_retry_interval (5 s by default), so one that can follow does so within two tries.
GRACE_S = 15
# How long every node gets to stream again after the ticket went home. A WAL receiver ignores connect_timeout, so
# a standby whose try went to a database IP that drops its packets waits out the kernel's SYN retries (~127 s)
# before its next try, unless primary_conninfo has tcp_user_timeout: slow, but a correct configuration.
STREAM_AGAIN_S = 180


def other_site(lab: Lab, site: Site) -> Site:
    return next(s for s in sites(lab.spec) if s != site)


def move_ticket(lab: Lab, ticket: str, old: Site, new: Site) -> None:
    """Revoke at ``old``, wait for its primary to demote, grant at ``new``."""
    booth(lab, f"revoke -s {old.booth_ip} {shlex.quote(ticket)}")
    if wait(lambda: not promoted_at(lab, old) and not set(primaries(lab)) & set(old.nodes), 120) is None:
        raise HalabError(f"{old.title} still runs a primary 120 s after its ticket was revoked")
    booth(lab, f"grant -s {new.booth_ip} {shlex.quote(ticket)}")
    if wait(lambda: bool(set(primaries(lab)) & set(new.nodes)), 180) is None:
        raise HalabError(f"{new.title} did not promote within 180 s of being granted the ticket")


def pg_params(lab: Lab, node: str) -> dict[str, str]:
    """The pgsqlms parameters (bindir, pgdata, datadir) from the CIB on the node's disk (Pacemaker may be off)."""
    try:
        parsed = cib.parse(lab.run(node, "cat /var/lib/pacemaker/cib/cib.xml", timeout=20).stdout)
    except ParseError as exc:
        raise HalabError(f"{node}: cannot read the CIB: {exc}") from None
    primitive = next((p for p in parsed.by_agent("pgsqlms") if p.clone), None)
    if primitive is None:
        raise HalabError(f"{node}: no pgsqlms clone in its cluster")
    params = {"bindir": "/usr/bin", **primitive.params}
    params.setdefault("datadir", params.get("pgdata", ""))
    return params


def _run(lab: Lab, node: str, command: str, timeout: float) -> None:
    """Run a step of the rebuild on a node that may still be booting: retried for a while, then the last error."""
    last = f"{node} did not answer for 120 s"

    def done() -> bool:
        nonlocal last
        try:
            result = lab.run(node, command, timeout=timeout)
        except HalabError as exc:
            last = f"{node}: {exc}"
            raise
        if not result.ok:
            last = f"{node}: '{command[:60]}...' failed: {(result.stderr or result.stdout).strip()[-300:]}"
            raise HalabError(last)
        return True

    if wait(done, 120, 3) is None:
        raise HalabError(last)


def _stop_site(lab: Lab, site: Site) -> bool:
    """Stop the site's cluster so that its data directories can be made again; True if it put the cluster in
    maintenance mode to do so. In maintenance mode Pacemaker stops no resource on its way down: a stop that is
    blocked (the database IP behind a demotion that a WAN cut interrupted) would hold the shutdown for minutes,
    and stopping it the hard way gets the node fenced by the other, which is still up."""
    running = [n for n in site.nodes if _pacemaker_active(lab, n)]
    if running:
        _run(lab, running[0], f"{MAINTENANCE} --update true", 30)
    for node in site.nodes:
        _run(lab, node, "timeout 60 systemctl stop pacemaker corosync || { pkill -KILL -x pacemakerd; "
                        "pkill -KILL -f '^/usr/lib/pacemaker/pacemaker-'; pkill -KILL -x corosync; "
                        "systemctl stop pacemaker corosync; }", 90)
    return bool(running)


def _stop_postgresql(lab: Lab, node: str, params: dict[str, str]) -> None:
    """Stop whatever PostgreSQL runs on the node's data directory (Pacemaker left it running in maintenance
    mode, or a crashed node has none): pg_ctl finds the server by the postmaster.pid in the data directory."""
    pg_ctl = f"runuser -u postgres -- {shlex.quote(params['bindir'])}/pg_ctl"
    data = shlex.quote(params["datadir"])
    _run(lab, node, f"if {pg_ctl} status -D {data} >/dev/null 2>&1; then {pg_ctl} stop -D {data} -m fast -w -t 30 "
                    f"|| {pg_ctl} stop -D {data} -m immediate -w; fi", 90)


def rebuild_site(lab: Lab, site: Site, progress: Progress) -> list[str]:
    """Make every node of ``site`` a fresh copy of the current primary (see the module docstring)."""
    progress(f"fault check: rebuilding {site.title} from the primary (cluster stopped, pg_basebackup)")
    plans, params = {}, {}
    for node in site.nodes:
        with contextlib.suppress(HalabError):  # a node still off is powered on; its cluster stays off for now
            faults.restore(lab, node, start_daemons=False)
        params[node] = pg_params(lab, node)
        postgres = f"runuser -u postgres -- {shlex.quote(params[node]['bindir'])}"
        found = lab.run(node, f"{postgres}/postgres -C primary_conninfo -D {shlex.quote(params[node]['pgdata'])}",
                        timeout=30)
        if not found.ok or not found.stdout.strip():
            raise HalabError(f"{node}: no primary_conninfo to rebuild from")
        data = shlex.quote(params[node]["datadir"])
        plans[node] = (f"cp -p {data}/postgresql.auto.conf {AUTO_CONF} 2>/dev/null; rm -rf {data} && "
                       f"install -d -m 0700 -o postgres -g postgres {data} && {postgres}/pg_basebackup "
                       f"-d {shlex.quote(found.stdout.strip())} -D {data} -X stream -c fast && "
                       f"if [ -f {AUTO_CONF} ]; then cp -p {AUTO_CONF} {data}/postgresql.auto.conf; fi; "
                       f"rm -f {AUTO_CONF}")
    maintenance = _stop_site(lab, site)
    for node, plan in plans.items():
        _stop_postgresql(lab, node, params[node])
        _run(lab, node, plan, 300)
    for node in site.nodes:
        _run(lab, node, "systemctl start corosync pacemaker", 180)
    if maintenance:
        # The CIB kept maintenance-mode: once the site's cluster has formed again, Pacemaker may manage again,
        # and starts the fresh copies as standbys.
        if wait(lambda: _site_formed(lab, site), 120, 1) is None:
            raise HalabError(f"{site.title}'s cluster did not form again within 120 s (maintenance-mode is still "
                             f"set: {MAINTENANCE} --delete)")
        _run(lab, site.nodes[0], f"{MAINTENANCE} --delete", 30)
    return list(site.nodes)


def _site_formed(lab: Lab, site: Site) -> bool:
    seen = status(lab, site.nodes[0])
    return bool(seen and seen.dc and seen.quorate and all(seen.nodes.get(n) and seen.nodes[n].online
                                                          for n in site.nodes))


def _pacemaker_active(lab: Lab, node: str) -> bool:
    with contextlib.suppress(HalabError):
        return lab.run(node, "systemctl is-active pacemaker", timeout=10).stdout.strip() == "active"
    return False


def _cluster_running(lab: Lab, site: Site) -> bool:
    """Whether Pacemaker runs on any node of the site (a site that came back with its cluster off does not)."""
    return any(_pacemaker_active(lab, node) for node in site.nodes)


def _rebuild_if_behind(lab: Lab, site: Site, progress: Progress) -> list[str]:
    """Rebuild the site when any of its nodes does not stream from the primary within GRACE_S seconds; at once
    when its cluster is off, as nothing starts PostgreSQL there until it runs (and PAF refuses to start a
    primary that crashed)."""
    def caught_up() -> bool:
        found = primaries(lab)
        return len(found) == 1 and set(site.nodes) <= streaming_to(lab, found[0])

    if caught_up() or (_cluster_running(lab, site) and wait(caught_up, GRACE_S, 2) is not None):
        return []
    rebuilt = rebuild_site(lab, site, progress)
    if wait(caught_up, 180, 3) is None:
        raise HalabError(f"{site.title} was rebuilt but does not stream from the primary")
    return rebuilt


def switch_back(lab: Lab, ticket: str, home: Site, progress: Progress) -> str:
    """Give the ticket back to ``home`` if another site holds it, and wait until every node streams again;
    returns a note for the feedback when something could not be put back."""
    try:
        current = next((s for s in sites(lab.spec) if set(primaries(lab)) & set(s.nodes)), None)
        if current is not None and current != home:
            _rebuild_if_behind(lab, home, progress)
            move_ticket(lab, ticket, current, home)
        _rebuild_if_behind(lab, other_site(lab, home), progress)
        if wait(lambda: everyone_streams(lab), STREAM_AGAIN_S, 3) is None:
            return " Restoring: not every node streams from the primary again yet."
        return ""
    except HalabError as exc:
        return f" Restoring the lab failed: {exc}"


def failback(lab: Lab, ticket: str, lost: Site, progress: Progress) -> tuple[str, list[str]]:
    """After ``lost`` came back: rebuild it if it cannot follow the primary, then give it the ticket back.
    Returns a note for the feedback and the nodes rebuilt."""
    try:
        rebuilt = _rebuild_if_behind(lab, lost, progress)
    except HalabError as exc:
        return f" Restoring the lab failed: {exc}", []
    return switch_back(lab, ticket, lost, progress), rebuilt
