"""A third solution of the drbd lab, written from the upstream manuals (drbd.conf-8.4(5) and drbdsetup-8.4(8) in
the nodes, DRBD's 8.4 user's guide, Pacemaker's "Clusters from Scratch" and pcs(8)) with the choices they allow
where the reference (solutions/drbd.py, crmsh) makes others:

- the options every resource shares in the `common` section of /etc/drbd.d/global_common.conf (protocol C,
  `fencing resource-only` and its crm-fence-peer.sh/crm-unfence-peer.sh handlers, there from the start rather
  than added later with `drbdadm adjust`); /etc/drbd.d/r0.res keeps only what is per host: device, disk,
  address and meta-disk inside each `on` section;
- no initial sync: both backing disks are new and empty, so drbdsetup-8.4(8)'s "skip the initial sync"
  recipe (`drbdadm new-current-uuid --clear-bitmap` on Connected Inconsistent/Inconsistent) makes them
  UpToDate at once instead of `primary --force`;
- the cluster made by pcs in its "local only mode" (`pcs cluster setup --corosync_conf FILE`: no pcsd, which
  under TCG answered pcs cluster setup too slowly, over a minute), the authkey by corosync-keygen, both copied
  with scp, and the daemons started by systemctl; the Pacemaker configuration written into a CIB file with
  `pcs -f` and pushed in one go (`pcs cluster cib-push --config`), as Clusters from Scratch does for DRBD, so
  nothing starts half-configured;
- a fence device per node (the one for node1 delayed, so node1 wins a fence race) instead of one for both;
- the promotable clone made in pcs syntax (`promotable <clone id> ...`), other names (replica, replica-ms,
  srv-data, service-ip) and monitor intervals;
- no group: the IP colocated with the Promoted role and started after the promotion, the filesystem colocated
  with the IP and started after it (Pacemaker applies them transitively);
- the split brain resolved with pcs (`pcs property unset maintenance-mode`, `pcs resource cleanup`).

The lab's 8.4 kernel module rules out DRBD 9's choices (fencing in the net section, crm-fence-peer.9.sh and the
unfence-peer handler, node-id and connection-mesh): the resource-fencing task asks for 8.4 syntax.

And mistakes a student makes on this layout, each with the check that catches it (tests/solutions/broken.py).
"""

from __future__ import annotations

import base64

from graders.drbd.faults import split_brain
from halab.lab import Lab
from halab.spec import LabSpec
from halab.types import Progress
from solutions.clustering import crm_status, resources_started, wait_for_cluster
from solutions.common import must, on_all, wait_until
from tests.solutions.broken import Broken

COMMON = "/etc/drbd.d/global_common.conf"
CIB_FILE = "/root/data-cib.xml"
CLONE = "replica-ms"


def global_common(protocol: str = "C", fencing: str = "resource-only") -> str:
    """drbd.conf(5)'s global_common.conf: Debian's global section kept, the common section filled in."""
    return f"""global {{
    usage-count no;
    udev-always-use-vnr;
}}
common {{
    net {{
        protocol {protocol};
    }}
    disk {{
        fencing {fencing};
    }}
    handlers {{
        fence-peer "/usr/lib/drbd/crm-fence-peer.sh";
        after-resync-target "/usr/lib/drbd/crm-unfence-peer.sh";
    }}
}}
"""


def resource_file(spec: LabSpec) -> str:
    s = spec.settings
    hosts = "".join(f"""    on {node.name} {{
        device    {s['drbd_device']};
        disk      {s['drbd_disk']};
        address   {node.addresses['repl']}:{s['drbd_port']};
        meta-disk internal;
    }}
""" for node in spec.members)
    return f"resource {s['drbd_resource']} {{\n{hosts}}}\n"


def pacemaker_commands(spec: LabSpec) -> list[str]:
    """The cluster's configuration as pcs commands on a CIB file (pcs -f), in Clusters from Scratch's order."""
    s = spec.settings
    first = spec.member_names[0]
    prefix = spec.management_network.subnet.prefixlen
    fence = [f"stonith create fence-{node} fence_halab pcmk_host_list={node}"
             f"{' pcmk_delay_base=5s' if node == first else ''} op monitor interval=90s" for node in spec.member_names]
    return [*fence,
            "property set stonith-enabled=true",
            "resource defaults update resource-stickiness=200",
            f"resource create replica ocf:linbit:drbd drbd_resource={s['drbd_resource']} "
            "op monitor interval=15s role=Promoted op monitor interval=25s role=Unpromoted "
            f"promotable {CLONE} promoted-max=1 promoted-node-max=1 clone-max={len(spec.members)} clone-node-max=1 "
            "notify=true",
            f"resource create service-ip ocf:heartbeat:IPaddr2 ip={s['floating_ip']} cidr_netmask={prefix} "
            "op monitor interval=10s",
            f"resource create srv-data ocf:heartbeat:Filesystem device={s['drbd_device']} "
            f"directory={s['mount_point']} fstype=ext4 options=noatime op monitor interval=20s",
            f"constraint colocation add service-ip with Promoted {CLONE} INFINITY id=ip-on-promoted",
            "constraint colocation add srv-data with service-ip INFINITY id=fs-with-ip",
            f"constraint order promote {CLONE} then start service-ip id=ip-after-promote",
            "constraint order start service-ip then start srv-data id=fs-after-ip"]


def dstate(lab: Lab) -> str:
    return lab.run(lab.spec.member_names[0], f"drbdadm dstate {lab.spec.settings['drbd_resource']}").stdout.strip()


def data_started(lab: Lab) -> bool:
    return resources_started(lab, "srv-data", "service-ip", *(f"fence-{n}" for n in lab.spec.member_names))


def solve(lab: Lab, progress: Progress = lambda _m: None) -> None:
    spec = lab.spec
    s = spec.settings
    resource, first = s["drbd_resource"], spec.member_names[0]
    progress("DRBD: global_common.conf and the resource file, metadata, up")
    for node in spec.member_names:
        lab.write_file(node, COMMON, global_common())
        lab.write_file(node, f"/etc/drbd.d/{resource}.res", resource_file(spec))
    on_all(lab, f"drbdadm -- --force create-md {resource} && drbdadm up {resource} && mkdir -p {s['mount_point']}",
           timeout=120)
    wait_until("both nodes Connected", lambda: lab.run(first, f"drbdadm cstate {resource}").stdout.strip()
               == "Connected", timeout=120)
    progress("DRBD: skipping the initial sync of the empty disks, then the filesystem")
    must(lab, first, f"drbdadm new-current-uuid --clear-bitmap {resource}")
    wait_until("UpToDate/UpToDate", lambda: dstate(lab) == "UpToDate/UpToDate", timeout=60)
    must(lab, first, f"drbdadm primary {resource} && mkfs.ext4 -q -L data {s['drbd_device']} && "
                     f"drbdadm secondary {resource}", timeout=120)
    progress("pcs: the cluster, then its configuration pushed from a CIB file")
    form_cluster_locally(lab)
    must(lab, first, f"pcs cluster cib {CIB_FILE}")
    for command in pacemaker_commands(spec):
        must(lab, first, f"pcs -f {CIB_FILE} {command}")
    must(lab, first, f"pcs cluster cib-push {CIB_FILE} --config")
    wait_until("the IP and the filesystem on the promoted node", lambda: data_started(lab), timeout=300, interval=2)
    split_brain_resolved(lab, progress)


def form_cluster_locally(lab: Lab) -> None:
    """pcs(8)'s local only mode: corosync.conf made on one node without pcsd, copied with the authkey."""
    spec = lab.spec
    first, others = spec.member_names[0], spec.member_names[1:]
    lan = spec.management_network.name
    nodes = " ".join(f"{node.name} addr={node.addresses[lan]}" for node in spec.members)
    must(lab, first, f"pcs cluster setup {spec.settings['cluster_name']} {nodes} --corosync_conf /root/corosync.conf "
                     "&& install -m 644 /root/corosync.conf /etc/corosync/corosync.conf "
                     "&& rm -f /etc/corosync/authkey && corosync-keygen", timeout=120)
    for node in others:
        must(lab, first, f"scp -p /etc/corosync/corosync.conf /etc/corosync/authkey {node}:/etc/corosync/")
    on_all(lab, "systemctl enable --now corosync pacemaker", timeout=180)
    wait_for_cluster(lab, len(spec.members), timeout=240, what="the cluster pcs described")


def split_brain_resolved(lab: Lab, progress: Progress) -> None:
    """`halab fault drbd split-brain` on the Unpromoted node, resolved as DRBD's user's guide says ("Manual
    split brain recovery"): the victim drops its changes and resyncs from the survivor."""
    resource = lab.spec.settings["drbd_resource"]
    status = crm_status(lab)
    promoted = next((r.nodes[0] for r in status.resources if r.agent == "ocf:linbit:drbd" and r.role == "Promoted"
                     and r.nodes), None) if status else None
    assert promoted, "DRBD is promoted nowhere"
    victim = next(n for n in lab.spec.member_names if n != promoted)
    progress(f"a split brain with {victim} as the victim, resolved by hand")
    induced = split_brain(lab, victim)
    survivor = str(induced["survivor"])
    must(lab, victim, f"drbdadm secondary {resource}; drbdadm disconnect {resource}; "
                      f"drbdadm connect --discard-my-data {resource}")
    must(lab, survivor, f"drbdadm cstate {resource} | grep -qx StandAlone && drbdadm connect {resource} || true")
    wait_until("the resync after the split brain", lambda: dstate(lab) == "UpToDate/UpToDate", timeout=300,
               interval=2)
    must(lab, survivor, "pcs property unset maintenance-mode && pcs resource cleanup")
    wait_until("the IP and the filesystem to run again", lambda: data_started(lab), timeout=300, interval=2)


def broken(lab: Lab) -> list[Broken]:
    """Mistakes in global_common.conf on both nodes: the checks read the configuration (drbdadm dump all), so the
    running resource is left alone."""
    first = lab.spec.member_names[0]

    def on_both(text: str) -> str:
        encoded = base64.b64encode(text.encode()).decode()
        return " && ".join(f"ssh {node} 'echo {encoded} | base64 -d > {COMMON}'" for node in lab.spec.member_names)

    good = on_both(global_common())
    return [
        Broken("asynchronous replication set for every resource in the common section", first,
               on_both(global_common(protocol="A")), good, "drbd-config-content", "protocol A"),
        Broken("no fencing policy in the common section", first, on_both(global_common(fencing="dont-care")), good,
               "drbd-resource-fencing", "no fencing policy"),
        Broken("the filesystem no longer tied to the IP (so not to the Promoted role)", first,
               "cibadmin --delete --xml-text '<rsc_colocation id=\"fs-with-ip\"/>'",
               "pcs constraint colocation add srv-data with service-ip INFINITY id=fs-with-ip",
               "pacemaker-constraints", "missing a colocation with the Promoted role"),
    ]
