"""The dr kind's break-fix scenarios (issue 24; the contract is graders/scenario.py).

Each breaks the reference solution's lab (solutions/dr.py: booth.conf and /etc/booth/authkey on every site node
and the arbitrator, booth-arbitrator enabled there, the ticket ``ticket-db`` granted to site A, at each site the
promotable clone ``pgsql-ha`` of ``pgsqld`` tied to the ticket by ``db-needs-ticket``, every standby's
primary_conninfo in /etc/postgresql/15/main/conf.d/dr.conf naming both sites' database IPs) the way a two-site
set-up goes wrong in real life: the parts that only matter on the day of the disaster (the arbitrator, the
ticket's constraint at the standby site, the standby site's replication) fail silently while site A keeps
serving. The root-cause checks read what the lab's own checks read (booth.conf and the authkey's hash on every
member, `booth peers` on the arbitrator, the CIBs' constraints and tickets, pg_stat_replication), so any correct
repair passes and the masking repair (``masks``) does not. None of them needs a site rebuilt: site B never
promotes while the lab is broken.
"""

from __future__ import annotations

import ipaddress

from graders.checks import Verdict
from graders.clustering.scenarios import bans
from graders.collectors import crm_ticket
from graders.dr import booth_checks, checks
from graders.dr.facts import booth_config, each_site, site_cib
from graders.dr.sites import Site, sites
from graders.facts import FactMissing, LabFacts
from graders.scenario import Copy, Run, Scenario, Step, Swap, cause_verdict
from halab.spec import LabSpec

# The reference solution's names (solutions/dr.py), which the break and repair steps edit.
TICKET = "ticket-db"
CLONE, PRIMITIVE, TICKET_CONSTRAINT = "pgsql-ha", "pgsqld", "db-needs-ticket"
BOOTH_CONF, BOOTH_KEY = "/etc/booth/booth.conf", "/etc/booth/authkey"
PG_DR_CONF = "/etc/postgresql/15/main/conf.d/dr.conf"
RESTART_ARBITRATOR = "systemctl restart booth-arbitrator"
RELOAD_POSTGRESQL = "runuser -u postgres -- psql -XAtq -c 'select pg_reload_conf()'"


class TwoSites(Scenario):
    """Where to look in this lab when the root cause is not repaired yet."""

    hint = ("Find what changed since the lab worked, site by site: booth (booth list, booth peers on each site and "
            "on the arbitrator, journalctl -u booth-arbitrator, booth.conf and the authfile on every member), the "
            "tickets and constraints in each site's CIB (crm_ticket --details, crm configure show), and "
            "replication (pg_stat_replication on the primary, the standbys' logs); repair that. Hiding the "
            "symptom does not count.")


def arbitrator_node(spec: LabSpec) -> str:
    return str(spec.settings.get("arbitrator", "arbitrator"))


def first_site(spec: LabSpec) -> Site:
    return sites(spec)[0]


def last_site(spec: LabSpec) -> Site:
    return sites(spec)[-1]


def unused_address(spec: LabSpec, right: str) -> str:
    """An address on the WAN next to ``right`` that nothing in the lab uses (a one-digit typo that answers
    nobody)."""
    used = {str(a) for node in spec.nodes for a in node.addresses.values()}
    used |= {ip for site in sites(spec) for ip in (site.booth_ip, site.db_ip)}
    subnet = spec.management_network.subnet
    start = int(ipaddress.IPv4Address(right))
    return next(str(a) for offset in range(1, 50) if (a := ipaddress.IPv4Address(start + offset)) in subnet
                and str(a) not in used)


class BoothAuthkeyDiffers(TwoSites):
    name = "booth-authkey-differs"
    summary = ("booth-keygen was run again on the arbitrator (a rebuilt arbitrator set up from the howto) and its "
               "booth restarted: it drops every packet of the sites as an authentication failure, so it no longer "
               "votes, and losing site A would leave site B without the ticket.")
    expected_failures = ("booth-config", "arbitrator")
    settle_seconds = 5.0

    def breaks(self, spec: LabSpec) -> list[Step]:
        return [Run(arbitrator_node(spec), f"dd if=/dev/urandom of={BOOTH_KEY} bs=64 count=1 status=none && "
                                           f"chmod 0600 {BOOTH_KEY} && {RESTART_ARBITRATOR}")]

    def repairs(self, spec: LabSpec) -> list[Step]:
        arbitrator = arbitrator_node(spec)
        return [Copy(first_site(spec).nodes[0], arbitrator, BOOTH_KEY, 0o600), Run(arbitrator, RESTART_ARBITRATOR)]

    def root_cause(self, facts: LabFacts) -> Verdict:
        return cause_verdict(facts, [], (booth_checks.booth_config_check, booth_checks.arbitrator),
                             "one booth authkey on every member, and the arbitrator hears both sites")


class ArbitratorSiteTypo(TwoSites, Swap):
    name = "arbitrator-site-typo"
    summary = ("The arbitrator's booth.conf names site B's booth address with a typo (edited there by hand and "
               "booth restarted): the arbitrator ignores site B, so the arbitrator and B together can no longer "
               "outvote a lost site A.")
    expected_failures = ("booth-config", "arbitrator")
    settle_seconds = 5.0

    def values(self, spec: LabSpec) -> tuple[str, str]:
        right = last_site(spec).booth_ip
        return right, unused_address(spec, right)

    def swap(self, spec: LabSpec, old: str, new: str) -> list[Step]:
        sed = f"sed -i -E 's/^(site[[:space:]]*=[[:space:]]*){old}[[:space:]]*$/\\1{new}/' {BOOTH_CONF}"
        return [Run(arbitrator_node(spec), f"{sed} && {RESTART_ARBITRATOR}")]

    def root_cause(self, facts: LabFacts) -> Verdict:
        return cause_verdict(facts, [], (booth_checks.booth_config_check, booth_checks.arbitrator),
                             "one booth.conf everywhere, and the arbitrator hears both sites")


class ArbitratorDisabled(TwoSites):
    name = "arbitrator-disabled"
    summary = ("booth on the arbitrator was stopped and disabled (a maintenance of that host, never undone): the "
               "sites still hold the ticket between them, but a lost site can no longer be outvoted.")
    expected_failures = ("arbitrator",)
    # Started by hand but not enabled: the vote is back until the arbitrator's next reboot.
    masked_failures = ("arbitrator",)
    settle_seconds = 3.0

    def breaks(self, spec: LabSpec) -> list[Step]:
        return [Run(arbitrator_node(spec), "systemctl disable --now booth-arbitrator")]

    def repairs(self, spec: LabSpec) -> list[Step]:
        return [Run(arbitrator_node(spec), "systemctl enable --now booth-arbitrator")]

    def masks(self, spec: LabSpec) -> list[Step]:
        return [Run(arbitrator_node(spec), "systemctl start booth-arbitrator")]

    def root_cause(self, facts: LabFacts) -> Verdict:
        return cause_verdict(facts, [], (booth_checks.arbitrator,),
                             "booth runs on the arbitrator, starts at boot and hears both sites")


def _tie(spec: LabSpec, ticket: str) -> list[Step]:
    """Site B's rsc_ticket made to name ``ticket`` (as an admin editing it with cibadmin would)."""
    xml = f'<rsc_ticket id="{TICKET_CONSTRAINT}" ticket="{ticket}"/>'
    return [Run(last_site(spec).nodes[0], f"cibadmin --modify --xml-text '{xml}'")]


class TicketConstraintTypo(TwoSites):
    name = "ticket-constraint-typo"
    summary = ("Site B's rsc_ticket names 'ticketdb' instead of booth's ticket-db (typed by hand at that site): "
               "site B can never promote, so a planned switch or the loss of site A leaves no primary anywhere.")
    expected_failures = ("rsc-ticket",)
    settle_seconds = 3.0
    WRONG = "ticketdb"

    def breaks(self, spec: LabSpec) -> list[Step]:
        return _tie(spec, self.WRONG)

    def repairs(self, spec: LabSpec) -> list[Step]:
        return _tie(spec, TICKET)

    def root_cause(self, facts: LabFacts) -> Verdict:
        problems = []
        try:
            members = facts.each("arbitrator") or [facts.nodes[first_site(facts.spec).nodes[0]]]
            conf = booth_config(members[0])
            for site, view in each_site(facts):
                for constraint in (c for c in site_cib(view).constraints if c.kind == "rsc_ticket"):
                    named = constraint.attributes.get("ticket", "")
                    if named not in conf.tickets:
                        problems.append(f"{site.title}'s {constraint.id} names {named!r}, which booth does not know "
                                        f"(booth.conf's tickets: {', '.join(conf.tickets) or 'none'})")
        except FactMissing as exc:
            problems.append(str(exc))
        return cause_verdict(facts, problems, (booth_checks.rsc_ticket,),
                             "both sites' primaries depend on booth's ticket")


class TicketLeftStandby(TwoSites):
    name = "ticket-left-standby"
    summary = ("The ticket was put in standby at site A before a maintenance (crm_ticket --standby, which demotes "
               "the primary without giving the ticket away) and never activated again: site A holds the ticket "
               "and runs no primary, and no site takes writes.")
    expected_failures = ("ticket-granted", "one-primary", "client-writes")
    settle_seconds = 10.0

    def breaks(self, spec: LabSpec) -> list[Step]:
        return [Run(first_site(spec).nodes[0], f"crm_ticket --ticket {TICKET} --standby")]

    def repairs(self, spec: LabSpec) -> list[Step]:
        return [Run(first_site(spec).nodes[0], f"crm_ticket --ticket {TICKET} --activate")]

    def root_cause(self, facts: LabFacts) -> Verdict:
        problems = []
        for site, view in each_site(facts):
            try:
                _, tickets = view.cluster_view(lambda node: node.parsed("crm_ticket", crm_ticket.parse,
                                                                        "crm_ticket cannot read the CIB"))
            except FactMissing as exc:
                problems.append(str(exc))
                continue
            problems += [f"{site.title} holds {name} in standby (crm_ticket --details): Pacemaker treats it as lost "
                         "and runs no primary there" for name, ticket in tickets.items() if ticket.granted
                         and ticket.standby]
        return cause_verdict(facts, problems, (booth_checks.ticket_granted, checks.one_primary, checks.client_writes),
                             "one site holds the ticket, active, and runs the only primary")


def _conninfo_hosts(spec: LabSpec) -> str:
    return ",".join(site.db_ip for site in sites(spec))


class ConninfoWrongHost(TwoSites, Swap):
    name = "conninfo-wrong-host"
    summary = ("b2's primary_conninfo names site A's database IP with a typo (its dr.conf edited by hand and "
               "reloaded): b2 finds no primary, stops streaming and falls behind, and site B has one copy of "
               "the data fewer.")
    expected_failures = ("replication",)
    settle_seconds = 8.0

    def values(self, spec: LabSpec) -> tuple[str, str]:
        right = first_site(spec).db_ip
        wrong = unused_address(spec, right)
        return _conninfo_hosts(spec), _conninfo_hosts(spec).replace(right, wrong, 1)

    def swap(self, spec: LabSpec, old: str, new: str) -> list[Step]:
        return [Run(last_site(spec).nodes[-1], f"sed -i 's/host={old} /host={new} /' {PG_DR_CONF} && "
                                               f"{RELOAD_POSTGRESQL}")]

    def root_cause(self, facts: LabFacts) -> Verdict:
        return cause_verdict(facts, [], (checks.replication,), "every standby streams from the primary again")


def _ban_node(spec: LabSpec) -> str:
    return last_site(spec).nodes[-1]


class LeftoverBan(TwoSites):
    name = "leftover-ban"
    summary = ("`crm resource ban pgsql-ha b2` kept PostgreSQL off b2 during a maintenance of that node and was "
               "never cleared: b2 runs no standby, so site B has one copy of the data fewer.")
    expected_failures = ("pgsql-clones", "replication")
    settle_seconds = 10.0

    def breaks(self, spec: LabSpec) -> list[Step]:
        return [Run(last_site(spec).nodes[0], f"crm_resource --ban --resource {CLONE} --node {_ban_node(spec)}")]

    def repairs(self, spec: LabSpec) -> list[Step]:
        return [Run(last_site(spec).nodes[0], f"crm_resource --clear --resource {CLONE}")]

    def masks(self, spec: LabSpec) -> list[Step]:
        # The ban narrowed to the Promoted role under a name of its own: the standby runs again, but the node can
        # never become the primary (a site that loses its other node then cannot take over).
        node = _ban_node(spec)
        xml = (f'<rsc_location id="keep-{node}-unpromoted" rsc="{CLONE}" role="Master" node="{node}" '
               'score="-INFINITY"/>')
        return [Run(last_site(spec).nodes[0], f"crm_resource --clear --resource {CLONE} && "
                                              f"cibadmin --create --scope constraints --xml-text '{xml}'")]

    def unmasks(self, spec: LabSpec) -> list[Step]:
        node = _ban_node(spec)
        xml = f'<rsc_location id="keep-{node}-unpromoted"/>'
        return [Run(last_site(spec).nodes[0], f"cibadmin --delete --xml-text '{xml}'")]

    def root_cause(self, facts: LabFacts) -> Verdict:
        problems = []
        for site, view in each_site(facts):
            try:
                cib = site_cib(view)
            except FactMissing as exc:
                problems.append(str(exc))
                continue
            pinned = bans(cib, {CLONE, PRIMITIVE}, list(site.nodes))
            leftovers = [c.id for c in cib.constraints if c.id.startswith(("cli-ban", "cli-prefer"))]
            found = sorted(set(pinned + leftovers))
            if found:
                problems.append(f"{site.title}: constraints still keep PostgreSQL (or its primary) off a node: "
                                f"{', '.join(found)}")
        return cause_verdict(facts, problems, (checks.pgsql_clones, checks.replication),
                             "no constraint keeps PostgreSQL off any node, and every standby streams")


SCENARIOS: list[Scenario] = [BoothAuthkeyDiffers(), ArbitratorSiteTypo(), ArbitratorDisabled(), TicketConstraintTypo(),
                             TicketLeftStandby(), ConninfoWrongHost(), LeftoverBan()]
