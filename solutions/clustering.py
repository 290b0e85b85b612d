"""Solve the clustering lab (2 or 3 nodes): Corosync, Pacemaker, fencing, a floating IP and a web server.

Everything is done on the nodes with the tools the course teaches: corosync-keygen, systemctl, crmsh.
"""

from __future__ import annotations

from graders.collect import probe_http
from graders.collectors import ParseError, crm_mon
from halab.errors import HalabError
from halab.lab import Lab
from halab.spec import LabSpec
from halab.types import Progress
from solutions.common import must, on_all, wait_until


def corosync_conf(spec: LabSpec, totem_extra: str = "") -> str:
    """corosync.conf for the lab's members: one knet link per ring network (the lab's ``ring_networks``, or
    the management network), and ``totem_extra`` lines (timeouts, link policy) in the totem section."""
    rings = list(spec.settings.get("ring_networks") or [spec.management_network.name])
    nodes = "".join(
        f"    node {{\n        name: {node.name}\n        nodeid: {index}\n"
        + "".join(f"        ring{link}_addr: {node.addresses[net]}\n" for link, net in enumerate(rings))
        + "    }\n"
        for index, node in enumerate(spec.members, start=1)
    )
    # two_node lets a 2-node cluster keep quorum when one node dies (it implies wait_for_all).
    two_node = "    two_node: 1\n" if len(spec.members) == 2 else ""
    return (
        "totem {\n    version: 2\n"
        f"    cluster_name: {spec.settings['cluster_name']}\n"
        "    transport: knet\n    crypto_cipher: aes256\n    crypto_hash: sha256\n"
        f"{totem_extra}}}\n\n"
        f"nodelist {{\n{nodes}}}\n\n"
        f"quorum {{\n    provider: corosync_votequorum\n{two_node}}}\n\n"
        "logging {\n    to_logfile: yes\n    logfile: /var/log/corosync/corosync.log\n"
        "    to_syslog: yes\n    timestamp: on\n}\n"
    )


def fencing_crm(spec: LabSpec) -> str:
    """Fencing on, the lab's fence device, and stickiness so a returning node does not pull resources back."""
    hosts = " ".join(spec.member_names)
    return f"""\
property stonith-enabled=true
rsc_defaults resource-stickiness=100
primitive fence-lab stonith:fence_halab params pcmk_host_list="{hosts}" op monitor interval=60s
"""


def crm_config(spec: LabSpec) -> str:
    prefix = spec.management_network.subnet.prefixlen
    return fencing_crm(spec) + f"""\
primitive web-ip IPaddr2 params ip={spec.settings['floating_ip']} cidr_netmask={prefix} op monitor interval=10s
primitive web-server apache params configfile=/etc/apache2/apache2.conf \\
    statusurl="http://localhost/server-status" op monitor interval=10s
group web web-ip web-server
"""


def cluster_formed(lab: Lab, count: int) -> bool:
    """Every node online and the partition quorate, as the first member sees it."""
    status = crm_status(lab)
    # A rejoining node passes through standby while Pacemaker settles; count it only once it is active.
    return bool(status and status.quorate and sum(n.online and not n.standby for n in status.nodes.values()) == count)


def wait_for_cluster(lab: Lab, count: int, timeout: float, what: str = "every node online with quorum") -> None:
    wait_until(what, lambda: cluster_formed(lab, count), timeout=timeout, explain=lambda: node_states(lab))


def node_states(lab: Lab) -> str:
    """One line per node as the first member's crm_mon shows it, to explain why a wait for the cluster timed out."""
    first = lab.spec.member_names[0]
    result = lab.run(first, "crm_mon -1 --output-as=xml", timeout=30)
    try:
        status = crm_mon.parse(result.stdout)
    except ParseError as error:
        return f"crm_mon on {first} failed ({result.exit_status}): {(result.stderr or str(error))[-300:]}"
    nodes = "; ".join(
        f"{n.name} online={n.online} standby={n.standby} unclean={n.unclean}" for n in status.nodes.values()
    )
    return f"quorate={status.quorate} {nodes}"


def crm_status(lab: Lab) -> crm_mon.ClusterStatus | None:
    try:
        status = crm_mon.parse(lab.run(lab.spec.member_names[0], "crm_mon -1 --output-as=xml").stdout)
    except (HalabError, ParseError):
        return None
    return status if status.connected else None


def form_cluster(lab: Lab, progress: Progress, conf: str | None = None, wait: bool = True) -> None:
    """corosync.conf (``conf``, or the plain one) and a shared authkey on every node, corosync and pacemaker
    started and enabled; then, unless ``wait`` is False (a caller with other work meanwhile, or several
    clusters to form), until every node is online with quorum."""
    spec = lab.spec
    names = spec.member_names
    progress("writing corosync.conf on every node")
    for node in names:
        lab.write_file(node, "/etc/corosync/corosync.conf", conf or corosync_conf(spec))
    progress(f"creating the authkey on {names[0]} and copying it")
    # Kept when there is one: a running corosync read its key at start, so a new key on disk would split the
    # cluster at the next restart (solving a solved lab again: `halab break`, `halab solve` on a broken lab).
    must(lab, names[0], "test -s /etc/corosync/authkey || corosync-keygen")
    authkey = lab.read_file(names[0], "/etc/corosync/authkey")
    for node in names[1:]:
        lab.write_file(node, "/etc/corosync/authkey", authkey, 0o400)
    progress("starting and enabling corosync and pacemaker")
    on_all(lab, "systemctl enable --now corosync pacemaker", timeout=180)
    if wait:
        wait_for_cluster(lab, len(names), timeout=240)


def configure(lab: Lab, crm_text: str, progress: Progress) -> None:
    progress("configuring the cluster resources (crmsh)")
    node = lab.spec.member_names[0]
    lab.write_file(node, "/root/halab-solution.crm", crm_text)
    must(lab, node, "crm configure load update /root/halab-solution.crm", timeout=120)


def write_pages(lab: Lab, progress: Progress) -> None:
    progress("writing a web page on every node")
    for node in lab.spec.member_names:
        lab.write_file(node, "/var/www/html/index.html", f"<h1>halab web service on {node}</h1>\n")


def wait_for_web(lab: Lab, resources: tuple[str, ...] = ("web-ip", "web-server", "fence-lab"),
                 timeout: float = 120) -> None:
    """The service's resources started (the reference's names unless a solution names its own), then its page."""
    wait_until(f"{', '.join(resources)} to start", lambda: resources_started(lab, *resources), timeout=timeout)
    url = f"http://{lab.spec.settings['floating_ip']}/"
    wait_until(f"{url} to answer", lambda: probe_http(url, timeout=2)["status"] == 200, timeout=60)


def solve(lab: Lab, progress: Progress) -> None:
    write_pages(lab, progress)
    form_cluster(lab, progress)
    configure(lab, crm_config(lab.spec), progress)
    wait_for_web(lab)


def resources_started(lab: Lab, *resource_ids: str) -> bool:
    status = crm_status(lab)
    if status is None:
        return False
    resources = [status.resource(rid) for rid in resource_ids]
    return all(r is not None and r.active and r.role == "Started" for r in resources)


