"""A second, independent solution of the dr lab, to prove that its graders accept any correct configuration:
pcs with pcsd instead of crmsh, Debian's pg_conftool instead of a conf.d file, synchronous replication inside
each site (asynchronous across the WAN), another replication user, pg_hba lines per host, ``pcs booth`` for
booth's configuration (its authfile /etc/booth/booth.key, resources named by pcs), another ticket name and
expiry, no loss-policy (Pacemaker's default on the Promoted role: demote), a comma-separated fence host list and
promotion scores set with pcs.

(loss-policy=stop, its first choice, cannot work: for a site without the ticket Pacemaker's scheduler bans every
instance of the clone, not only the Promoted one, so site B ran no standby and site A's primary never streamed
to it; the rsc-ticket check now says so.)"""

from __future__ import annotations

from graders.dr.sites import Site, arbitrator_address, database, sites, wan_address
from halab.lab import Lab
from solutions.common import must, wait_until
from solutions.dr import PG, PG_CONF, PG_DATA, site_lab, wait_for_replication
from tests.integration.alternatives import pcs_cluster

TICKET, PASSWORD = "dbticket", "repl-secret"
PSQL = "runuser -u postgres -- psql -X -q"


def _partner(site: Site, node: str) -> str:
    return next(n for n in site.nodes if n != node)


def _postgresql(lab: Lab) -> None:
    spec = lab.spec
    db = database(spec)
    nodes = [n for site in sites(spec) for n in site.nodes]
    hosts = ",".join(site.db_ip for site in sites(spec))
    client = spec.with_role("client")[0].name
    for site in sites(spec):
        for node in site.nodes:
            # tcp_user_timeout, not connect_timeout: the WAL receiver connects with libpq's non-blocking calls,
            # which ignore connect_timeout, so a standby whose ARP cache still sends a database IP to the node that
            # held it (which drops the SYNs) sat in SYN-SENT for the kernel's SYN retries, up to ~2 minutes. With
            # this site's synchronous partner as the one stuck, the new primary held every commit meanwhile: RTO
            # 76.8 s of the objective's 90 in a graded run, b2 in SYN-SENT to site A's database IP for a minute
            # after the WAN cut. TCP_USER_TIMEOUT bounds the SYN retries too (5 s).
            conninfo = (f"host={hosts} user=repl password={PASSWORD} application_name={node} "
                        "target_session_attrs=read-write connect_timeout=5 tcp_user_timeout=5000")
            for key, value in (("listen_addresses", "*"), ("wal_keep_size", "512MB"), ("primary_conninfo", conninfo)):
                must(lab, node, f"pg_conftool 15 main set {key} \"{value}\"")
            lines = "".join(f"host replication repl {wan_address(spec, n)}/32 scram-sha-256\\n" for n in nodes)
            lines += f"host {db['name']} {db['user']} {wan_address(spec, client)}/32 scram-sha-256\\n"
            must(lab, node, f"printf '{lines}' >> {PG_CONF}/pg_hba.conf")
    first = nodes[0]
    must(lab, first, "systemctl start postgresql@15-main", timeout=60)
    must(lab, first, f"{PSQL} -c \"CREATE USER repl REPLICATION PASSWORD '{PASSWORD}'\" "
                     f"-c \"CREATE USER {db['user']} PASSWORD '{db['password']}'\"")
    must(lab, first, f"runuser -u postgres -- createdb -O {db['user']} {db['name']}")
    for node in nodes[1:]:
        must(lab, node, f"rm -rf {PG_DATA} && runuser -u postgres -- {PG}/pg_basebackup -D {PG_DATA} -X stream "
                        f"-d 'host={wan_address(spec, first)} user=repl password={PASSWORD}'", timeout=180)
    must(lab, first, "systemctl stop postgresql@15-main", timeout=60)
    # Synchronous inside each site only once the copies exist: before, every commit on the first node would
    # wait for a standby that is not there.
    for site in sites(spec):
        for node in site.nodes:
            must(lab, node, f"pg_conftool 15 main set synchronous_standby_names {_partner(site, node)}")


def _site_resources(lab: Lab, site: Site, standby: bool) -> None:
    first, prefix = site.nodes[0], lab.spec.management_network.subnet.prefixlen
    steps = [
        f"pcs stonith create power-{site.name} fence_halab pcmk_host_list={','.join(site.nodes)}",
        "pcs property set stonith-enabled=true",
        f"pcs resource create pgsql ocf:heartbeat:pgsqlms bindir={PG} pgdata={PG_CONF} datadir={PG_DATA} "
        "pghost=/var/run/postgresql op start timeout=60s op stop timeout=60s op promote timeout=30s "
        "op demote timeout=120s op monitor interval=15s timeout=10s role=Promoted "
        "op monitor interval=16s timeout=10s role=Unpromoted op notify timeout=60s promotable notify=true",
        f"pcs resource create db-vip ocf:heartbeat:IPaddr2 ip={site.db_ip} cidr_netmask={prefix}",
        "pcs constraint colocation add db-vip with Promoted pgsql-clone INFINITY",
        "pcs constraint order promote pgsql-clone then start db-vip symmetrical=false kind=Mandatory",
        "pcs constraint order demote pgsql-clone then stop db-vip symmetrical=false kind=Mandatory",
        f"pcs booth create ip {site.booth_ip}",
        f"pcs constraint ticket add {TICKET} Promoted pgsql-clone id=db-ticket",
    ]
    if standby:
        steps += [f"pcs node attribute {node} master-pgsql=5" for node in site.nodes]
    for step in steps:
        must(lab, first, step, timeout=120)


def dr_with_pcs(lab: Lab) -> None:
    spec = lab.spec
    all_sites = sites(spec)
    for site in all_sites:
        pcs_cluster(site_lab(lab, site))
        must(lab, site.nodes[0], "pcs cluster disable --all")  # PAF's quick start: off at boot
    _postgresql(lab)
    first = all_sites[0].nodes[0]
    site_ips = " ".join(site.booth_ip for site in all_sites)
    must(lab, first, f"pcs booth setup sites {site_ips} arbitrators {arbitrator_address(spec)}")
    # booth refuses a ticket whose retries outlast its renewal (timeout x (retries + 1) < expire / 2).
    # acquire-after: the others wait that long past the expiry, for the cut-off site to have given the ticket up.
    must(lab, first, f"pcs booth ticket add {TICKET} expire=20 acquire-after=5 timeout=2 retries=3")
    conf, key = lab.read_file(first, "/etc/booth/booth.conf"), lab.read_file(first, "/etc/booth/booth.key")
    arbitrator = str(spec.settings.get("arbitrator", "arbitrator"))
    for node in [n for site in all_sites for n in site.nodes if n != first] + [arbitrator]:
        lab.write_file(node, "/etc/booth/booth.conf", conf)
        lab.write_file(node, "/etc/booth/booth.key", key, 0o600)
    must(lab, arbitrator, "systemctl enable --now booth-arbitrator")
    for site in all_sites:
        _site_resources(lab, site, site != all_sites[0])
    wait_until("booth to answer at site A", lambda: lab.run(first, f"booth list -s {all_sites[0].booth_ip}",
                                                             timeout=20).ok, timeout=120, interval=2)
    must(lab, first, f"pcs booth ticket grant {TICKET} {all_sites[0].booth_ip}", timeout=60)
    wait_for_replication(lab, all_sites[0], timeout=300)
