"""What the dr checks read from the recorded facts: a site's own view of the facts, its PostgreSQL clone and
primary, the replication state seen by psql, and booth's. Every reader raises FactMissing with a sentence a
student understands when the fact is not there."""

from __future__ import annotations

from dataclasses import dataclass

from graders.collectors import booth_conf, booth_list, psql
from graders.collectors.cib import Cib, Primitive
from graders.collectors.crm_mon import ClusterStatus, CrmResource
from graders.dr.sites import Site, site_spec, sites
from graders.facts import FactMissing, LabFacts, NodeFacts

PROMOTED = ("Promoted", "Master")
UNPROMOTED = ("Unpromoted", "Slave")


def site_facts(facts: LabFacts, site: Site) -> LabFacts:
    """The facts as one site's cluster sees them: only its nodes are members (graders/dr/sites.py)."""
    return LabFacts(site_spec(facts.spec, site), facts.raw, facts.nodes)


def each_site(facts: LabFacts) -> list[tuple[Site, LabFacts]]:
    return [(site, site_facts(facts, site)) for site in sites(facts.spec)]


@dataclass(frozen=True)
class PgClone:
    """A site's PostgreSQL under PAF: the pgsqlms primitive, its clone, and the clone's instances now."""

    primitive: Primitive
    clone: str
    promotable: bool
    instances: tuple[CrmResource, ...]

    def promoted(self) -> list[str]:
        return [node for r in self.instances if r.role in PROMOTED and r.active for node in r.nodes]

    def unpromoted(self) -> list[str]:
        return [node for r in self.instances if r.role in UNPROMOTED and r.active for node in r.nodes]


def pg_clone(view: LabFacts, site: Site) -> PgClone:
    _, cib = view.cluster_view(lambda node: node.cib())
    found = [p for p in cib.by_agent("pgsqlms") if p.clone]
    if not found:
        plain = cib.by_agent("pgsqlms")
        if plain:
            raise FactMissing(f"{site.title}: {plain[0].id} (pgsqlms) is not a clone: PAF runs as a promotable clone "
                              "with one instance per node")
        raise FactMissing(f"{site.title} has no ocf:heartbeat:pgsqlms resource (PAF)")
    primitive = found[0]
    clone = primitive.clone or ""
    _, status = view.cluster_view(lambda node: node.crm_mon())
    instances = tuple(r for r in status.resources if r.clone == clone or r.id.split(":")[0] == primitive.id)
    meta = cib.resource_meta.get(clone, {})
    promotable = meta.get("promotable", "").lower() in ("true", "1", "yes", "on") or any(
        r.role in PROMOTED + UNPROMOTED for r in instances)
    return PgClone(primitive, clone, promotable, instances)


def site_status(view: LabFacts) -> ClusterStatus:
    return view.cluster_view(lambda node: node.crm_mon())[1]


def site_cib(view: LabFacts) -> Cib:
    return view.cluster_view(lambda node: node.cib())[1]


def psql_rows(node: NodeFacts, key: str) -> list[dict[str, str]]:
    return node.parsed(key, psql.parse, "PostgreSQL does not answer")


def pg_node(node: NodeFacts) -> dict[str, str]:
    """What the node's PostgreSQL says about itself: in_recovery, primary_conninfo, synchronous_standby_names,
    and its WAL receiver's status and sender."""
    rows = psql_rows(node, "pg_node")
    if len(rows) != 1:
        raise FactMissing(f"{node.name}: PostgreSQL's answer about itself has {len(rows)} rows, not one")
    return rows[0]


def primaries(facts: LabFacts) -> dict[str, str]:
    """Every node whose PostgreSQL runs as a primary (not in recovery), by node, with its site's name."""
    found = {}
    for site in sites(facts.spec):
        for name in site.nodes:
            node = facts.nodes[name]
            try:
                if psql.flag(pg_node(node).get("in_recovery")) is False:
                    found[name] = site.name
            except FactMissing:
                continue
    return found


def booth_config(node: NodeFacts) -> booth_conf.BoothConf:
    return node.parsed("booth_conf", booth_conf.parse, "/etc/booth/booth.conf cannot be read")


def booth_tickets(node: NodeFacts) -> booth_list.BoothList:
    return node.parsed("booth_list", booth_list.parse, "booth does not answer")


def the_ticket(facts: LabFacts) -> str:
    """The booth ticket the sites' rsc_ticket constraints name (the student picks its name), or the only ticket
    in booth.conf."""
    for _site, view in each_site(facts):
        try:
            cib = site_cib(view)
        except FactMissing:
            continue
        for constraint in cib.constraints:
            if constraint.kind == "rsc_ticket" and constraint.attributes.get("ticket"):
                return constraint.attributes["ticket"]
    configs, _ = facts.per_node(booth_config, role="arbitrator")
    for conf in configs.values():
        if len(conf.tickets) == 1:
            return next(iter(conf.tickets))
    raise FactMissing("no ticket: neither an rsc_ticket constraint nor a single ticket in booth.conf names one")
