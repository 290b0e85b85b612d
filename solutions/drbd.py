"""Solve the drbd lab: a DRBD mirror of /dev/vdb over the replication network, a filesystem on it, and
Pacemaker running it as a promotable clone with the filesystem and a floating IP on the promoted node."""

from __future__ import annotations

from graders.drbd.faults import split_brain
from halab.lab import Lab
from halab.spec import LabSpec
from halab.types import Progress
from solutions.clustering import configure, crm_status, fencing_crm, form_cluster, resources_started
from solutions.common import must, on_all, wait_until

# Resource-level fencing, DRBD 8.4 syntax: the policy in the disk section; the handlers put the Pacemaker
# constraint that keeps an outdated peer from being promoted, and lift it after its resync.
FENCING = """    disk {
        fencing resource-only;
    }
    handlers {
        fence-peer "/usr/lib/drbd/crm-fence-peer.sh";
        after-resync-target "/usr/lib/drbd/crm-unfence-peer.sh";
    }
"""


def drbd_res(spec: LabSpec, fencing: bool = False) -> str:
    s = spec.settings
    hosts = "".join(f"    on {node.name} {{\n        address {node.addresses['repl']}:{s['drbd_port']};\n    }}\n"
                    for node in spec.members)
    return (f"resource {s['drbd_resource']} {{\n    device {s['drbd_device']};\n    disk {s['drbd_disk']};\n"
            f"    meta-disk internal;\n{FENCING if fencing else ''}    net {{\n        protocol C;\n    }}\n"
            f"{hosts}}}\n")


def crm_config(spec: LabSpec) -> str:
    """The agent's advised operation timeouts (its meta-data; crm configure warns below them): under TCG on a busy
    host Pacemaker's default of 20 s timed out a start after a split brain's repair (2026-12-06). The preference
    for promoting node1 is notebook 4's (cell "Task cluster"): a lab `halab solve` made is the notebook's end of
    part 1, which part 2 starts from (a student walk-through found it was not)."""
    s = spec.settings
    prefix = spec.management_network.subnet.prefixlen
    first = spec.member_names[0]
    return fencing_crm(spec) + f"""\
primitive drbd-{s['drbd_resource']} ocf:linbit:drbd params drbd_resource={s['drbd_resource']} \\
    op monitor interval=29s role=Promoted op monitor interval=31s role=Unpromoted \\
    op start timeout=240s op stop timeout=100s op promote timeout=90s op demote timeout=90s
clone drbd-{s['drbd_resource']}-clone drbd-{s['drbd_resource']} meta promotable=true promoted-max=1 \\
    promoted-node-max=1 clone-max=2 clone-node-max=1 notify=true
primitive data-fs Filesystem params device={s['drbd_device']} directory={s['mount_point']} fstype=ext4
primitive data-ip IPaddr2 params ip={s['floating_ip']} cidr_netmask={prefix}
group data data-fs data-ip
colocation data-with-promoted inf: data drbd-{s['drbd_resource']}-clone:Promoted
order data-after-promote Mandatory: drbd-{s['drbd_resource']}-clone:promote data:start
location drbd-{s['drbd_resource']}-prefers-{first} drbd-{s['drbd_resource']}-clone role=Promoted 50: {first}
"""


def synced(lab: Lab, resource: str) -> bool:
    return lab.run("node1", f"drbdadm dstate {resource}").stdout.strip() == "UpToDate/UpToDate"


def bring_up(lab: Lab, progress: Progress) -> None:
    """The resource file on both nodes, metadata created, resource up (Connected, Inconsistent/Inconsistent)."""
    resource = lab.spec.settings["drbd_resource"]
    progress(f"writing /etc/drbd.d/{resource}.res on every node")
    for node in lab.spec.member_names:
        lab.write_file(node, f"/etc/drbd.d/{resource}.res", drbd_res(lab.spec))
    progress("creating DRBD metadata and bringing the resource up")
    on_all(lab, f"drbdadm -- --force create-md {resource} && drbdadm up {resource}", timeout=120)


def start_initial_sync(lab: Lab) -> None:
    must(lab, lab.spec.member_names[0], f"drbdadm primary --force {lab.spec.settings['drbd_resource']}")


def solve(lab: Lab, progress: Progress) -> None:
    spec = lab.spec
    resource = spec.settings["drbd_resource"]
    first = spec.member_names[0]
    bring_up(lab, progress)
    progress(f"forcing the initial sync from {first}")
    start_initial_sync(lab)
    wait_until("the initial sync", lambda: synced(lab, resource), timeout=300, interval=2)
    must(lab, first, f"drbdadm secondary {resource}")
    solve_after_sync(lab, progress)
    resource_fencing(lab, progress)
    split_brain_and_resolve(lab, progress)


def resource_fencing(lab: Lab, progress: Progress) -> None:
    """Add resource-level fencing to the running resource: the file on every node, then drbdadm adjust."""
    resource = lab.spec.settings["drbd_resource"]
    progress(f"adding resource-level fencing (crm-fence-peer.sh) to {resource}")
    for node in lab.spec.member_names:
        lab.write_file(node, f"/etc/drbd.d/{resource}.res", drbd_res(lab.spec, fencing=True))
    on_all(lab, f"drbdadm adjust {resource}", timeout=120)


def split_brain_and_resolve(lab: Lab, progress: Progress) -> None:
    """Induce a split brain with the Secondary as the victim (`halab fault drbd split-brain NODE`) and resolve it."""
    status = crm_status(lab)
    promoted = next((r.nodes[0] for r in status.resources if r.agent == "ocf:linbit:drbd" and r.role == "Promoted"
                     and r.nodes), lab.spec.member_names[0]) if status else lab.spec.member_names[0]
    victim = next(n for n in lab.spec.member_names if n != promoted)
    progress(f"inducing a split brain with {victim} as the victim, and resolving it")
    induced = split_brain(lab, victim)
    resolve_split_brain(lab, str(induced["victim"]), str(induced["survivor"]))


def solve_after_sync(lab: Lab, progress: Progress) -> None:
    """From a synced resource (both Secondary): the filesystem, the cluster, and the resources in it."""
    spec = lab.spec
    first = spec.member_names[0]
    resource = spec.settings["drbd_resource"]
    progress("making the filesystem")
    must(lab, first, f"drbdadm primary {resource} && mkfs.ext4 -q {spec.settings['drbd_device']}", timeout=120)
    must(lab, first, f"drbdadm secondary {resource}")  # from now on Pacemaker decides who is primary
    on_all(lab, f"mkdir -p {spec.settings['mount_point']}")
    form_cluster(lab, progress)
    configure(lab, crm_config(spec), progress)
    wait_until("the data group to start on the promoted node", lambda: data_started(lab), timeout=300, interval=2)


def resolve_split_brain(lab: Lab, victim: str, survivor: str) -> None:
    """The manual recovery from DRBD's user guide: the victim discards its changes and resyncs."""
    resource = lab.spec.settings["drbd_resource"]
    mount_point = lab.spec.settings["mount_point"]
    must(lab, victim, f"(! mountpoint -q {mount_point} || umount {mount_point}) && drbdadm secondary {resource} "
                      f"&& drbdadm disconnect {resource}; drbdadm connect --discard-my-data {resource}")
    must(lab, survivor, f"drbdadm connect {resource} || true")
    wait_until("the resync after the split brain", lambda: synced(lab, resource), timeout=300, interval=2)
    must(lab, survivor, "crm configure property maintenance-mode=false && crm resource cleanup")
    wait_until("the data group to run again", lambda: data_started(lab), timeout=300, interval=2)


def data_started(lab: Lab) -> bool:
    return resources_started(lab, "data-fs", "data-ip", "fence-lab")
