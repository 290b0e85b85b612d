"""The course's diagrams, drawn as SVG by code so they render in any notebook and stay easy to edit."""

from __future__ import annotations

from halab.course.svg import Svg, row_of_boxes


def _panel(svg: Svg, x: float, title: str, width: float = 340) -> None:
    svg.box(x, 34, width, 250, fill="white")
    svg.text(x + width / 2, 56, title, size=14, weight="bold")


def cluster_architectures() -> Svg:
    """Active/passive (a failover cluster) next to active/active behind a load balancer."""
    svg = Svg(720, 300, "Active/passive vs active/active")
    _panel(svg, 10, "Active/passive (failover)")
    svg.box(110, 72, 140, 34, "clients", fill="muted")
    svg.box(120, 128, 120, 30, "floating IP", fill="network")
    svg.line(180, 106, 180, 128, arrow="end").line(180, 158, 95, 190, arrow="end")
    svg.box(30, 190, 130, 60, "node1", sub="runs the service", fill="service")
    svg.box(200, 190, 130, 60, "node2", sub="standby", fill="muted", dashed=True)
    svg.line(160, 220, 200, 220, dashed=True, arrow="end")
    svg.text(180, 275, "on failure the IP and service move to node2", size=11, italic=True)
    _panel(svg, 370, "Active/active (load balanced)")
    svg.box(470, 72, 140, 34, "clients", fill="muted")
    svg.box(460, 128, 160, 30, "load balancer", fill="network")
    svg.line(540, 106, 540, 128, arrow="end")
    for x in (390, 500, 610):
        svg.line(540, 158, x + 45, 190, arrow="end")
    row_of_boxes(svg, 390, 190, ["node1\nserves", "node2\nserves", "node3\nserves"], w=90, h=60, gap=20, fill="service")
    svg.text(540, 275, "every node works; a failed one just leaves the pool", size=11, italic=True)
    return svg


def storage_architectures() -> Svg:
    """Shared-disk (one storage all nodes reach) vs shared-nothing (own disks, replicated)."""
    svg = Svg(720, 300, "Shared-disk vs shared-nothing")
    _panel(svg, 10, "Shared-disk")
    row_of_boxes(svg, 45, 80, ["node1", "node2"], w=120, h=44, gap=40)
    svg.box(95, 200, 170, 50, "SAN / iSCSI LUN", sub="one copy of the data", fill="storage")
    svg.line(105, 124, 160, 200, arrow="end").line(265, 124, 200, 200, arrow="end")
    svg.text(180, 275, "needs fencing or a cluster file system (GFS2, OCFS2)", size=11, italic=True)
    _panel(svg, 370, "Shared-nothing")
    row_of_boxes(svg, 405, 80, ["node1", "node2"], w=120, h=44, gap=40)
    svg.box(405, 190, 120, 44, "local disk", fill="storage").box(565, 190, 120, 44, "local disk", fill="storage")
    svg.line(465, 124, 465, 190).line(625, 124, 625, 190)
    svg.line(525, 212, 565, 212, arrow="both", dashed=True)
    svg.text(545, 255, "replication (e.g. DRBD)", size=11)
    svg.text(540, 275, "no single storage box to fail", size=11, italic=True)
    return svg


def fencing_levels() -> Svg:
    """Node-level fencing cuts the power; resource-level fencing cuts one node off one resource."""
    svg = Svg(720, 300, "Fencing: node level vs resource level")
    _panel(
        svg,
        10,
        "Node level (STONITH)",
    )
    svg.box(40, 90, 120, 50, "node1", sub="healthy", fill="service")
    svg.box(200, 90, 120, 50, "node2", sub="suspect", fill="danger")
    svg.box(190, 190, 140, 44, "IPMI / PDU / SBD", fill="network")
    svg.line(100, 140, 190, 212, arrow="end").line(260, 190, 260, 140, arrow="end")
    svg.cross(300, 92, 12)
    svg.text(180, 272, "'shoot the other node in the head': power off or reboot", size=11, italic=True)
    _panel(svg, 370, "Resource level")
    svg.box(400, 90, 120, 50, "node1", sub="healthy", fill="service")
    svg.box(560, 90, 120, 50, "node2", sub="suspect", fill="danger")
    svg.box(480, 190, 120, 44, "shared storage", fill="storage")
    svg.line(460, 140, 520, 190, arrow="end").line(620, 140, 560, 190, color="#b42318", dashed=True)
    svg.cross(590, 165, 12)
    svg.text(540, 272, "cut its access (SAN zoning, DRBD 'outdate the peer')", size=11, italic=True)
    return svg


def failover_timeline(detect_s: float = 5.0, fence_s: float = 3.0, start_s: float = 2.0) -> Svg:
    """Where the seconds of a failover go: detection, fencing, then recovery on the survivor."""
    total = detect_s + fence_s + start_s
    svg = Svg(720, 150, f"A failover: about {total:g} s of downtime")
    scale, x = 640 / total, 40.0
    for label, seconds, fill in [("detect (token timeout)", detect_s, "danger"),
                                 ("fence the lost node", fence_s, "network"),
                                 ("recover", start_s, "service")]:  # fmt: skip
        svg.box(x, 50, seconds * scale, 44, label, sub=f"{seconds:g} s", fill=fill, size=11)
        x += seconds * scale
    svg.line(40, 110, 680, 110, arrow="end")
    svg.text(40, 130, "node2 dies", size=11, anchor="start").text(680, 130, "service back", size=11, anchor="end")
    return svg


def pacemaker_stack() -> Svg:
    """The Pacemaker daemons on one node, above Corosync, below the resource agents."""
    svg = Svg(720, 360, "One cluster node: the Pacemaker stack")
    svg.box(20, 50, 680, 44, "resource agents", sub="OCF scripts, LSB init scripts, systemd units, fence agents",
            fill="service")  # fmt: skip
    daemons = [
        "pacemaker-based\nCIB (cluster config + status)", "pacemaker-controld\ncontroller; one is the DC",
        "pacemaker-schedulerd\nscheduler (was PEngine)", "pacemaker-execd\nexecutor (was LRMd)",
        "pacemaker-fenced\nfencer (was stonithd)", "pacemaker-attrd\nnode attributes",
    ]  # fmt: skip
    for index, label in enumerate(daemons):
        col, row = index % 3, index // 3
        title, _, sub = label.partition("\n")
        svg.box(20 + col * 232, 120 + row * 66, 216, 54, title, sub=sub, size=12)
    svg.box(20, 258, 680, 40, "pacemakerd", sub="starts and watches the daemons above", fill="muted")
    svg.box(20, 308, 680, 44, "Corosync", sub="membership, messaging (knet), quorum (votequorum)",
            fill="network")  # fmt: skip
    return svg


def drbd_write_path() -> Svg:
    """A DRBD write: where protocols A, B and C acknowledge it."""
    svg = Svg(720, 300, "A write through DRBD (primary on the left)")
    labels = ["application", "file system", "/dev/drbd0"]
    for index, label in enumerate(labels):
        svg.box(40, 50 + index * 60, 200, 40, label, fill="service" if index < 2 else "storage")
        if index:
            svg.line(140, 50 + index * 60 - 20, 140, 50 + index * 60, arrow="end")
    svg.box(40, 240, 200, 40, "local disk (/dev/vdb)", fill="storage")
    svg.line(140, 210, 140, 240, arrow="end")
    svg.box(480, 170, 200, 40, "/dev/drbd0 (secondary)", fill="storage")
    svg.box(480, 240, 200, 40, "peer's disk", fill="storage")
    svg.line(240, 190, 480, 190, arrow="end").line(580, 210, 580, 240, arrow="end")
    svg.text(360, 182, "replication link (TCP)", size=11)
    svg.text(250, 265, "A: acked after the local write", size=12, weight="bold", color="#b42318", anchor="start")
    svg.text(360, 215, "B: acked when received", size=12, weight="bold", color="#a15c00")
    svg.text(700, 295, "C: acked when on the peer's disk", size=12, weight="bold", color="#1b7f3b", anchor="end")
    return svg


def load_balancer_pair() -> Svg:
    """keepalived (VRRP) keeps one virtual IP on one of two HAProxy boxes that spread load over servers."""
    svg = Svg(720, 320, "Redundant load balancers: keepalived + HAProxy")
    svg.box(290, 40, 140, 36, "clients", fill="muted")
    svg.box(270, 100, 180, 32, "virtual IP 10.0.0.100", fill="network")
    svg.line(360, 76, 360, 100, arrow="end")
    svg.box(130, 160, 180, 50, "lb1: HAProxy", sub="keepalived MASTER (prio 150)", fill="service")
    svg.box(410, 160, 180, 50, "lb2: HAProxy", sub="keepalived BACKUP (prio 100)", fill="muted", dashed=True)
    svg.line(330, 132, 240, 160, arrow="end").line(310, 185, 410, 185, dashed=True, arrow="both")
    svg.text(360, 178, "VRRP adverts", size=10)
    for x, name in zip((110, 290, 470), ("web1", "web2", "web3"), strict=True):
        svg.box(x, 250, 140, 40, name, sub="health-checked", fill="node", size=12)
        svg.line(220, 210, x + 70, 250, arrow="end")
    return svg


def vm_cluster() -> Svg:
    """Two hypervisors in a Pacemaker cluster run a VM as a VirtualDomain resource on shared storage."""
    svg = Svg(720, 320, "VMs as cluster resources")
    for x, name, running in ((40, "host1", True), (400, "host2", False)):
        svg.box(x, 50, 280, 150, fill="white")
        svg.text(x + 140, 72, f"{name}: libvirtd + Pacemaker", size=13, weight="bold")
        if running:
            svg.box(x + 40, 95, 200, 60, "VM 'web'", sub="ocf:heartbeat:VirtualDomain", fill="service")
        else:
            svg.box(x + 40, 95, 200, 60, "(room for 'web')", fill="muted", dashed=True)
    svg.line(280, 125, 440, 125, dashed=True, arrow="end")
    svg.text(360, 115, "live migration", size=11)
    svg.box(230, 240, 260, 44, "shared storage", sub="disk image on NFS / iSCSI / DRBD", fill="storage")
    svg.line(180, 200, 300, 240, arrow="end").line(540, 200, 420, 240, arrow="end")
    svg.text(360, 305, "fencing: fence_ipmilan for hosts; fence_virsh or fence_xvm for guests", size=11, italic=True)
    return svg
