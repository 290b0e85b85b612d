"""Checks for the dr lab's sites and database: each site its own fenced two-node cluster, PostgreSQL under PAF
at both, one primary (at the site that holds the ticket), every other node streaming from it, asynchronously
across the WAN, and the client writing through the sites' database IPs. The booth checks are in booth_checks.py.

Each site is judged with the clustering kind's own checks on a view of the facts in which only its nodes are
members (facts.site_facts), so a site is held to exactly what the clustering lab teaches.
"""

from __future__ import annotations

from collections.abc import Callable

from graders.checks import CheckTable, Verdict, fail, ok
from graders.clustering import checks as clustering
from graders.collectors import psql
from graders.dr.facts import PROMOTED, each_site, pg_clone, primaries, psql_rows, site_cib, site_status
from graders.dr.sites import Site, site_of, sites
from graders.facts import FactMissing, LabFacts

CHECKS = CheckTable()
SITE_CLUSTER = (clustering.conf_identical, clustering.cluster_name, clustering.nodelist, clustering.quorum_config,
                clustering.authkey, clustering.services_running, clustering.membership)


def _per_site(facts: LabFacts, judge: Callable[[Site, LabFacts], Verdict]) -> Verdict:
    """One verdict from a judgement of each site: every site's problems, or every site's good news."""
    verdicts = []
    for site, view in each_site(facts):
        try:
            verdicts.append((site, judge(site, view)))
        except FactMissing as exc:
            verdicts.append((site, fail(str(exc))))
    failed = [(site, v) for site, v in verdicts if not v.passed]
    if failed:
        return fail("; ".join(f"{site.title}: {v.feedback}" for site, v in failed),
                    next((v.hint for _, v in failed if v.hint), ""))
    return ok("; ".join(f"{site.title}: {v.feedback}" for site, v in verdicts))


@CHECKS.check("site-clusters", "Each site is its own two-node cluster on its own network, quorate",
              "One corosync.conf per site (cluster_name {cluster_name}-a at site A, {cluster_name}-b at site B), "
              "its two nodes on the site's network with two_node: 1, its own authkey; start corosync and "
              "pacemaker on both nodes of each site.")
def site_clusters(facts: LabFacts) -> Verdict:
    def judge(site: Site, view: LabFacts) -> Verdict:
        for check in SITE_CLUSTER:
            verdict = check(view)
            if not verdict.passed:
                return verdict
        return ok(f"{site.cluster_name}: {', '.join(site.nodes)} online, quorate")

    return _per_site(facts, judge)


@CHECKS.check("postgresql-by-pacemaker", "Only Pacemaker starts PostgreSQL: systemd does not, at boot",
              "Neither postgresql nor postgresql@15-main may be enabled in systemd: a node that boots must not start "
              "a primary behind Pacemaker's back. The lab's nodes come that way (`systemctl is-enabled postgresql "
              "postgresql@15-main` says disabled and enabled-runtime: Debian's generator only ties the cluster to "
              "postgresql.service); `systemctl disable postgresql postgresql@15-main` undoes an enable.")
def postgresql_by_pacemaker(facts: LabFacts) -> Verdict:
    for site, view in each_site(facts):
        pg_clone(view, site)  # no points for leaving systemd alone before Pacemaker runs PostgreSQL at all
    states, problems = facts.per_node(lambda node: node.output("pg_enabled")["stdout"].split())
    for name, words in states.items():
        # "enabled-runtime" is Debian's generator wanting the cluster from postgresql.service: only a unit
        # enabled for good starts at boot.
        if "enabled" in words:
            problems.append(f"systemd starts PostgreSQL at boot on {name}: a site that comes back after a disaster "
                            "would start its old primary, with nothing to stop it taking writes")
    if problems:
        return fail("; ".join(problems))
    return ok("PostgreSQL is not enabled in systemd on " + ", ".join(states))


@CHECKS.check("site-fencing", "Each site fences its own nodes",
              "In each site's cluster: a fence_halab device whose pcmk_host_list names that site's two nodes, and "
              "stonith-enabled=true.")
def site_fencing(facts: LabFacts) -> Verdict:
    def judge(site: Site, view: LabFacts) -> Verdict:
        verdict = clustering.stonith(view)
        if not verdict.passed:
            return verdict
        cib = site_cib(view)
        covered: set[str] = set()
        for device in (p for p in cib.primitives.values() if p.agent.startswith("stonith:")):
            hosts = device.params.get("pcmk_host_list", "") + " " + device.params.get("pcmk_host_map", "")
            covered |= {word.split(":")[0] for word in hosts.replace(";", " ").replace(",", " ").split()}
        missing = [n for n in site.nodes if n not in covered]
        if missing and covered:
            return fail(f"no fence device names {', '.join(missing)} (devices fence: {', '.join(sorted(covered))})",
                        "pcmk_host_list must list the site's own nodes: a device cannot fence a node it does not know.")
        return verdict
    return _per_site(facts, judge)


@CHECKS.check("pgsql-clones", "PostgreSQL runs under PAF at both sites, an instance on every node",
              "At each site: primitive pgsqld ocf:heartbeat:pgsqlms (bindir, pgdata, datadir, pghost) in a "
              "promotable clone with notify=true, started on both nodes.")
def pgsql_clones(facts: LabFacts) -> Verdict:
    def judge(site: Site, view: LabFacts) -> Verdict:
        clone = pg_clone(view, site)
        if not clone.promotable:
            return fail(f"{clone.clone} is not promotable: PAF needs promotable=true, so that one instance can be "
                        "the primary")
        meta = site_cib(view).resource_meta.get(clone.clone, {})
        if meta.get("notify", "").lower() not in ("true", "1", "yes", "on"):
            return fail(f"{clone.clone} has no notify=true: PAF elects the most advanced standby in its notify "
                        "actions and refuses to run without them")
        running = sorted(set(clone.promoted() + clone.unpromoted()))
        missing = [n for n in site.nodes if n not in running]
        if missing:
            failures = site_status(view).failures_of(clone.primitive.id)
            detail = f"; failed actions: {'; '.join(failures[:2])}" if failures else ""
            return fail(f"{clone.clone} does not run on {', '.join(missing)}{detail}")
        return ok(f"{clone.clone} on {', '.join(running)}")
    return _per_site(facts, judge)


@CHECKS.check("one-primary", "Exactly one PostgreSQL primary, at one site, promoted by Pacemaker",
              "Only the site that holds the ticket may promote: rsc_ticket on the clone's Promoted role, and the "
              "ticket granted to one site only.")
def one_primary(facts: LabFacts) -> Verdict:
    promoted: dict[str, list[str]] = {}
    for site, view in each_site(facts):
        try:
            promoted[site.name] = pg_clone(view, site).promoted()
        except FactMissing:
            promoted[site.name] = []
    running = primaries(facts)
    by_pacemaker = [n for nodes in promoted.values() for n in nodes]
    sites_with = sorted({name for name, nodes in promoted.items() if nodes} | set(running.values()))
    if len(sites_with) > 1:
        return fail(f"both sites run a primary ({', '.join(sorted(set(by_pacemaker) | set(running)))}): a split "
                    "site, where clients write at both and the two databases diverge for good",
                    "Each site's clone must depend on the booth ticket (rsc_ticket ... loss-policy=demote), and "
                    "only one site may hold it.")
    if not running:
        return fail("no node runs PostgreSQL as a primary" + (f" (Pacemaker shows {by_pacemaker} Promoted)"
                                                            if by_pacemaker else ""))
    if len(running) > 1:
        return fail(f"{', '.join(sorted(running))} all run as primaries at one site: only one may")
    node = next(iter(running))
    if node not in by_pacemaker:
        return fail(f"{node} runs PostgreSQL as a primary but Pacemaker has not promoted it: started by hand?",
                    "Stop it (pg_ctlcluster 15 main stop) and let PAF start and promote PostgreSQL.")
    return ok(f"{node} (site {running[node].upper()}) is the only primary")


def _primary(facts: LabFacts) -> str:
    found = primaries(facts)
    if len(found) != 1:
        raise FactMissing("needs exactly one primary first (see one-primary)")
    return next(iter(found))


@CHECKS.check("replication", "Every other node streams from the primary",
              "primary_conninfo on every node names both sites' database IPs (target_session_attrs=read-write) "
              "with application_name=<node>; pg_hba.conf allows replication from the WAN.")
def replication(facts: LabFacts) -> Verdict:
    primary = _primary(facts)
    rows = psql_rows(facts.nodes[primary], "pg_replication")
    streaming = {r.get("application_name", ""): r for r in rows if r.get("state") == "streaming"}
    others = [n for site in sites(facts.spec) for n in site.nodes if n != primary]
    missing = [n for n in others if n not in streaming]
    if missing:
        seen = ", ".join(f"{r.get('application_name') or '?'} ({r.get('state')})" for r in rows) or "none"
        return fail(f"{primary}'s pg_stat_replication does not show {', '.join(missing)} streaming (it shows: "
                    f"{seen})", "Look at the standby's log (journalctl, or /var/log/postgresql/): authentication, "
                                "pg_hba.conf, a wrong host, or a standby that diverged and needs rebuilding.")
    return ok(f"{primary} streams to {', '.join(others)}")


@CHECKS.check("async-wan", "Replication across the WAN is asynchronous",
              "Leave the other site's standbys out of synchronous_standby_names: a synchronous standby across the "
              "WAN makes every commit wait for the WAN, and stops all commits when the WAN is cut.")
def async_wan(facts: LabFacts) -> Verdict:
    primary = _primary(facts)
    here = site_of(facts.spec, primary)
    rows = psql_rows(facts.nodes[primary], "pg_replication")
    remote = [r for r in rows if (site_of(facts.spec, r.get("application_name", "")) or here) != here]
    if not remote:
        return fail(f"no standby of the other site streams from {primary}, so nothing crosses the WAN yet")
    sync = [f"{r['application_name']} ({r.get('sync_state')})" for r in remote
            if r.get("sync_state") in ("sync", "quorum", "potential")]
    if sync:
        return fail(f"{primary} replicates synchronously across the WAN to {', '.join(sync)}: every commit waits "
                    "for the other site, and a cut WAN stops all commits")
    local = [r["application_name"] for r in rows if r.get("sync_state") == "sync" and r not in remote]
    return ok("asynchronous to " + ", ".join(r["application_name"] for r in remote)
              + (f"; synchronous inside the site to {', '.join(local)}" if local else ""))


@CHECKS.check("promotion-scores", "The standby site can promote when it gets the ticket",
              "PAF gives promotion scores only to standbys its own primary sees: at the site without the primary, "
              "give each node one (crm_attribute --node b1 --name master-pgsqld --lifetime forever --update 1).")
def promotion_scores(facts: LabFacts) -> Verdict:
    primary = _primary(facts)
    active = site_of(facts.spec, primary)

    def judge(site: Site, view: LabFacts) -> Verdict:
        if site == active:
            return ok("holds the primary")
        clone = pg_clone(view, site)
        attributes = site_cib(view).node_attributes
        name = f"master-{clone.primitive.id}"
        scores = {n: attributes.get(n, {}).get(name) for n in site.nodes}
        usable = [n for n, s in scores.items() if s is not None and s.lstrip("-").isdigit() and int(s) > 0]
        if not usable:
            return fail(f"no node has a positive promotion score ({name}: "
                        + ", ".join(f"{n}={s or 'none'}" for n, s in scores.items())
                        + "): given the ticket, this site would not promote")
        return ok(f"{name} > 0 on {', '.join(usable)}")
    return _per_site(facts, judge)


@CHECKS.check("db-ip", "Each site's database IP follows its primary",
              "At each site: an IPaddr2 for the site's database IP, colocated with the clone's Promoted role "
              "(colocation ... inf: pgsql-ip pgsql-ha:Promoted) and started after the promotion.")
def db_ip(facts: LabFacts) -> Verdict:
    def judge(site: Site, view: LabFacts) -> Verdict:
        cib = site_cib(view)
        primitive = next((p for p in cib.by_agent("IPaddr2") if p.params.get("ip") == site.db_ip), None)
        if primitive is None:
            return fail(f"no IPaddr2 resource with ip={site.db_ip}")
        clone = pg_clone(view, site)
        ip_ids = {primitive.id, primitive.group} - {None}
        tied = any(c.kind == "rsc_colocation" and pair.get("rsc") in ip_ids and pair.get("with-rsc") == clone.clone
                   and pair.get("with-rsc-role", "") in PROMOTED for c in cib.constraints for pair in c.pairs())
        if not tied:
            return fail(f"{primitive.id} is not colocated with the Promoted role of {clone.clone}: clients would "
                        "reach a standby, or no server at all")
        resource = site_status(view).resource(primitive.id)
        holders = list(resource.nodes) if resource and resource.active else []
        if holders != clone.promoted():
            return fail(f"{primitive.id} runs on {holders or 'no node'}, the primary on {clone.promoted() or 'none'}")
        return ok(f"{primitive.id} on {holders[0]}" if holders else f"{primitive.id} stopped with no primary here")
    return _per_site(facts, judge)


@CHECKS.check("client-writes", "The client writes through the sites' database IPs",
              "Allow the client in pg_hba.conf (host {database_name} {database_user} <the WAN's subnet> "
              "scram-sha-256) and give {database_user} its password; the client connects to both sites' database "
              "IPs with target_session_attrs=read-write.")
def client_writes(facts: LabFacts) -> Verdict:
    probe = facts.raw.get("client") if isinstance(facts.raw.get("client"), dict) else None
    if probe is None:
        raise FactMissing("the client's probe was not collected")
    if probe.get("error"):
        return fail(f"from the client: {probe['error']}")
    rows = psql.parse(str(probe.get("stdout", "")))
    if len(rows) != 1 or psql.flag(rows[0].get("in_recovery")) is not False:
        return fail("the client reached no server that takes writes")
    return ok(f"the client writes at {rows[0].get('server', '?')} ({probe.get('conninfo_hosts', '')})")

