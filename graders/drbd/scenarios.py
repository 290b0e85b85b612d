"""The drbd kind's break-fix scenarios (issue 24; the contract is graders/scenario.py).

Each breaks the reference solution's lab (solutions/drbd.py: resource r0 in /etc/drbd.d/r0.res with resource-level
fencing, the promotable clone drbd-r0-clone of drbd-r0 with notify=true, group data of data-fs and data-ip,
colocation data-with-promoted and order data-after-promote) the way a DRBD pair under Pacemaker goes wrong in real
life: a split brain nobody resolved, handlers copied from the DRBD 9 guide, a clone without notifications, the
filesystem on the backing disk, the colocation lost, the nodes' resource files apart, a disk DRBD detached. The
root-cause checks read what the lab's own checks read (`drbdadm dump all`, the DRBD states, the CIB), so any names,
pcs or crm, and options in global_common.conf pass, and the masking repair (``masks``) does not.

The clustering kind's scenarios are not reused: they break the web service (group web, Apache) this lab has not,
and the ones on Corosync would only repeat what notebook 3 trains.
"""

from __future__ import annotations

from graders.checks import Verdict
from graders.collectors.cib import Cib
from graders.drbd import checks
from graders.facts import LabFacts
from graders.scenario import Copy, Inject, Run, Scenario, Step, Swap, cause_verdict
from halab.spec import LabSpec


def res_file(spec: LabSpec) -> str:
    return f"/etc/drbd.d/{spec.settings['drbd_resource']}.res"


def adjust(spec: LabSpec) -> str:
    return f"drbdadm adjust {spec.settings['drbd_resource']}"


def clone(spec: LabSpec) -> str:
    """The reference solution's names: drbd-<resource>-clone."""
    return f"drbd-{spec.settings['drbd_resource']}-clone"


def on_members(spec: LabSpec, command: str) -> list[Step]:
    return [Run(node, command) for node in spec.member_names]


class Drbd(Scenario):
    """Where to look in this lab when the root cause is not repaired yet."""

    hint = ("Find what changed since the lab worked, layer by layer: DRBD (drbdadm status, cat /proc/drbd, and the "
            "kernel's log: journalctl -k | grep drbd, on both nodes), its configuration (drbdadm dump on each node: "
            "are they the same, and right?), Pacemaker (crm_mon -1 and its failed actions, crm configure show); "
            "repair that. Hiding the symptom does not count.")


class SplitBrainStandAlone(Drbd):
    name = "split-brain-standalone"
    summary = ("The replication link broke while both nodes wrote as Primary (the cluster was in maintenance mode): "
               "DRBD found the split brain when the link came back, dropped the connection and stays StandAlone on "
               "both nodes; the cluster is still in maintenance mode. node2's changes are the ones to discard.")
    expected_failures = ("drbd-connected", "drbd-uptodate", "pacemaker-drbd", "split-brain-resolved")
    settle_seconds = 3.0

    def breaks(self, spec: LabSpec) -> list[Step]:
        return [Inject("split-brain", spec.member_names[-1])]

    def repairs(self, spec: LabSpec) -> list[Step]:
        # DRBD's user guide: the victim discards its changes, the survivor connects; then Pacemaker takes over again.
        s = spec.settings
        resource, victim, survivor = s["drbd_resource"], spec.member_names[-1], spec.member_names[0]
        return [Run(victim, f"(! mountpoint -q {s['mount_point']} || umount {s['mount_point']}) && drbdadm secondary "
                            f"{resource} && drbdadm disconnect {resource}; "
                            f"drbdadm connect --discard-my-data {resource}"),
                Run(survivor, f"drbdadm connect {resource} || true"),
                Run(survivor, f"for i in $(seq 120); do [ \"$(drbdadm dstate {resource})\" = UpToDate/UpToDate ] && "
                              "break; sleep 2; done", 300),
                Run(survivor, "crm configure property maintenance-mode=false && crm resource cleanup")]

    def root_cause(self, facts: LabFacts) -> Verdict:
        return cause_verdict(facts, [], (checks.connected, checks.uptodate, checks.split_brain),
                             "DRBD is connected and in sync with the survivor's data, and Pacemaker manages it again")


def _handlers(spec: LabSpec, old: str, new: str) -> list[Step]:
    """Every handler script named ``old``.sh in the resource file becomes ``new``.sh, on every node, applied."""
    sed = f"sed -i -E 's#/usr/lib/drbd/crm-(un)?fence-peer{old}\\.sh#/usr/lib/drbd/crm-\\1fence-peer{new}.sh#g'"
    return on_members(spec, f"{sed} {res_file(spec)} && {adjust(spec)}")


class HandlersForDrbd9(Drbd, Swap):
    name = "fence-handlers-drbd9"
    summary = ("The handlers were copied from the DRBD 9 user's guide (crm-fence-peer.9.sh, crm-unfence-peer.9.sh) on "
               "both nodes and applied: with the lab's DRBD 8.4 module they do not place the constraint that keeps an "
               "outdated peer from being promoted (resource-level fencing is gone).")
    expected_failures = ("drbd-resource-fencing",)
    settle_seconds = 2.0

    def values(self, spec: LabSpec) -> tuple[str, str]:
        return "", ".9"

    def swap(self, spec: LabSpec, old: str, new: str) -> list[Step]:
        return _handlers(spec, old, new)

    def root_cause(self, facts: LabFacts) -> Verdict:
        return cause_verdict(facts, [], (checks.resource_fencing,),
                             "fence-peer and after-resync-target run the DRBD 8.4 scripts on every node")


def _notify_off(cib: Cib) -> list[str]:
    """ocf:linbit:drbd clones without notifications: the agent refuses to start or promote there (OCF_ERR_CONFIGURED,
    'you really should enable notify'), unless told to ignore it."""
    return [f"{p.clone} has notify={cib.meta(p.id, 'notify') or 'false (the default)'}: the DRBD agent refuses to "
            "start or promote without notifications" for p in cib.by_agent("drbd")
            if p.clone and (cib.meta(p.id, "notify") or "false").lower() not in ("true", "yes", "1", "on")
            and p.params.get("ignore_missing_notifications", "false").lower() not in ("true", "yes", "1", "on")]


class CloneWithoutNotify(Drbd):
    name = "clone-notify-off"
    summary = ("The DRBD clone was given notify=false (a clone definition copied from a howto for stateless clones) "
               "and stopped for a maintenance window: the linbit agent refuses to demote, start or promote without "
               "notifications ('not configured', fatal for Pacemaker), so DRBD, the filesystem and the IP stay "
               "stopped on both nodes.")
    expected_failures = ("drbd-connected", "pacemaker-drbd", "pacemaker-data")
    settle_seconds = 10.0

    def _notify(self, spec: LabSpec, value: str) -> str:
        return f"crm_resource --resource {clone(spec)} --meta --set-parameter notify --parameter-value {value}"

    def breaks(self, spec: LabSpec) -> list[Step]:
        target = f"crm_resource --resource {clone(spec)} --meta"
        return [Run(spec.member_names[0], f"{self._notify(spec, 'false')} && {target} --set-parameter target-role "
                                          "--parameter-value Stopped && crm_resource --wait --timeout=240s; "
                                          f"{target} --delete-parameter target-role", 300)]

    def repairs(self, spec: LabSpec) -> list[Step]:
        return [Run(spec.member_names[0], f"{self._notify(spec, 'true')} && crm_resource --cleanup --resource "
                                          f"{clone(spec)}")]

    def root_cause(self, facts: LabFacts) -> Verdict:
        _, cib = facts.cluster_view(lambda node: node.cib())
        return cause_verdict(facts, _notify_off(cib), (checks.pacemaker_drbd, checks.pacemaker_data),
                             "the DRBD clone has notifications on, and Pacemaker runs it")


class FilesystemOnBackingDisk(Drbd):
    name = "filesystem-on-backing-disk"
    summary = ("The Filesystem resource's device was changed to the backing disk (/dev/vdb) instead of the DRBD "
               "device: DRBD holds the disk, so the mount fails on both nodes and the data is not served.")
    expected_failures = ("drbd-filesystem", "pacemaker-data")
    settle_seconds = 20.0

    def _device(self, spec: LabSpec, device: str) -> list[Step]:
        return [Run(spec.member_names[0], f"crm_resource --resource data-fs --set-parameter device --parameter-value "
                                          f"{device} && crm_resource --cleanup --resource data-fs")]

    def breaks(self, spec: LabSpec) -> list[Step]:
        return self._device(spec, spec.settings["drbd_disk"])

    def repairs(self, spec: LabSpec) -> list[Step]:
        return self._device(spec, spec.settings["drbd_device"])

    def root_cause(self, facts: LabFacts) -> Verdict:
        _, cib = facts.cluster_view(lambda node: node.cib())
        disk, device = facts.spec.settings["drbd_disk"], facts.spec.settings["drbd_device"]
        wrong = [f"{p.id} mounts {p.params['device']}, DRBD's backing disk: only {device} replicates, and DRBD holds "
                 "the disk" for p in cib.by_agent("Filesystem") if p.params.get("device") in (disk, f"{disk}1")]
        return cause_verdict(facts, wrong, (checks.pacemaker_data, checks.filesystem),
                             f"the filesystem resource mounts {device}, on the promoted node")


class ColocationLost(Drbd):
    name = "colocation-lost"
    summary = ("The colocation of the data group with the clone's Promoted role was deleted (a cleanup of old "
               "constraints took it too): nothing keeps the filesystem on the node where DRBD is Primary.")
    expected_failures = ("pacemaker-constraints",)
    settle_seconds = 5.0

    def breaks(self, spec: LabSpec) -> list[Step]:
        return [Run(spec.member_names[0], "crm configure delete data-with-promoted")]

    def repairs(self, spec: LabSpec) -> list[Step]:
        return [Run(spec.member_names[0], "crm configure colocation data-with-promoted inf: data "
                                          f"{clone(spec)}:Promoted && crm resource cleanup data")]

    def root_cause(self, facts: LabFacts) -> Verdict:
        return cause_verdict(facts, [], (checks.pacemaker_constraints, checks.pacemaker_data),
                             "the data group is colocated with the Promoted role again, and runs there")


def _port_swap(spec: LabSpec, node: str, old: int, new: int) -> list[Step]:
    """Every address of the resource file on ``node`` moved from port ``old`` to ``new``, applied there."""
    sed = f"sed -i -E 's/(address[[:space:]]+[0-9.]+):{old}([[:space:]]*;)/\\1:{new}\\2/' {res_file(spec)}"
    return [Run(node, f"{sed} && {adjust(spec)}")]


class ResourceFilesDiffer(Drbd):
    name = "resource-files-differ"
    summary = ("node2's resource file got another replication port (changed there to get past a firewall rule, "
               "applied with drbdadm adjust, never copied to node1): each node waits for the other on a port the other "
               "does not use, so they never connect and node2's data gets older.")
    expected_failures = ("drbd-config", "drbd-connected", "drbd-uptodate")
    masked_failures = ("drbd-config-content",)  # the same wrong port on both: connected, but not the lab's port
    settle_seconds = 10.0

    def _ports(self, spec: LabSpec) -> tuple[int, int]:
        port = int(spec.settings["drbd_port"])
        return port, port + 1

    def breaks(self, spec: LabSpec) -> list[Step]:
        right, wrong = self._ports(spec)
        return _port_swap(spec, spec.member_names[-1], right, wrong)

    def repairs(self, spec: LabSpec) -> list[Step]:
        first, last = spec.member_names[0], spec.member_names[-1]
        return [Copy(first, last, res_file(spec)), Run(last, adjust(spec))]

    def masks(self, spec: LabSpec) -> list[Step]:
        # Make the files identical by spreading the wrong one: connected again, on a port the lab does not use.
        first, last = spec.member_names[0], spec.member_names[-1]
        return [Copy(last, first, res_file(spec)), Run(first, adjust(spec))]

    def unmasks(self, spec: LabSpec) -> list[Step]:
        right, wrong = self._ports(spec)
        return _port_swap(spec, spec.member_names[0], wrong, right)

    def root_cause(self, facts: LabFacts) -> Verdict:
        return cause_verdict(facts, [], (checks.config_identical, checks.config_content, checks.connected,
                                         checks.uptodate),
                             "one resource file on both nodes, with the lab's addresses, and DRBD connected and "
                             "in sync")


class DiskDetached(Drbd):
    name = "disk-detached"
    summary = ("DRBD detached node2's backing disk (what on-io-error detach does after an I/O error; here drbdadm "
               "detach): node2 is Diskless, so the mirror has one copy of the data left.")
    expected_failures = ("drbd-uptodate",)
    settle_seconds = 3.0

    def breaks(self, spec: LabSpec) -> list[Step]:
        return [Run(spec.member_names[-1], f"drbdadm detach {spec.settings['drbd_resource']}")]

    def repairs(self, spec: LabSpec) -> list[Step]:
        return [Run(spec.member_names[-1], f"drbdadm attach {spec.settings['drbd_resource']}")]

    def root_cause(self, facts: LabFacts) -> Verdict:
        return cause_verdict(facts, [], (checks.uptodate, checks.connected),
                             "both nodes have their disk attached and UpToDate")


SCENARIOS: list[Scenario] = [SplitBrainStandAlone(), HandlersForDrbd9(), CloneWithoutNotify(),
                             FilesystemOnBackingDisk(), ColocationLost(), ResourceFilesDiffer(), DiskDetached()]
