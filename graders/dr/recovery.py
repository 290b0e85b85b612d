"""Putting a dr lab back after a fault check: the DR runbook's planned switch and failback, done by the graders.

- move_ticket: a planned switch, revoke at one site (its primary demotes cleanly, and its shutdown checkpoint
  reaches the other site's standbys) then grant at the other (which promotes its most advanced standby);
- rebuild: a standby that cannot follow the new primary (it holds WAL the new primary never received, or it
  crashed as the primary and PAF refuses to start it) is made again from the new primary with pg_basebackup,
  with Pacemaker kept off it meanwhile by a ban on its node;
- failback: the site that came back is rebuilt where it must be, then given the ticket back.
"""

from __future__ import annotations

import contextlib
import shlex

from graders.collectors import ParseError, cib
from graders.dr.live import booth, everyone_streams, primaries, promoted_at, streaming_to, wait
from graders.dr.sites import Site, sites
from graders.faults import Progress
from halab.errors import HalabError
from halab.lab import Lab


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


def _pg_resource(lab: Lab, node: str) -> tuple[str, dict[str, str]]:
    """The node's PAF clone id and the pgsqlms parameters (bindir, pgdata, datadir) from its cluster's CIB."""
    try:
        parsed = cib.parse(lab.run(node, "cibadmin --query --local", timeout=20).stdout)
    except ParseError as exc:
        raise HalabError(f"{node}: cannot read the CIB: {exc}") from None
    primitive = next((p for p in parsed.by_agent("pgsqlms") if p.clone), None)
    if primitive is None or primitive.clone is None:
        raise HalabError(f"{node}: no pgsqlms clone in its cluster")
    params = {"bindir": "/usr/bin", **primitive.params}
    params.setdefault("datadir", params.get("pgdata", ""))
    return primitive.clone, params


def rebuild(lab: Lab, node: str, progress: Progress) -> None:
    """Make the node's PostgreSQL again as a base backup of the current primary (see the module docstring)."""
    clone, params = _pg_resource(lab, node)
    bindir, pgdata, datadir = params["bindir"], params.get("pgdata", ""), params["datadir"]
    postgres = f"runuser -u postgres -- {shlex.quote(bindir)}"
    conninfo = lab.run(node, f"{postgres}/postgres -C primary_conninfo -D {shlex.quote(pgdata)}", timeout=30)
    if not conninfo.ok or not conninfo.stdout.strip():
        raise HalabError(f"{node}: no primary_conninfo to rebuild from")
    progress(f"fault check: rebuilding {node} from the new primary (pg_basebackup)")
    lab.run(node, f"crm_resource --ban --resource {shlex.quote(clone)} --node {node} --force", timeout=30)
    try:
        status = f"{postgres}/pg_ctl status -D {shlex.quote(pgdata)} >/dev/null"
        if wait(lambda: lab.run(node, status, timeout=20).exit_status == 3, 90, 2) is None:
            raise HalabError(f"{node}: PostgreSQL did not stop")
        data, saved = shlex.quote(datadir), "/root/.halab-dr-auto.conf"
        script = (f"cp -p {data}/postgresql.auto.conf {saved} 2>/dev/null; rm -rf {data} && "
                  f"install -d -m 0700 -o postgres -g postgres {data} && "
                  f"{postgres}/pg_basebackup -d {shlex.quote(conninfo.stdout.strip())} -D {data} -X stream -c fast"
                  f" && if [ -f {saved} ]; then cp -p {saved} {data}/postgresql.auto.conf; rm -f {saved}; fi")
        result = lab.run(node, script, timeout=300)
        if not result.ok:
            raise HalabError(f"{node}: pg_basebackup failed: {(result.stderr or result.stdout).strip()[-300:]}")
    finally:
        lab.run(node, f"crm_resource --clear --resource {shlex.quote(clone)} --node {node}; "
                      f"crm_resource --cleanup --resource {shlex.quote(clone)} --node {node}", timeout=60)


def _rebuild_stragglers(lab: Lab, site: Site, progress: Progress, grace: float) -> list[str]:
    """Rebuild the site's nodes that do not stream from the primary within ``grace`` seconds."""
    def caught_up() -> bool:
        found = primaries(lab)
        return len(found) == 1 and set(site.nodes) <= streaming_to(lab, found[0])

    if wait(caught_up, grace, 2) is not None:
        return []
    found = primaries(lab)
    behind = [n for n in site.nodes if n not in (streaming_to(lab, found[0]) if len(found) == 1 else set())]
    for node in behind:
        rebuild(lab, node, progress)
    return behind


def switch_back(lab: Lab, ticket: str, home: Site, progress: Progress) -> str:
    """Give the ticket back to ``home`` if another site holds it, and wait until every node streams again;
    returns a note for the feedback when something could not be put back."""
    try:
        current = next((s for s in sites(lab.spec) if set(primaries(lab)) & set(s.nodes)), None)
        if current is not None and current != home:
            _rebuild_stragglers(lab, home, progress, 45)
            move_ticket(lab, ticket, current, home)
        _rebuild_stragglers(lab, other_site(lab, home), progress, 60)
        if wait(lambda: everyone_streams(lab), 120, 3) is None:
            return " Restoring: not every node streams from the primary again yet."
        return ""
    except HalabError as exc:
        return f" Restoring the lab failed: {exc}"


def failback(lab: Lab, ticket: str, lost: Site, progress: Progress) -> tuple[str, list[str]]:
    """After ``lost`` came back: rebuild its nodes that cannot follow the new primary, then give it the ticket
    back. Returns a note for the feedback and the nodes rebuilt."""
    rebuilt: list[str] = []
    with contextlib.suppress(HalabError):
        for node in lost.nodes:
            lab.drop_connection(node)
    try:
        rebuilt = _rebuild_stragglers(lab, lost, progress, 60)
    except HalabError as exc:
        return f" Restoring the lab failed: {exc}", rebuilt
    return switch_back(lab, ticket, lost, progress), rebuilt
