"""The infrastructure kind's break-fix scenarios (issue 24; the contract is graders/scenario.py).

The lab is a Pacemaker cluster too, so the clustering kind's scenarios that break only what both labs share (the
authkey, a leftover ban, a fence device's host list, two_node, the web server's config file) are reused as they
are (the clustering kind's knet-address typo is not: with two links its symptom differs, and this lab's own
version breaks the standby link); the rest break what this lab adds:
the second Corosync link, the link policy, link monitoring, the fence race and the tuned timeouts. Each breaks
the reference solution's cluster (solutions/infrastructure.py: group web of web-ip and web-server with meta
priority=10, fence device fence-lab, priority-fencing-delay=1s, cloned ping-client pinging the client, token
600 ms, passive links with ring0 preferred), and each root-cause check accepts any correct repair (pcs or crm,
any names, ping or ethmonitor, a per-node delay instead of a priority).
"""

from __future__ import annotations

from graders.checks import CheckFunction, Verdict, fail, ok
from graders.clustering import checks as cluster_checks
from graders.clustering import fencing
from graders.clustering.scenarios import (
    CONF,
    RESTART_STACK,
    AuthkeyDiffers,
    FenceHostList,
    LeftoverBan,
    TwoNodeMissing,
    WebConfigParam,
    _wrong_address,
)
from graders.collectors.cib import Cib
from graders.facts import LabFacts
from graders.infrastructure import checks
from graders.infrastructure.monitoring import link_monitoring
from graders.scenario import Run, Scenario, Step, first_failure
from halab.spec import LabSpec

RELOAD = "corosync-cfgtool -R"  # what people run after editing corosync.conf: it reloads timeouts, not links


def _edit_conf(spec: LabSpec, sed: str) -> list[Step]:
    """The same edit of corosync.conf on every node, then a reload (as crm corosync push or pcs would)."""
    return [*(Run(n, f"sed -i '{sed}' {CONF}") for n in spec.member_names), Run(spec.member_names[0], RELOAD)]


def _resource_param(spec: LabSpec, resource: str, name: str, value: str | None, meta: bool = False) -> list[Step]:
    """Set (or, with None, delete) a resource's parameter or meta attribute with crm_resource."""
    what = f"--resource {resource}{' --meta' if meta else ''}"
    change = f"--delete-parameter {name}" if value is None else f"--set-parameter {name} --parameter-value '{value}'"
    return [Run(spec.member_names[0], f"crm_resource {what} {change}")]


class StandbyLinkWrongAddress(Scenario):
    name = "standby-link-wrong-address"
    summary = ("The last node's ring1_addr has a typo on every node, and that node restarted its stack: it joins "
               "over link 0 alone, so the cluster runs on without its second link (redundancy silently lost; the "
               "next cut of ring0 splits the cluster).")
    expected_failures = ("corosync-nodelist", "links-connected")
    settle_seconds = 10.0

    @staticmethod
    def _swap(spec: LabSpec, old: str, new: str) -> list[Step]:
        return [*(Run(n, f"sed -i 's/ring1_addr: {old}$/ring1_addr: {new}/' {CONF}") for n in spec.member_names),
                Run(spec.member_names[-1], RESTART_STACK, 180)]

    def breaks(self, spec: LabSpec) -> list[Step]:
        right, wrong = _wrong_address(spec, 1)
        return self._swap(spec, right, wrong)

    def repairs(self, spec: LabSpec) -> list[Step]:
        right, wrong = _wrong_address(spec, 1)
        return self._swap(spec, wrong, right)

    def root_cause(self, facts: LabFacts) -> Verdict:
        failed = first_failure(facts, cluster_checks.nodelist, cluster_checks.conf_identical, checks.links_connected,
                               cluster_checks.membership)
        return failed or ok("every node's ring1 address is its own, and both links are connected")


class TotemValue(Scenario):
    """A totem key given a wrong value in corosync.conf on every node, and reloaded; the repair puts the right value
    (the reference solution's) back and reloads; the cause is gone when ``lab_check``, the lab's check of that key,
    passes (whatever value it then has)."""

    settle_seconds = 3.0

    def __init__(self, name: str, summary: str, lab_check: CheckFunction, check_id: str, key: str,
                 values: tuple[str, str], repaired: str) -> None:
        self.name, self.summary, self.expected_failures = name, summary, (check_id,)
        self.lab_check, self.key, (self.right, self.wrong), self.repaired = lab_check, key, values, repaired

    def _set(self, spec: LabSpec, value: str) -> list[Step]:
        return _edit_conf(spec, f"s/^\\([[:space:]]*{self.key}:\\).*/\\1 {value}/")

    def breaks(self, spec: LabSpec) -> list[Step]:
        return self._set(spec, self.wrong)

    def repairs(self, spec: LabSpec) -> list[Step]:
        return self._set(spec, self.right)

    def root_cause(self, facts: LabFacts) -> Verdict:
        return first_failure(facts, self.lab_check) or ok(self.repaired)


# The repair puts the file back to what runs (restarting corosync node by node would make active live instead).
LINK_MODE_NOT_LIVE = TotemValue(
    "link-mode-not-live", "link_mode was changed from passive to active in corosync.conf on every node and "
    "`corosync-cfgtool -R` was run, which does not change the link mode: the file says active, knet still runs "
    "passive.", checks.link_policy, "link-policy", "link_mode", ("passive", "active"),
    "the link mode in corosync.conf is the one knet runs")
TOKEN_TOO_HIGH = TotemValue(
    "token-too-high", "token was raised to 5000 ms on every node and reloaded (a cure for false fencing): a dead node "
    "is now noticed after about 11 s, and the tuned failover misses its target.", checks.token_timeouts,
    "token-timeouts", "token", ("600", "5000"), "the running token timeout is lowered again")


class PingWrongHost(Scenario):
    name = "ping-wrong-host"
    summary = ("The ping clone's host_list names the floating IP instead of the client: the node holding the IP "
               "answers its own pings, so losing its lan cable never lowers pingd and the service stays put.")
    expected_failures = ("link-monitoring",)
    settle_seconds = 8.0

    def breaks(self, spec: LabSpec) -> list[Step]:
        return _resource_param(spec, "ping-client", "host_list", str(spec.settings["floating_ip"]))

    def repairs(self, spec: LabSpec) -> list[Step]:
        return _resource_param(spec, "ping-client", "host_list", str(spec.settings["client_address"]))

    # The lab's check refuses a ping of the cluster's own addresses even beside the client's, so the tempting
    # half-repair below hides no symptom the check sees; it hides one only from a check that looks for the client.
    masked_failures = ("link-monitoring",)

    def masks(self, spec: LabSpec) -> list[Step]:
        # Add the client and keep the floating IP: the node holding the IP still counts one answer (its own) when
        # its cable is gone, so pingd never drops to 0 there.
        return _resource_param(spec, "ping-client", "host_list",
                               f"{spec.settings['floating_ip']} {spec.settings['client_address']}")

    def root_cause(self, facts: LabFacts) -> Verdict:
        return first_failure(facts, link_monitoring) or ok("the connectivity monitor watches the client network only")


class PingNotMonitored(Scenario):
    name = "ping-not-monitored"
    summary = ("The ping primitive lost its monitor operation (written without `op monitor`): pingd is set once at "
               "start and never updated, so a lost lan cable never moves the service.")
    expected_failures = ("link-monitoring",)
    settle_seconds = 5.0
    XPATH = "//primitive[@id='ping-client']/operations/op[@name='monitor']"

    def breaks(self, spec: LabSpec) -> list[Step]:
        return [Run(spec.member_names[0], f"cibadmin --delete --xpath \"{self.XPATH}\"")]

    def repairs(self, spec: LabSpec) -> list[Step]:
        op = '<op id="ping-client-monitor-2s" name="monitor" interval="2s" timeout="10s"/>'
        return [Run(spec.member_names[0], f"cibadmin --modify --xml-text "
                                          f"'<primitive id=\"ping-client\"><operations>{op}</operations></primitive>'")]

    def root_cause(self, facts: LabFacts) -> Verdict:
        return first_failure(facts, link_monitoring) or ok("the connectivity monitor runs its monitor again and again")


class FencePriorityLost(Scenario):
    name = "fence-priority-lost"
    summary = ("The web group lost its meta priority (recreated without it): priority-fencing-delay has nothing to "
               "weigh, so when the rings break the node that runs the service can lose the fence race.")
    expected_failures = ("fence-race",)
    settle_seconds = 3.0

    def breaks(self, spec: LabSpec) -> list[Step]:
        return _resource_param(spec, "web", "priority", None, meta=True)

    def repairs(self, spec: LabSpec) -> list[Step]:
        return _resource_param(spec, "web", "priority", "10", meta=True)

    def masks(self, spec: LabSpec) -> list[Step]:
        # A random delay: the lab's check accepts it, but which node wins stays a coin toss.
        return _resource_param(spec, "fence-lab", "pcmk_delay_max", "2s")

    def unmasks(self, spec: LabSpec) -> list[Step]:
        return _resource_param(spec, "fence-lab", "pcmk_delay_max", None)

    def root_cause(self, facts: LabFacts) -> Verdict:
        _, cib = facts.cluster_view(lambda node: node.cib())
        decided = checks.fixed_delays(cib, facts.spec.member_names)
        if not decided:
            return fail("nothing decides a fence race beforehand: no priority-fencing-delay with a resource "
                        "priority, no per-node pcmk_delay_base" + _random_note(cib))
        return ok("; ".join(decided))


def _random_note(cib: Cib) -> str:
    spread = [d.id for d in fencing.devices(cib) if fencing.seconds(d.params.get("pcmk_delay_max")) > 0]
    return f" (a random pcmk_delay_max on {', '.join(spread)} leaves the winner to chance)" if spread else ""


SCENARIOS: list[Scenario] = [AuthkeyDiffers(), LeftoverBan(), FenceHostList(), TwoNodeMissing(), WebConfigParam(),
                             StandbyLinkWrongAddress(), LINK_MODE_NOT_LIVE, PingWrongHost(), PingNotMonitored(),
                             FencePriorityLost(), TOKEN_TOO_HIGH]
