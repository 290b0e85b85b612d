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
from graders.dr.live import booth, everyone_streams, primaries, promoted_at, streaming_to, wait
from graders.dr.sites import Site, sites
from halab.errors import HalabError
from halab.lab import Lab
from halab.runtime import faults
from halab.types import Progress

AUTO_CONF = "/root/.halab-dr-auto.conf"


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
    """Run a step of the rebuild on a node that may still be rebooting (a fence in flight): retry a while."""
    def done() -> bool:
        result = lab.run(node, command, timeout=timeout)
        if not result.ok:
            raise HalabError(f"{node}: '{command[:60]}...' failed: {(result.stderr or result.stdout).strip()[-300:]}")
        return True

    if wait(done, 120, 3) is None:
        raise HalabError(f"{node} did not answer for 120 s")


def rebuild_site(lab: Lab, site: Site, progress: Progress) -> list[str]:
    """Make every node of ``site`` a fresh copy of the current primary (see the module docstring)."""
    progress(f"fault check: rebuilding {site.title} from the primary (cluster stopped, pg_basebackup)")
    plans = {}
    for node in site.nodes:
        with contextlib.suppress(HalabError):  # a node still off is powered on by restore() below
            faults.restore(lab, node)
        params = pg_params(lab, node)
        postgres = f"runuser -u postgres -- {shlex.quote(params['bindir'])}"
        found = lab.run(node, f"{postgres}/postgres -C primary_conninfo -D {shlex.quote(params['pgdata'])}",
                        timeout=30)
        if not found.ok or not found.stdout.strip():
            raise HalabError(f"{node}: no primary_conninfo to rebuild from")
        data = shlex.quote(params["datadir"])
        plans[node] = (f"cp -p {data}/postgresql.auto.conf {AUTO_CONF} 2>/dev/null; rm -rf {data} && "
                       f"install -d -m 0700 -o postgres -g postgres {data} && {postgres}/pg_basebackup "
                       f"-d {shlex.quote(found.stdout.strip())} -D {data} -X stream -c fast && "
                       f"if [ -f {AUTO_CONF} ]; then cp -p {AUTO_CONF} {data}/postgresql.auto.conf; fi; "
                       f"rm -f {AUTO_CONF}")
    for node in site.nodes:
        # A cluster that cannot stop (a blocked stop of a resource) is stopped the hard way; PostgreSQL is then
        # stopped by hand, so that no server runs on the data directory that is made again.
        pgdata = shlex.quote(pg_params(lab, node)["pgdata"])
        _run(lab, node, "timeout 90 systemctl stop pacemaker corosync || { pkill -KILL -x pacemakerd; "
                        "pkill -KILL -f '^/usr/lib/pacemaker/pacemaker-'; pkill -KILL -x corosync; "
                        "systemctl stop pacemaker corosync; }; "
                        f"runuser -u postgres -- {shlex.quote(pg_params(lab, node)['bindir'])}/pg_ctl stop "
                        f"-D {pgdata} -m fast >/dev/null 2>&1; true", 180)
    for node, plan in plans.items():
        _run(lab, node, plan, 300)
    for node in site.nodes:
        _run(lab, node, "systemctl start corosync pacemaker", 180)
    return list(site.nodes)


def _rebuild_if_behind(lab: Lab, site: Site, progress: Progress, grace: float) -> list[str]:
    """Rebuild the site when any of its nodes does not stream from the primary within ``grace`` seconds."""
    def caught_up() -> bool:
        found = primaries(lab)
        return len(found) == 1 and set(site.nodes) <= streaming_to(lab, found[0])

    if wait(caught_up, grace, 2) is not None:
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
            _rebuild_if_behind(lab, home, progress, 45)
            move_ticket(lab, ticket, current, home)
        _rebuild_if_behind(lab, other_site(lab, home), progress, 60)
        if wait(lambda: everyone_streams(lab), 120, 3) is None:
            return " Restoring: not every node streams from the primary again yet."
        return ""
    except HalabError as exc:
        return f" Restoring the lab failed: {exc}"


def failback(lab: Lab, ticket: str, lost: Site, progress: Progress) -> tuple[str, list[str]]:
    """After ``lost`` came back: rebuild it if it cannot follow the primary, then give it the ticket back.
    Returns a note for the feedback and the nodes rebuilt."""
    try:
        rebuilt = _rebuild_if_behind(lab, lost, progress, 45)
    except HalabError as exc:
        return f" Restoring the lab failed: {exc}", []
    return switch_back(lab, ticket, lost, progress), rebuilt
