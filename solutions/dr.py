"""Solve the dr lab: two sites, each a two-node Pacemaker cluster with fencing and PostgreSQL under PAF
(ocf:heartbeat:pgsqlms), booth with an arbitrator and one ticket, and asynchronous replication from the site
that holds the ticket to the other. Done with corosync-keygen, systemctl, psql, pg_basebackup, booth and crmsh,
as the notebook teaches (tests/integration/alternatives.py has a second, independent way with pcs).

Replication design: every standby, at both sites, has the same primary_conninfo naming both sites' database IPs
with ``target_session_attrs=read-write``, so it streams from whichever site runs the primary. Each site's PAF
clone may promote only with the ticket (``rsc_ticket`` on the Promoted role), and the database IP follows its
site's primary. A planned switch is a revoke and a grant; after a site loss the other site promotes once booth
hands it the expired ticket.
"""

from __future__ import annotations

import time
from typing import Any, cast

from graders.collect import collect_raw
from graders.dr.sites import Site, arbitrator_address, database, site_spec, sites, wan_address
from graders.grade import evaluate
from halab.lab import Lab
from halab.spec import LabSpec
from halab.types import Progress
from solutions.clustering import corosync_conf, form_cluster, wait_for_cluster
from solutions.common import must, wait_until

PG = "/usr/lib/postgresql/15/bin"
PG_CONF = "/etc/postgresql/15/main"
PG_DATA = "/var/lib/postgresql/15/main"
REPLICATION_PASSWORD = "halab-replication"
TICKET = "ticket-db"
# The ticket moves only once it expired: the site-loss RTO is about this plus the promotion. booth renews at half
# of it and wants its retries done before then (timeout x (retries + 1) < expire / 2).
EXPIRE_S, BOOTH_TIMEOUT_S, BOOTH_RETRIES = 15, 1, 5
# The holder that cannot renew gives the ticket up when its retries run out, which here came 1.6-1.7 s after the
# others had declared it lost; without a wait, site B was granted it 0.5 s before site A revoked it (a graded WAN
# cut, 2026-12-07). booth's manual: acquire-after lets the site that lost the ticket relinquish its resources.
ACQUIRE_AFTER_S = 5


class SiteLab:
    """A lab seen as one site's cluster (graders/dr/sites.py site_spec): the clustering solution's steps, which
    know one cluster per lab, work on it unchanged."""

    def __init__(self, lab: Lab, site: Site) -> None:
        self._lab = lab
        self.spec = site_spec(lab.spec, site)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._lab, name)


def site_lab(lab: Lab, site: Site) -> Lab:
    return cast(Lab, SiteLab(lab, site))


def postgresql_conf(spec: LabSpec, node: str) -> str:
    """conf.d for every site node: listen on the WAN, keep WAL for standbys that fall behind, and stream from
    whichever site's database IP takes writes (the same on every node but for application_name, which PAF
    requires to be the node's name)."""
    hosts = ",".join(site.db_ip for site in sites(spec))
    return (f"listen_addresses = '*'\nwal_keep_size = '256MB'\nwal_log_hints = on\n"
            f"primary_conninfo = 'host={hosts} port=5432 user=replicator password={REPLICATION_PASSWORD} "
            f"application_name={node} target_session_attrs=read-write connect_timeout=2 tcp_user_timeout=5000'\n")


def pg_hba(spec: LabSpec) -> str:
    wan = spec.management_network.subnet
    return (f"\n# halab dr: replication between the sites, and the client\n"
            f"host replication replicator {wan} scram-sha-256\n"
            f"host {database(spec)['name']} {database(spec)['user']} {wan} scram-sha-256\n")


def primary_sql(spec: LabSpec) -> str:
    """What the first node's Debian cluster gets before the others copy it: the replication role, and the
    application's user and database."""
    db = database(spec)
    return (f"pg_ctlcluster 15 main start\n"
            f"runuser -u postgres -- psql -c \"CREATE ROLE replicator WITH REPLICATION LOGIN PASSWORD "
            f"'{REPLICATION_PASSWORD}'\"\n"
            f"runuser -u postgres -- psql -c \"CREATE ROLE {db['user']} LOGIN PASSWORD '{db['password']}'\"\n"
            f"runuser -u postgres -- psql -c \"CREATE DATABASE {db['name']} OWNER {db['user']}\"\n")


def base_backup_command(spec: LabSpec) -> str:
    """Run on every node but the first: its data directory made again as a copy of the first node's."""
    source = wan_address(spec, all_nodes(spec)[0])
    return (f"rm -rf {PG_DATA} && PGPASSWORD={REPLICATION_PASSWORD} runuser -u postgres -- "
            f"{PG}/pg_basebackup -h {source} -U replicator -D {PG_DATA} -X stream -c fast")


def base_backup_commands(spec: LabSpec) -> str:
    first = all_nodes(spec)[0]
    return (f"# on {', '.join(all_nodes(spec)[1:])}:\n{base_backup_command(spec)}\n"
            f"# then on {first}, so that PAF finds a primary that was shut down cleanly:\n"
            "pg_ctlcluster 15 main stop\n")


def all_nodes(spec: LabSpec) -> list[str]:
    return [node for site in sites(spec) for node in site.nodes]


def prepare_postgresql(lab: Lab, progress: Progress) -> None:
    """One primary made from Debian's cluster on the first node of the first site, every other node a base
    backup of it; then the primary is shut down cleanly, so that PAF promotes it at its first start."""
    spec = lab.spec
    nodes = all_nodes(spec)
    for node in nodes:
        lab.write_file(node, f"{PG_CONF}/conf.d/dr.conf", postgresql_conf(spec, node))
        must(lab, node, f"printf '%s' '{pg_hba(spec)}' >> {PG_CONF}/pg_hba.conf")
    progress(f"creating the replication role and the database on {nodes[0]}")
    for line in primary_sql(spec).splitlines():
        must(lab, nodes[0], line, timeout=60)
    for node in nodes[1:]:
        progress(f"{node}: a base backup of {nodes[0]}")
        must(lab, node, base_backup_command(spec), timeout=180)
    must(lab, nodes[0], "pg_ctlcluster 15 main stop", timeout=60)


def booth_conf(spec: LabSpec) -> str:
    site_lines = "".join(f"site = {site.booth_ip}\n" for site in sites(spec))
    return (f"transport = UDP\nport = 9929\narbitrator = {arbitrator_address(spec)}\n{site_lines}"
            f"authfile = /etc/booth/authkey\n\nticket = \"{TICKET}\"\n    expire = {EXPIRE_S}\n"
            f"    acquire-after = {ACQUIRE_AFTER_S}\n    timeout = {BOOTH_TIMEOUT_S}\n    retries = {BOOTH_RETRIES}\n")


def prepare_booth(lab: Lab, progress: Progress) -> None:
    """The same booth.conf and authkey on every site node and the arbitrator; the arbitrator's booth runs
    under systemd (it has no cluster), the sites' under Pacemaker."""
    spec = lab.spec
    arbitrator = str(spec.settings.get("arbitrator", "arbitrator"))
    progress("booth: configuration and authkey everywhere, the arbitrator started")
    must(lab, arbitrator, "booth-keygen")
    key = lab.read_file(arbitrator, "/etc/booth/authkey")
    for node in [n for site in sites(spec) for n in site.nodes] + [arbitrator]:
        lab.write_file(node, "/etc/booth/booth.conf", booth_conf(spec))
        lab.write_file(node, "/etc/booth/authkey", key, 0o600)
    must(lab, arbitrator, "systemctl enable --now booth-arbitrator")


def site_crm(spec: LabSpec, site: Site) -> str:
    """A site's resources: fencing, the PAF clone with its database IP, booth with its own IP, and the ticket
    that the Promoted role needs. The IP stops only after a demotion (PAF's quick start): the other site's
    standbys get the old primary's last WAL (its shutdown checkpoint) through it, so that a planned switch leaves
    the old primary able to follow the new one. (With the order Optional, a planned switch here left site A
    diverged. With it Mandatory, a demotion interrupted by the next transition, as after a WAN cut, leaves the
    IP's stop blocked: the graders' failback then stops that site's cluster the hard way.)"""
    prefix = spec.management_network.subnet.prefixlen
    return f"""\
property stonith-enabled=true
rsc_defaults resource-stickiness=100
primitive fence-{site.name} stonith:fence_halab params pcmk_host_list="{' '.join(site.nodes)}" op monitor interval=60s
primitive pgsqld pgsqlms params bindir={PG} pgdata={PG_CONF} datadir={PG_DATA} pghost=/var/run/postgresql \\
    op start timeout=60s op stop timeout=60s op promote timeout=30s op demote timeout=120s \\
    op monitor interval=15s timeout=10s role=Promoted op monitor interval=16s timeout=10s role=Unpromoted \\
    op notify timeout=60s
clone pgsql-ha pgsqld meta notify=true promotable=true
primitive pgsql-ip IPaddr2 params ip={site.db_ip} cidr_netmask={prefix} op monitor interval=10s
colocation ip-with-primary inf: pgsql-ip pgsql-ha:Promoted
order ip-after-promote Mandatory: pgsql-ha:promote pgsql-ip:start symmetrical=false
order ip-stops-after-demote Mandatory: pgsql-ha:demote pgsql-ip:stop symmetrical=false
primitive booth-ip IPaddr2 params ip={site.booth_ip} cidr_netmask={prefix} op monitor interval=10s
primitive booth-site ocf:pacemaker:booth-site op monitor interval=10s
group g-booth booth-ip booth-site
rsc_ticket db-needs-ticket {TICKET}: pgsql-ha:Promoted loss-policy=demote
"""


def configure_site(lab: Lab, site: Site, standby: bool, progress: Progress) -> None:
    progress(f"{site.title}: fencing, PostgreSQL (PAF), booth and the ticket constraint (crmsh)")
    first = site.nodes[0]
    lab.write_file(first, "/root/dr-site.crm", site_crm(lab.spec, site))
    must(lab, first, "crm configure load update /root/dr-site.crm", timeout=120)
    if standby:
        # PAF sets promotion scores only for the standbys its own primary sees; a site whose instances all stream
        # from the other site has none, and would never promote when it gets the ticket: give each a base score.
        for node in site.nodes:
            must(lab, first, f"crm_attribute --node {node} --name master-pgsqld --lifetime forever --update 1")


SETTLE_S = 90  # how long a built lab may take to become whole after a repair (PAF promotes, standbys reconnect)


def whole(lab: Lab) -> bool:
    """Whether every pure check passes on the live lab (a break's root-cause check included); a lab whose site
    clusters already run is given SETTLE_S to get there (`halab solve` right after a break's documented repair)."""
    built = lab.run(sites(lab.spec)[0].nodes[0], "systemctl is-active --quiet corosync", timeout=20).ok
    deadline = time.monotonic() + (SETTLE_S if built else 0)
    while True:
        report = evaluate(lab.spec, collect_raw(lab), unrun_faults_count=False)
        if all(check.passed for check in report.checks):
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(3)


def solve(lab: Lab, progress: Progress) -> None:
    """Solve the lab from fresh nodes; a lab that is whole already (`halab solve` after a break's documented repair,
    or `halab break` on a solved lab) is left as it is: the steps below make the database and the clusters anew,
    and would fail on ones that exist (a1's CREATE ROLE) after making a new authkey on running clusters."""
    if whole(lab):
        progress("the lab passes every check already: nothing to solve")
        return
    spec = lab.spec
    all_sites = sites(spec)
    for site in all_sites:
        view = site_lab(lab, site)
        progress(f"{site.title}: its own cluster ({site.cluster_name}) on {site.network}")
        form_cluster(view, progress, corosync_conf(view.spec), wait=False)
        # PAF's advice: the cluster stack stays off at boot, so that a node that comes back (fenced, or its site
        # lost) is looked at, and its crashed primary rebuilt, before Pacemaker runs there again.
        for node in site.nodes:
            must(lab, node, "systemctl disable corosync pacemaker")
    # The sites' clusters form while PostgreSQL and booth are prepared (Pacemaker runs no resource yet).
    prepare_postgresql(lab, progress)
    prepare_booth(lab, progress)
    for site in all_sites:
        wait_for_cluster(site_lab(lab, site), len(site.nodes), timeout=240, what=f"{site.title}'s cluster")
    active = all_sites[0]
    for site in all_sites:
        configure_site(lab, site, site != active, progress)
    progress(f"granting {TICKET} to {active.title}")
    # The site's booth answers once Pacemaker has started it behind its IP: until then the grant is refused.
    wait_until(f"booth to answer at {active.title}",
               lambda: lab.run(active.nodes[0], f"booth list -s {active.booth_ip}", timeout=20).ok, timeout=120,
               interval=2)
    must(lab, active.nodes[0], f"booth grant -s {active.booth_ip} {TICKET}", timeout=60)
    wait_for_replication(lab, active, timeout=240)


def wait_for_replication(lab: Lab, active: Site, timeout: float) -> None:
    """The active site's primary takes writes and every other node streams from it."""
    others = [n for site in sites(lab.spec) for n in site.nodes]

    def streaming() -> bool:
        for node in active.nodes:
            result = lab.run(node, "runuser -u postgres -- psql -XAtc \"select application_name from "
                                   "pg_stat_replication where state = 'streaming'\" 2>/dev/null", timeout=20)
            names = set(result.stdout.split())
            if result.ok and names and all(n in names for n in others if n != node):
                return True
        return False

    wait_until(f"{active.title}'s primary to stream to every other node", streaming, timeout=timeout, interval=3)
