"""The dr kind's live side shared by its collector and fault checks: where the primary runs, the ticket,
booth commands, the graders' own writer on the client, and rebuilding a standby that diverged.

The writer is the graders' client: a loop on the client node that commits one numbered row at a time through
the sites' database IPs (libpq picks the server that takes writes) and logs every commit the server
acknowledged, with its time. The outage a fault causes (RTO) and the acknowledged commits missing afterwards
(RPO) are read from that log and from the table, not from the cluster's own account.
"""

from __future__ import annotations

import contextlib
import shlex
import time
import uuid
from dataclasses import dataclass
from typing import Any

from graders.collectors import ParseError, crm_mon, crm_ticket, psql
from graders.dr.sites import Site, client_conninfo, sites
from halab.errors import HalabError
from halab.lab import Lab

PSQL = "runuser -u postgres -- psql -X --csv -h /var/run/postgresql"
LOG, STOP = "/tmp/halab-dr-writer.log", "/tmp/halab-dr-writer.stop"
# A commit not acknowledged within this is a failed one: a commit in flight when the WAN is cut waits for an answer
# that never comes (TCP retransmits for many minutes), and would stop the writer for as long.
COMMIT_S = 5


def client_node(lab: Lab) -> str:
    return lab.spec.with_role("client")[0].name


def in_recovery(lab: Lab, node: str) -> bool | None:
    """Whether the node's PostgreSQL is a standby (True), a primary (False), or does not answer (None)."""
    try:
        result = lab.run(node, f'{PSQL} -c "select pg_is_in_recovery() as r"', timeout=10)
        return psql.flag(psql.parse(result.stdout)[0]["r"]) if result.ok else None
    except (HalabError, ParseError, IndexError, KeyError):
        return None


def primaries(lab: Lab) -> list[str]:
    return [node for site in sites(lab.spec) for node in site.nodes if in_recovery(lab, node) is False]


def active_site(lab: Lab) -> Site | None:
    found = primaries(lab)
    return next((site for site in sites(lab.spec) if found and found[0] in site.nodes), None)


def status(lab: Lab, node: str) -> crm_mon.ClusterStatus | None:
    try:
        parsed = crm_mon.parse(lab.run(node, "crm_mon -1 --output-as=xml", timeout=10).stdout)
    except (HalabError, ParseError):
        return None
    return parsed if parsed.connected else None


def promoted_at(lab: Lab, site: Site) -> list[str]:
    """The site's nodes Pacemaker has promoted, as any node of the site that answers sees it."""
    for node in site.nodes:
        seen = status(lab, node)
        if seen is not None:
            return sorted({n for r in seen.resources if r.role in ("Promoted", "Master") and r.active
                           and not r.failed and "pgsqlms" in r.agent for n in r.nodes})
    return []


def ticket_granted(lab: Lab, site: Site, ticket: str) -> bool | None:
    """Whether the site's cluster holds the ticket (crm_ticket), None when no node of it answers."""
    for node in site.nodes:
        with contextlib.suppress(HalabError, ParseError):
            result = lab.run(node, "crm_ticket --details", timeout=10)
            if result.ok:
                found = crm_ticket.parse(result.stdout).get(ticket)
                return bool(found and found.granted)
    return None


def booth(lab: Lab, args: str) -> str:
    """Run a booth client command where a booth daemon answers: the arbitrator first, then any site node."""
    errors = []
    nodes = [n.name for n in lab.spec.with_role("arbitrator")] + [n for s in sites(lab.spec) for n in s.nodes]
    for node in nodes:
        try:
            result = lab.run(node, f"booth {args}", timeout=30)
        except HalabError as exc:
            errors.append(f"{node}: {exc}")
            continue
        if result.ok:
            return result.stdout
        errors.append(f"{node}: {(result.stderr or result.stdout).strip()[-200:]}")
    raise HalabError(f"'booth {args}' failed everywhere: {'; '.join(errors[-2:])}")


def wait(condition: Any, seconds: float, interval: float = 1.0) -> float | None:
    """Seconds until ``condition()`` held, or None if it did not within ``seconds``."""
    started = time.monotonic()
    while time.monotonic() - started < seconds:
        with contextlib.suppress(HalabError):
            if condition():
                return round(time.monotonic() - started, 1)
        time.sleep(interval)
    return None


def streaming_to(lab: Lab, primary: str) -> set[str]:
    try:
        result = lab.run(primary, f'{PSQL} -c "select application_name from pg_stat_replication '
                                  f"where state = 'streaming'\"", timeout=10)
        return {row["application_name"] for row in psql.parse(result.stdout)} if result.ok else set()
    except (HalabError, ParseError, KeyError):
        return set()


def everyone_streams(lab: Lab) -> bool:
    found = primaries(lab)
    others = {n for site in sites(lab.spec) for n in site.nodes} - set(found)
    return len(found) == 1 and others <= streaming_to(lab, found[0])


# -- the graders' writer --------------------------------------------------------------------------------
@dataclass
class Commit:
    n: int
    at: float
    server: str


@dataclass
class WriterLog:
    run: str
    commits: list[Commit]
    failures: list[float]

    def samples(self) -> list[tuple[float, bool]]:
        """The writer's attempts as (when, committed), in time order: the client's side of a fault's timeline."""
        return sorted([(c.at, True) for c in self.commits] + [(at, False) for at in self.failures])


class Writer:
    """The graders' writer on the client (see the module docstring); ``with Writer(lab) as writer:`` stops it
    whatever happens."""

    def __init__(self, lab: Lab) -> None:
        self.lab, self.client, self.run = lab, client_node(lab), uuid.uuid4().hex[:8]
        self.conninfo = client_conninfo(lab.spec, timeout=1)

    def sql(self, statement: str, timeout: float = 20) -> list[dict[str, str]]:
        result = self.lab.run(self.client, f"psql {shlex.quote(self.conninfo)} -X -q --csv -c "
                                           f"{shlex.quote(statement)}", timeout=timeout)
        if not result.ok:
            raise HalabError(f"the client cannot write: {(result.stderr or result.stdout).strip()[-200:]}")
        try:
            return psql.parse(result.stdout) if result.stdout.strip() else []
        except ParseError as exc:
            raise HalabError(f"the client's answer cannot be read: {exc}") from None

    def __enter__(self) -> Writer:
        self.sql("create table if not exists halab_dr_writes (run text, n bigint, at timestamptz default now(), "
                 "primary key (run, n))")
        insert = (f"insert into halab_dr_writes (run, n) values ('{self.run}', $n) returning inet_server_addr()")
        loop = (f"rm -f {STOP} {LOG}; n=0; while [ ! -e {STOP} ]; do n=$((n+1)); "
                f"if s=$(timeout {COMMIT_S} psql {shlex.quote(self.conninfo)} -XAtq -c \"{insert}\" 2>/dev/null); "
                f"then echo \"ok $n $(date +%s.%N) $s\" >> {LOG}; else echo \"fail $n $(date +%s.%N)\" >> {LOG}; "
                "sleep 0.1; fi; done")
        self.lab.run(self.client, f"nohup setsid bash -c {shlex.quote(loop)} </dev/null >/dev/null 2>&1 &", timeout=20)
        if wait(lambda: bool(self.log().commits), 20, 0.5) is None:
            self.stop()
            raise HalabError("the graders' writer on the client could not commit anything through the database IPs")
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stop()

    def stop(self) -> None:
        with contextlib.suppress(HalabError):
            self.lab.run(self.client, f"touch {STOP}; sleep 1.5", timeout=20)

    def log(self) -> WriterLog:
        text = self.lab.run(self.client, f"cat {LOG} 2>/dev/null", timeout=20).stdout
        commits, failures = [], []
        for line in text.splitlines():
            parts = line.split()
            with contextlib.suppress(ValueError, IndexError):
                if parts[0] == "ok":
                    commits.append(Commit(int(parts[1]), float(parts[2]), parts[3].split("/")[0]))
                elif parts[0] == "fail":
                    failures.append(float(parts[2]))
        return WriterLog(self.run, commits, failures)

    def stored(self) -> set[int]:
        """The numbers of this run's rows the database has now (asked through the client's connection)."""
        rows = self.sql(f"select n from halab_dr_writes where run = '{self.run}'", timeout=30)
        return {int(row["n"]) for row in rows}

    def now(self) -> float:
        return float(self.lab.run(self.client, "date +%s.%N", timeout=10).stdout.strip())


def outage(log: WriterLog, since: float, servers: set[str]) -> float | None:
    """Seconds from ``since`` to the first commit after it at one of ``servers`` (the RTO a client saw)."""
    after = [c.at for c in log.commits if c.at > since and c.server in servers]
    return round(min(after) - since, 1) if after else None


def lost_commits(log: WriterLog, stored: set[int], old_server: str) -> tuple[list[int], float]:
    """Acknowledged commits that are not in the database now (the RPO), and the seconds of writes they span:
    from the first lost one to the last commit the old site acknowledged."""
    lost = [c for c in log.commits if c.n not in stored]
    if not lost:
        return [], 0.0
    last_old = max((c.at for c in log.commits if c.server == old_server), default=max(c.at for c in lost))
    return [c.n for c in lost], round(max(last_old - min(c.at for c in lost), 0.0), 2)
