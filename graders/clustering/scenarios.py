"""The clustering kind's break-fix scenarios (issue 24; the contract is graders/scenario.py).

Each breaks the reference solution's cluster (solutions/clustering.py: resources web-ip and web-server in group
web, fence device fence-lab) the way it goes wrong in real clusters, and each root-cause check accepts any
correct repair (other resource names, pcs or crm, a device list instead of a host list) and fails the repair
that only hides the symptom: its ``masks`` is that repair, which the integration test applies.
"""

from __future__ import annotations

import ipaddress

from graders.checks import Verdict, fail, ok
from graders.clustering import checks, fencing
from graders.collectors.cib import Cib
from graders.facts import LabFacts
from graders.scenario import Copy, Run, Scenario, Step, Swap, first_failure
from halab.spec import LabSpec

CONF = "/etc/corosync/corosync.conf"
RESTART_STACK = "systemctl restart corosync pacemaker || true"  # may fail to start: that is the symptom


class AuthkeyDiffers(Scenario):
    name = "authkey-differs"
    summary = "The last node got a new /etc/corosync/authkey (corosync-keygen run again there) and was restarted."
    expected_failures = ("authkey", "membership")
    settle_seconds = 10.0

    def breaks(self, spec: LabSpec) -> list[Step]:
        last = spec.member_names[-1]
        return [Run(last, "dd if=/dev/urandom of=/etc/corosync/authkey bs=256 count=1 status=none && "
                          "chmod 0400 /etc/corosync/authkey"), Run(last, RESTART_STACK, 180)]

    def repairs(self, spec: LabSpec) -> list[Step]:
        first, last = spec.member_names[0], spec.member_names[-1]
        return [Copy(first, last, "/etc/corosync/authkey", 0o400), Run(last, RESTART_STACK, 180)]

    def root_cause(self, facts: LabFacts) -> Verdict:
        failed = first_failure(facts, checks.authkey, checks.membership)
        return failed or ok("one key on every node, and every node is a member again")


def _service_resources(cib: Cib, address: str) -> set[str]:
    """The ids that stand for the floating IP and the web server: the primitives, their groups and clones."""
    primitives = [p for p in cib.by_agent("IPaddr2") if p.params.get("ip") == address] + cib.by_agent(*checks.WEB_TYPES)
    return {rid for p in primitives for rid in (p.id, p.group, p.clone) if rid}


NEVER = ("-INFINITY", "-INF")


def bans(cib: Cib, resources: set[str], members: list[str]) -> list[str]:
    """Location constraints that forbid a member to run the service (score -INFINITY, by node or by a #uname
    rule), whatever they are named."""
    found = []
    for constraint in cib.constraints:
        if constraint.kind != "rsc_location":
            continue
        attrs = constraint.attributes
        named = {attrs.get("rsc", "")} | {r for s in constraint.sets for r in s}
        if not named & resources:
            continue
        if attrs.get("node") in members and attrs.get("score", "").upper() in NEVER:
            found.append(constraint.id)
        for rule in constraint.rules:
            if rule.score.upper() in NEVER and any(e.attribute == "#uname" and e.operation == "eq" and
                                                         e.value in members for e in rule.expressions):
                found.append(constraint.id)
    return sorted(set(found))


class LeftoverBan(Scenario):
    """A leftover ban of the lab's service; a kind whose service is another resource (the virtualization lab's
    guest) derives from it and says which (``resource``, ``guarded``) and how to name what is kept off (``off``)."""

    name = "leftover-ban"
    summary = ("`crm_resource --ban` moved the service off its node during maintenance and nobody cleared it: "
               "the next failover has nowhere to go.")
    expected_failures = ("no-leftover-constraints",)
    settle_seconds = 15.0
    off = ("the service off a node", "the service off any node")  # (still kept off: ..., nothing keeps ...)

    def resource(self, spec: LabSpec) -> str:
        return "web"

    def guarded(self, facts: LabFacts, cib: Cib) -> set[str]:
        """The ids a ban of the service may name."""
        return _service_resources(cib, facts.spec.settings["floating_ip"])

    def breaks(self, spec: LabSpec) -> list[Step]:
        # Without --node, crm_resource bans the node the resource runs on now.
        return [Run(spec.member_names[0], f"crm_resource --ban --resource {self.resource(spec)}")]

    def repairs(self, spec: LabSpec) -> list[Step]:
        return [Run(spec.member_names[0], f"crm_resource --clear --resource {self.resource(spec)}")]

    def masks(self, spec: LabSpec) -> list[Step]:
        # The same ban under a name the leftover check does not look for.
        banned = ("cibadmin --query --xpath \"//rsc_location[starts-with(@id,'cli-ban')]\" | "
                  "sed -n 's/.* node=\"\\([^\"]*\\)\".*/\\1/p' | head -n1")
        rsc = self.resource(spec)
        return [Run(spec.member_names[0], f"node=$({banned}) && crm_resource --clear --resource {rsc} && "
                                          f"crm configure location keep-off {rsc} -inf: \"$node\"")]

    def unmasks(self, spec: LabSpec) -> list[Step]:
        return [Run(spec.member_names[0], "crm configure delete keep-off")]

    def root_cause(self, facts: LabFacts) -> Verdict:
        _, cib = facts.cluster_view(lambda node: node.cib())
        pinned = bans(cib, self.guarded(facts, cib), facts.spec.member_names)
        leftovers = [c.id for c in cib.constraints if c.id.startswith(("cli-ban", "cli-prefer"))]
        found = sorted(set(pinned + leftovers))
        if found:
            return fail(f"constraints still keep {self.off[0]}: {', '.join(found)}")
        return ok(f"no constraint keeps {self.off[1]}")


class FenceHostList(Scenario):
    name = "fence-host-list"
    summary = ("The fence device's pcmk_host_list names the last node by its fully qualified name, which is not "
               "the cluster's node name: nothing can fence that node.")
    expected_failures = ("stonith",)
    settle_seconds = 5.0

    @staticmethod
    def _set_hosts(spec: LabSpec, hosts: list[str]) -> list[Step]:
        return [Run(spec.member_names[0], "crm_resource --resource fence-lab --set-parameter pcmk_host_list "
                                          f"--parameter-value '{' '.join(hosts)}'")]

    def breaks(self, spec: LabSpec) -> list[Step]:
        names = spec.member_names
        return self._set_hosts(spec, [*names[:-1], f"{names[-1]}.lab"])

    def repairs(self, spec: LabSpec) -> list[Step]:
        return self._set_hosts(spec, spec.member_names)

    def masks(self, spec: LabSpec) -> list[Step]:
        # Tell the fencer to ignore the host list: every node can be fenced again, the list stays wrong.
        return [Run(spec.member_names[0], "crm_resource --resource fence-lab --set-parameter pcmk_host_check "
                                          "--parameter-value none")]

    def unmasks(self, spec: LabSpec) -> list[Step]:
        return [Run(spec.member_names[0], "crm_resource --resource fence-lab --delete-parameter pcmk_host_check")]

    def root_cause(self, facts: LabFacts) -> Verdict:
        _, cib = facts.cluster_view(lambda node: node.cib())
        members = facts.spec.member_names
        wrong = []
        for device in fencing.devices(cib):
            listed = fencing.split_hosts(device.params.get("pcmk_host_list", ""))
            unknown = [h for h in listed if h not in members]
            if unknown:
                wrong.append(f"{device.id} lists {', '.join(unknown)}, which is not a node of this cluster")
        if wrong:
            return fail("; ".join(wrong))
        return first_failure(facts, checks.stonith) or ok("every fence device names only this cluster's nodes")


class TwoNodeMissing(Scenario):
    name = "two-node-missing"
    summary = ("two_node: 1 was dropped from the quorum section on every node (a config rewritten from a "
               "three-node template): the survivor of a node loss has no quorum and stops the service.")
    expected_failures = ("corosync-quorum",)
    masked_failures = ("corosync-quorum",)  # the masking hides the failed failover, not the file
    settle_seconds = 3.0

    def applies(self, spec: LabSpec) -> bool:
        return len(spec.members) == 2

    def breaks(self, spec: LabSpec) -> list[Step]:
        return [*(Run(n, f"sed -i '/^[[:space:]]*two_node:/d' {CONF}") for n in spec.member_names),
                Run(spec.member_names[0], "corosync-cfgtool -R")]

    def repairs(self, spec: LabSpec) -> list[Step]:
        add = (f"grep -q '^[[:space:]]*two_node:' {CONF} || "
               f"sed -i '/provider: corosync_votequorum/a\\    two_node: 1' {CONF}")
        return [*(Run(n, add) for n in spec.member_names), Run(spec.member_names[0], "corosync-cfgtool -R")]

    def masks(self, spec: LabSpec) -> list[Step]:
        # Resources keep running without quorum: the symptom (a stopped service) is gone, split brain is not.
        return [Run(spec.member_names[0], "crm configure property no-quorum-policy=ignore")]

    def unmasks(self, spec: LabSpec) -> list[Step]:
        return [Run(spec.member_names[0], "crm_attribute --type crm_config --name no-quorum-policy --delete")]

    def root_cause(self, facts: LabFacts) -> Verdict:
        confs, problems = facts.per_node(lambda node: node.corosync_conf())
        missing = [name for name, conf in confs.items() if conf.get("quorum.two_node") != "1"]
        if missing:
            problems.append(f"no two_node: 1 on {', '.join(missing)}")
        if problems:
            return fail("; ".join(problems))
        _, cib = facts.cluster_view(lambda node: node.cib())
        if cib.properties.get("no-quorum-policy") == "ignore":
            return fail("no-quorum-policy=ignore: resources run without quorum")
        return ok("two_node: 1 on every node, and resources stop without quorum")


def _wrong_address(spec: LabSpec, link: int = 0) -> tuple[str, str]:
    """The last member's address on Corosync link ``link``, and a wrong one in the same subnet (a typo'd
    last octet)."""
    network = spec.management_network
    rings = list(spec.settings.get("ring_networks") or [network.name])
    right = ipaddress.IPv4Address(str(spec.members[-1].addresses[rings[link]]))
    subnet = next(n.subnet for n in spec.networks if n.name == rings[link])
    used = {ipaddress.IPv4Address(str(a)) for node in spec.nodes for a in node.addresses.values()}
    wrong = next(a for a in subnet.hosts() if int(a) % 100 == int(right) % 100 and a not in used and a != right)
    return str(right), str(wrong)


class KnetWrongAddress(Swap):
    name = "knet-wrong-address"
    summary = ("The last node's ring0_addr in corosync.conf has a typo on every node, and that node restarted "
               "its stack: its knet link cannot come up, so it stays out of the cluster.")
    expected_failures = ("corosync-nodelist", "membership")
    settle_seconds = 10.0

    def values(self, spec: LabSpec) -> tuple[str, str]:
        return _wrong_address(spec)

    def swap(self, spec: LabSpec, old: str, new: str) -> list[Step]:
        return [*(Run(n, f"sed -i 's/ring0_addr: {old}$/ring0_addr: {new}/' {CONF}") for n in spec.member_names),
                Run(spec.member_names[-1], RESTART_STACK, 180)]

    def root_cause(self, facts: LabFacts) -> Verdict:
        failed = first_failure(facts, checks.nodelist, checks.conf_identical, checks.membership)
        return failed or ok("every node's ring address is its own, and every node is a member")


DEBIAN_APACHE_CONF = "/etc/apache2/apache2.conf"
WRONG_APACHE_CONF = "/etc/apache2/httpd.conf"  # where Red Hat keeps it: a config written from the wrong howto


class WebConfigParam(Scenario):
    name = "web-config-param"
    summary = ("The web server resource's configfile parameter points at Red Hat's httpd.conf path, which does "
               "not exist on Debian: the start fails on every node.")
    expected_failures = ("web-server",)
    settle_seconds = 25.0

    def _configfile(self, spec: LabSpec, path: str) -> list[Step]:
        return [Run(spec.member_names[0], "crm_resource --resource web-server --set-parameter configfile "
                                          f"--parameter-value {path} && crm_resource --cleanup --resource web-server")]

    def breaks(self, spec: LabSpec) -> list[Step]:
        return self._configfile(spec, WRONG_APACHE_CONF)

    def repairs(self, spec: LabSpec) -> list[Step]:
        return [*(Run(n, f"rm -f {WRONG_APACHE_CONF}") for n in spec.member_names),
                *self._configfile(spec, DEBIAN_APACHE_CONF)]

    def masks(self, spec: LabSpec) -> list[Step]:
        # Make the wrong path exist: a second config that drifts from the one the packages maintain.
        return [*(Run(n, f"cp {DEBIAN_APACHE_CONF} {WRONG_APACHE_CONF}") for n in spec.member_names),
                Run(spec.member_names[0], "crm_resource --cleanup --resource web-server")]

    def root_cause(self, facts: LabFacts) -> Verdict:
        _, cib = facts.cluster_view(lambda node: node.cib())
        wrong = [f"{p.id} configfile={p.params['configfile']}" for p in cib.by_agent("apache")
                 if p.params.get("configfile", DEBIAN_APACHE_CONF) != DEBIAN_APACHE_CONF]
        if wrong:
            return fail(f"the web server does not use Debian's Apache configuration ({DEBIAN_APACHE_CONF}): "
                        f"{', '.join(wrong)}")
        return first_failure(facts, checks.web_server) or ok("the web server runs with Debian's configuration")


SCENARIOS: list[Scenario] = [AuthkeyDiffers(), LeftoverBan(), FenceHostList(), TwoNodeMissing(),
                             KnetWrongAddress(), WebConfigParam()]
