"""Checks for booth: the same configuration at both sites and the arbitrator, booth run by each site's cluster
behind the site's own IP, the arbitrator's booth, the ticket granted to exactly one site, the rsc_ticket
constraints that make PostgreSQL's primary depend on it, and a ticket expiry that fits the lab's RTO."""

from __future__ import annotations

from graders.checks import Verdict, fail, ok
from graders.collectors import authkey, booth_peers, crm_ticket
from graders.collectors.cib import Constraint
from graders.dr.checks import CHECKS, _per_site
from graders.dr.facts import (
    PROMOTED,
    booth_config,
    booth_tickets,
    each_site,
    pg_clone,
    site_cib,
    site_status,
    the_ticket,
)
from graders.dr.sites import Site, arbitrator_address, sites
from graders.facts import FactMissing, LabFacts, NodeFacts

BOOTH_DEFAULT_EXPIRE_S = 600  # booth's own default, when booth.conf does not set expire
LOSS_POLICIES = ("demote", "fence")  # on the Promoted role; stop bans the standbys too (rsc_ticket below)


def _booth_nodes(facts: LabFacts) -> list[NodeFacts]:
    return [facts.nodes[n] for site in sites(facts.spec) for n in site.nodes] + facts.each("arbitrator")


@CHECKS.check("booth-config", "The same booth.conf everywhere: both sites, the arbitrator, a ticket",
              "/etc/booth/booth.conf on every site node and on the arbitrator: 'arbitrator = <its WAN address>', "
              "one 'site = ' line per site's booth IP, 'authfile = /etc/booth/authkey' (booth-keygen, copied "
              "everywhere, mode 0600) and a ticket.")
def booth_config_check(facts: LabFacts) -> Verdict:
    confs, problems = {}, []
    for node in _booth_nodes(facts):
        try:
            confs[node.name] = booth_config(node)
        except FactMissing as exc:
            problems.append(str(exc))
    if problems:
        return fail("; ".join(problems))
    first, conf = next(iter(confs.items()))
    differ = [name for name, other in confs.items() if other != conf]
    if differ:
        return fail(f"booth.conf differs between {first} and {', '.join(differ)}: booth members must share one "
                    "configuration (the same sites, in the same order, and the same tickets)")
    wanted_sites = sorted(site.booth_ip for site in sites(facts.spec))
    if sorted(conf.sites) != wanted_sites:
        return fail(f"the sites in booth.conf are {conf.sites or 'none'}; this lab's sites run booth on "
                    f"{', '.join(wanted_sites)} (each site's booth IP)")
    arbitrator = arbitrator_address(facts.spec)
    if conf.arbitrators != [arbitrator]:
        return fail(f"booth.conf names arbitrator {conf.arbitrators or 'none'}, not {arbitrator}: without an "
                    "arbitrator two sites that lose each other have one vote each, and neither may take the ticket",
                    "Add 'arbitrator = " + arbitrator + "' and start booth on the arbitrator.")
    if not conf.tickets:
        return fail("booth.conf defines no ticket")
    if not conf.options.get("authfile"):
        return fail("booth.conf has no authfile: anyone on the WAN could grant or revoke the ticket",
                    "booth-keygen makes /etc/booth/authkey; copy it to every member and set authfile.")
    keys, key_problems = {}, []
    for node in _booth_nodes(facts):
        try:
            keys[node.name] = node.parsed("booth_authkey", authkey.parse, "the booth authfile cannot be read")
        except FactMissing as exc:
            key_problems.append(str(exc))
    if len({k.sha256 for k in keys.values()}) > 1:
        key_problems.append("the authkey differs between members (" + ", ".join(
            f"{n}: {k.sha256[:8]}…" for n, k in keys.items()) + ")")
    key_problems += [f"the authkey is readable by others on {n} (mode 0{k.mode}); booth refuses it" for n, k in
                     keys.items() if not k.mode.endswith("00")]
    if key_problems:
        return fail("; ".join(key_problems))
    return ok(f"identical on {', '.join(confs)}: sites {', '.join(conf.sites)}, arbitrator {arbitrator}, tickets "
              f"{', '.join(conf.tickets)}")


@CHECKS.check("booth-sites", "Each site's cluster runs booth on the site's own IP",
              "At each site: primitive booth-ip IPaddr2 (the site's booth IP) and primitive booth-site "
              "ocf:pacemaker:booth-site, in one group (the IP first).")
def booth_sites(facts: LabFacts) -> Verdict:
    def judge(site: Site, view: LabFacts) -> Verdict:
        cib, status = site_cib(view), site_status(view)
        booth = [p for p in cib.by_agent("booth-site")]
        ip = next((p for p in cib.by_agent("IPaddr2") if p.params.get("ip") == site.booth_ip), None)
        if not booth:
            return fail("no ocf:pacemaker:booth-site resource: the site's booth is not run by its cluster")
        if ip is None:
            return fail(f"no IPaddr2 resource with ip={site.booth_ip} (booth.conf's address for this site)")
        daemon, address = status.resource(booth[0].id), status.resource(ip.id)
        if not (daemon and daemon.active and address and address.active):
            return fail(f"{booth[0].id} and {ip.id} are not both running")
        if daemon.nodes != address.nodes:
            return fail(f"{booth[0].id} runs on {daemon.nodes}, its IP on {address.nodes}: booth finds its own site "
                        "by the address, so they must run together")
        return ok(f"{booth[0].id} with {site.booth_ip} on {daemon.nodes[0]}")
    return _per_site(facts, judge)


@CHECKS.check("arbitrator", "The arbitrator runs booth, starts it at boot, and hears both sites",
              "On the arbitrator: systemctl enable --now booth-arbitrator (the same booth.conf and authkey as the "
              "sites).")
def arbitrator(facts: LabFacts) -> Verdict:
    nodes = facts.each("arbitrator")
    if not nodes:
        return fail("the lab has no arbitrator node")
    node = nodes[0]
    try:
        booth_tickets(node)
    except FactMissing as exc:
        return fail(f"{exc}: without the arbitrator's vote a site that loses the other cannot take the ticket, and "
                    "the ticket never moves after a site is lost")
    enabled = node.output("booth_enabled")["stdout"].split()
    if "enabled" not in enabled:
        return fail(f"booth runs on {node.name} but does not start at boot ({', '.join(enabled) or 'unknown'})")
    peers = node.parsed("booth_peers", booth_peers.parse, "booth does not answer")
    heard = {p.address for p in peers if p.heard and p.authfail == 0}
    missing = [site.title for site in sites(facts.spec) if site.booth_ip not in heard]
    if missing:
        return fail(f"{node.name} hears nothing (or only packets with another authkey) from {', '.join(missing)}")
    return ok(f"booth on {node.name} hears {', '.join(s.title for s in sites(facts.spec))}")


@CHECKS.check("ticket-granted", "The ticket is granted to exactly one site",
              "booth grant -s <site A's booth IP> <ticket>, once; booth list shows the leader.")
def ticket_granted(facts: LabFacts) -> Verdict:
    ticket = the_ticket(facts)
    holders: list[str] = []
    for site, view in each_site(facts):
        _, tickets = view.cluster_view(lambda node: node.parsed("crm_ticket", crm_ticket.parse,
                                                                "crm_ticket cannot read the CIB"))
        found = tickets.get(ticket)
        if found and found.granted and not found.standby:
            holders.append(site.title)
    listed = None
    for node in facts.each("arbitrator") + [facts.nodes[n] for s in sites(facts.spec) for n in s.nodes]:
        try:
            listed = booth_tickets(node)
            break
        except FactMissing:
            continue
    if listed is not None and listed.granted_to_several.get(ticket):
        return fail(f"booth says {ticket} is granted to several sites: {', '.join(listed.granted_to_several[ticket])}")
    if len(holders) != 1:
        return fail(f"{ticket} is granted to {', '.join(holders) or 'no site'} (crm_ticket at each site): exactly one "
                    "site must hold it")
    leader = listed.tickets[ticket].leader if listed and ticket in listed.tickets else "?"
    return ok(f"{ticket} granted to {holders[0]} (booth's leader: {leader})")


@CHECKS.check("rsc-ticket", "At each site the primary depends on the ticket, with a loss policy",
              "rsc_ticket <id> <ticket>: <clone>:Promoted loss-policy=demote, at both sites (crm), or pcs "
              "constraint ticket add <ticket> Promoted <clone> loss-policy=demote.")
def rsc_ticket(facts: LabFacts) -> Verdict:
    def judge(site: Site, view: LabFacts) -> Verdict:
        cib, clone = site_cib(view), pg_clone(view, site)
        found = [c for c in cib.constraints if c.kind == "rsc_ticket"
                 and (c.attributes.get("rsc") == clone.clone or any(clone.clone in s for s in c.sets))]
        if not found:
            return fail(f"no rsc_ticket constraint on {clone.clone}: this site promotes whether or not it holds the "
                        "ticket, so after a cut WAN both sites run a primary")
        constraint = found[0]
        role = constraint.attributes.get("rsc-role", "")
        # Pacemaker's default for a constraint on the Promoted role is demote, for any other stop.
        policy = constraint.attributes.get("loss-policy", "demote" if role in PROMOTED else "stop")
        if role not in PROMOTED:
            return fail(f"{constraint.id} ties all of {clone.clone} to the ticket, not only its Promoted role: the "
                        "site without the ticket stops its standbys too, and has no copy of the data to take over")
        if policy == "stop":
            return fail(f"{constraint.id} has loss-policy=stop: at a site without the ticket Pacemaker then bans every "
                        f"instance of {clone.clone}, not only the Promoted one (its scheduler treats stop as 'stop the "
                        "resource'), so that site keeps no standby and has no copy of the data to take over")
        if policy not in LOSS_POLICIES:
            return fail(f"{constraint.id} has loss-policy={policy}: a site that loses the ticket keeps its primary "
                        "running (freeze), so the other site's primary makes two")
        return ok(f"{constraint.id}: {clone.clone}:{role} needs {constraint.attributes.get('ticket')}, "
                  f"loss-policy={policy}")
    verdict = _per_site(facts, judge)
    tickets = {c.attributes.get("ticket", "") for _, view in each_site(facts) for c in _tickets(view)}
    if verdict.passed and len(tickets) > 1:
        return fail(f"the sites' rsc_ticket constraints name different tickets ({', '.join(sorted(tickets))}): both "
                    "sites must depend on the same one")
    return verdict


def _tickets(view: LabFacts) -> list[Constraint]:
    try:
        return [c for c in site_cib(view).constraints if c.kind == "rsc_ticket"]
    except FactMissing:
        return []


@CHECKS.check("ticket-expiry", "The ticket expires soon enough for the lab's recovery objective",
              "Set 'expire' for the ticket in booth.conf within the lab's range (expire_range_s = "
              "[{expire_range_s}] seconds): after a site is lost, the ticket moves only once it expired.")
def ticket_expiry(facts: LabFacts) -> Verdict:
    ticket = the_ticket(facts)
    nodes = facts.each("arbitrator") or [facts.nodes[sites(facts.spec)[0].nodes[0]]]
    conf = booth_config(nodes[0])
    if ticket not in conf.tickets:
        return fail(f"booth.conf has no ticket {ticket!r} (the one the rsc_ticket constraints name)")
    low, high = facts.spec.settings.get("expire_range_s", [10, 60])
    text = conf.ticket_option(ticket, "expire")
    try:
        expire = float(text) if text is not None else float(BOOTH_DEFAULT_EXPIRE_S)
    except ValueError:
        return fail(f"expire = {text!r} for {ticket} is not a number of seconds")
    if expire > high:
        return fail(f"{ticket} expires after {expire:g} s" + (" (booth's default)" if text is None else "")
                    + f": after a site is lost, the other site waits that long before it may take over; the lab's "
                    f"range is {low}-{high} s")
    if expire < low:
        return fail(f"{ticket} expires after {expire:g} s: so short that a busy WAN or a slow site loses the ticket "
                    f"without a disaster (the lab's range is {low}-{high} s)")
    return ok(f"{ticket} expires after {expire:g} s{_handover(conf.ticket_option(ticket, 'acquire-after'))}")


def _handover(acquire_after: str | None) -> str:
    """A note, not a failure: without acquire-after the handover is a race the wan-cut check may or may not catch
    (the holder revokes when its renewal retries run out, measured 1.6-1.7 s after the others saw the expiry)."""
    try:
        wait = float(acquire_after or 0)
    except ValueError:
        wait = 0.0
    if wait > 0:
        return f", and the other site waits acquire-after = {wait:g} s more before it takes it"
    return (". But it has no acquire-after: the other site may be granted the ticket the moment it has expired, "
            "before the cut-off site has given it up and demoted its primary (measured in this lab: both held it "
            "for 0.5 s); the wan-cut check fails when it catches that (notebook 8, section 8.4)")
