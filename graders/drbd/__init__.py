"""The drbd kind: a DRBD mirror of an extra disk, run by Pacemaker as a promotable clone with a filesystem
and a floating IP on the promoted node (lab drbd). A Pacemaker cluster too, so it derives from clustering."""

from graders import clustering
from graders.drbd.checks import CHECKS
from halab.spec.kinds import FaultDef, Injection, register

# {names} are filled in from the lab's [settings].
DRBD_COMMANDS = {
    "drbd_res": "cat /etc/drbd.d/{drbd_resource}.res",
    # All of it, not only the resource: options in the common section (global_common.conf) apply to it too.
    "drbd_dump": "drbdadm dump all",
    "proc_drbd": "cat /proc/drbd",
    "drbd_cstate": "drbdadm cstate {drbd_resource}",
    "drbd_dstate": "drbdadm dstate {drbd_resource}",
    "drbd_role": "drbdadm role {drbd_resource}",
    "blkid": "blkid -o export {drbd_device}",
    "mounts": "findmnt -n -o SOURCE,TARGET,FSTYPE --source {drbd_device}",
    "data_listing": "mountpoint -q {mount_point} && ls -1A {mount_point}",
}

KIND = register(clustering.KIND.derive(
    "drbd",
    settings=("cluster_name", "floating_ip", "drbd_resource", "drbd_device", "drbd_disk", "drbd_port", "mount_point"),
    tasks=("configure", "bring-up", "filesystem", "cluster", "split-brain", "failover", "resource-fencing"),
    commands={**clustering.CLUSTER_COMMANDS, **DRBD_COMMANDS},
    checks=CHECKS.defs,
    faults={"failover-data": FaultDef(
        "failover-data", "Power loss of the primary: the peer takes over the data, intact",
        "Pacemaker must promote DRBD on the survivor (after fencing the lost node) and then mount the filesystem.",
        ("membership", "stonith", "pacemaker-drbd", "pacemaker-data", "drbd-uptodate"),
        "graders.drbd.faults:failover_data",
    ), "outdated-peer-fenced": FaultDef(
        "outdated-peer-fenced", "Replication link cut: the outdated peer may not be promoted until it has resynced",
        "With fencing resource-only, the Primary calls fence-peer (crm-fence-peer.sh) when it loses its peer: the "
        "constraint drbd-fence-by-handler-... keeps the peer from being promoted; after-resync-target "
        "(crm-unfence-peer.sh) removes it when the peer has caught up. Apply a changed configuration with "
        "drbdadm adjust.",
        ("drbd-resource-fencing", "drbd-connected", "drbd-uptodate", "membership", "pacemaker-drbd"),
        "graders.drbd.faults:outdated_peer_fenced",
    )},
    injections={"split-brain": Injection(
        "split-brain", "cut the replication link and write on both sides as Primary (NODE: the victim)",
        "graders.drbd.faults:split_brain_fault", remains="graders.drbd.resolved:split_brain_remains",
    )},
    probes={},  # no web service: the floating IP is checked through Pacemaker
    evidence_records=("split_brain",),  # what the split-brain fault did, for the check that it was resolved
    scenarios="graders.drbd.scenarios:SCENARIOS",
))
