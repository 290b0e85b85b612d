"""Checks for the virtualization lab: the libvirt network, the guest, and the guest as a Pacemaker resource.

What libvirt knows comes from libvirt-python (graders/virtualization/hypervisors.py); the cluster's view from
crm_mon and the CIB, as in the clustering lab. Each check names what differs from the task, on which
hypervisor, and why it matters for a VM that must move between hypervisors.
"""

from __future__ import annotations

from contextlib import suppress
from pathlib import PurePosixPath

from graders.checks import CheckTable, Verdict, fail, ok
from graders.clustering.checks import CHECKS as CLUSTER_CHECKS
from graders.collectors import ParseError, guest_status, libvirt_domain, libvirt_network
from graders.collectors.cib import Primitive
from graders.facts import FactMissing, LabFacts
from graders.virtualization.hypervisors import DomainState, Hypervisor, every

CHECKS = CheckTable()
CHECKS.reuse(CLUSTER_CHECKS, "membership", "stonith", "no-leftover-constraints")
TRUE = ("true", "yes", "1", "on", "y")


def _all(facts: LabFacts) -> dict[str, Hypervisor]:
    """Every hypervisor's libvirt state; FactMissing if one cannot be read (these checks need both)."""
    hypervisors, problems = every(facts)
    if problems:
        raise FactMissing("; ".join(problems))
    return hypervisors


def _file_note(facts: LabFacts, node: str, wanted: str) -> str:
    """What is wrong with the student's network XML file on the node, in libvirt's own words."""
    path = facts.spec.settings["network_xml"]
    try:
        valid = facts.nodes[node].output("network_xml_valid")
        text = facts.nodes[node].output("network_xml")
    except FactMissing:
        return ""
    if text["exit"] != 0:
        return f"; there is no {path} on {node} either"
    if valid["exit"] != 0:
        message = " | ".join(line.strip() for line in (valid["stderr"] or valid["stdout"]).splitlines()[:3])
        return f"; {path} is not a valid network definition, virt-xml-validate says: {message}"
    with suppress(ParseError):
        named = libvirt_network.parse(text["stdout"]).name
        if named != wanted:
            return f"; {path} defines a network named {named!r}: its <name> is the name to use in every command"
    return f"; {path} looks right: define it with virsh net-define {path}"


@CHECKS.check("network-defined", "The libvirt network {vm_network} is defined on both hypervisors",
              "Write the network XML to {network_xml} on each hypervisor, then: virsh net-define {network_xml}")
def network_defined(facts: LabFacts) -> Verdict:
    wanted = facts.spec.settings["vm_network"]
    hypervisors, problems = every(facts)
    for name, hypervisor in hypervisors.items():
        network = hypervisor.networks.get(wanted)
        if network is None:
            others = ", ".join(hypervisor.networks) or "none"
            problems.append(f"{name} has no network {wanted} (its networks: {others}){_file_note(facts, name, wanted)}")
        elif not network.persistent:
            problems.append(f"{wanted} is transient on {name} (made with net-create?): it is gone as soon as it stops "
                            "or libvirtd restarts; define it with virsh net-define "
                            f"{facts.spec.settings['network_xml']}")
    return fail("; ".join(problems)) if problems else ok(f"{wanted} is defined on {', '.join(hypervisors)}")


def _bridging_problem(name: str, network: libvirt_network.NetworkDef, bridge: str) -> str:
    if network.onto_host_bridge and network.bridge == bridge:
        return ""
    if network.forward == "bridge" and network.forward_devices:
        return (f"{name}: {network.name} is a macvtap network (on {', '.join(network.forward_devices)}); the lab's "
                f"hypervisors are containers, where macvtap's /dev/tapN devices do not exist: bridge onto {bridge}")
    if network.onto_host_bridge:
        return (f"{name}: {network.name} plugs guests into {network.bridge}, but the hypervisor's bridge on the VM "
                f"network is {bridge}")
    subnet = f" ({', '.join(network.addresses)})" if network.addresses else ""
    return (f"{name}: {network.name} is a {network.forward} network{subnet} of {name}'s own: a guest on it is "
            f"reachable through {name} only, so after moving to the other hypervisor it would be cut off from its "
            f"clients; put the guests on the VM network instead: <forward mode='bridge'/><bridge name='{bridge}'/>")


@CHECKS.check("network-bridged", "{vm_network} puts guests on the VM network (bridge {vm_bridge}) on both",
              "<network><name>{vm_network}</name><forward mode='bridge'/><bridge name='{vm_bridge}'/></network>")
def network_bridged(facts: LabFacts) -> Verdict:
    wanted, bridge = facts.spec.settings["vm_network"], facts.spec.settings["vm_bridge"]
    hypervisors = _all(facts)
    problems = []
    for name, hypervisor in hypervisors.items():
        network = hypervisor.networks.get(wanted)
        problem = f"{name} has no network {wanted} yet" if network is None else \
            _bridging_problem(name, network.definition, bridge)
        if problem:
            problems.append(problem)
    return fail("; ".join(problems)) if problems else ok(f"{wanted} bridges guests onto {bridge} on both hypervisors")


@CHECKS.check("network-active", "{vm_network} is active and starts with libvirtd on both hypervisors",
              "virsh net-start {vm_network} and virsh net-autostart {vm_network}: the same name as in the XML "
              "(the seed's example defines network.xml and then starts 'default')")
def network_active(facts: LabFacts) -> Verdict:
    wanted = facts.spec.settings["vm_network"]
    problems = []
    for name, hypervisor in _all(facts).items():
        network = hypervisor.networks.get(wanted)
        if network is None:
            problems.append(f"{name} has no network {wanted} yet")
            continue
        if not network.active:
            active = [n for n, net in hypervisor.networks.items() if net.active]
            problems.append(f"{wanted} is not started on {name}" + (f" ({', '.join(active)} is)" if active else "")
                            + f": a guest on it cannot start there; virsh net-start {wanted}")
        if not network.autostart:
            problems.append(f"{wanted} does not autostart on {name}: after {name} reboots (or is fenced), libvirtd "
                            f"would not start it and the guest could not run there; virsh net-autostart {wanted}")
    return fail("; ".join(problems)) if problems else ok(f"{wanted} active and autostarted on both hypervisors")


def _virtual_domain(facts: LabFacts) -> Primitive | None:
    """The cluster's VirtualDomain resource for the guest (the one whose config is the task's file, else any)."""
    try:
        _, cib = facts.cluster_view(lambda node: node.cib())
    except FactMissing:
        return None
    domains = cib.by_agent("VirtualDomain")
    wanted = facts.spec.settings["guest_config"]
    return next((p for p in domains if p.params.get("config") == wanted), domains[0] if domains else None)


def _definitions(facts: LabFacts) -> dict[str, DomainState]:
    """The guest's domain on each hypervisor that knows it."""
    guest = facts.spec.settings["guest_name"]
    return {name: hv.domains[guest] for name, hv in _all(facts).items() if guest in hv.domains}


@CHECKS.check("domain-defined", "The guest {guest_name} is defined on both hypervisors, its XML on the shared storage",
              "virt-install on one hypervisor; virsh dumpxml --inactive {guest_name} > {guest_config} (the "
              "definition, not the running guest's live XML); on the other: virsh define {guest_config} "
              "(notebook 6, section 6.5, task vm)")
def domain_defined(facts: LabFacts) -> Verdict:
    s = facts.spec.settings
    guest, config = s["guest_name"], s["guest_config"]
    known = _definitions(facts)
    if not known:
        return fail(f"no hypervisor knows a domain {guest}")
    resource = _virtual_domain(facts)
    problems = []
    for name in facts.spec.member_names:
        if name not in known and not (resource and resource.params.get("config") == config):
            problems.append(f"{name} does not know {guest}: define it there from the same XML (virsh define {config}), "
                            f"or it cannot run the guest")
    if len({d.definition.uuid for d in known.values()}) > 1:
        problems.append(f"the {guest} of {' and '.join(known)} are different domains (their UUIDs differ): define the "
                        f"second from the first one's XML, {config}")
    shared = _config_file(facts)
    if isinstance(shared, str):
        problems.append(shared)
    elif shared.name != guest:
        problems.append(f"{config} describes {shared.name}, not {guest}")
    return fail("; ".join(problems)) if problems else ok(
        f"{guest} is known on {', '.join(known)}" + (f" (and to Pacemaker, from {config})" if resource else ""))


def _config_file(facts: LabFacts) -> libvirt_domain.DomainDef | str:
    """The guest's XML on the shared storage, or why it cannot be read."""
    config = facts.spec.settings["guest_config"]
    reasons = []
    for node in facts.each():
        try:
            out = node.output("guest_config_xml")
        except FactMissing as exc:
            reasons.append(str(exc))
            continue
        if out["exit"] != 0:
            guest = facts.spec.settings["guest_name"]
            return f"there is no {config} on the shared storage (virsh dumpxml {guest} > {config})"
        try:
            return libvirt_domain.parse(out["stdout"])
        except ParseError as exc:
            return f"{config} is not a domain definition: {exc}"
    return "; ".join(reasons)


@CHECKS.check("domain-config", "{guest_name} has {guest_memory_mib} MiB of memory and a recorded OS (virt-install)",
              "virt-install --memory {guest_memory_mib} --osinfo linux2022 (the old --ram still works; --os-type is "
              "deprecated and ignored, so it names no OS); once Pacemaker runs the guest, change its memory in "
              "the XML file the resource starts it from, then restart the resource (a running guest keeps its size)")
def domain_config(facts: LabFacts) -> Verdict:
    s = facts.spec.settings
    known = _definitions(facts)
    if not known:
        return fail(f"no hypervisor knows a domain {s['guest_name']}")
    problems = []
    for name, domain in known.items():
        if domain.definition.memory_mib != int(s["guest_memory_mib"]):
            problems.append(f"{s['guest_name']} has {domain.definition.memory_mib} MiB on {name}, the task asks for "
                            f"{s['guest_memory_mib']} MiB (virt-install --memory {s['guest_memory_mib']}, or "
                            "<memory> in the XML file the cluster starts it from)")
        if not domain.definition.os_id:
            emulated = domain.definition.emulated_devices()
            problems.append(f"{s['guest_name']} on {name} records no operating system, so virt-install chose "
                            + (f"emulated hardware ({', '.join(emulated)})" if emulated else "generic hardware")
                            + ": --osinfo (or --os-variant) linux2022 gives it virtio devices")
    first = next(iter(known.values())).definition
    return fail("; ".join(problems)) if problems else ok(
        f"{first.memory_mib} MiB, OS {first.os_id.removeprefix('http://libosinfo.org/')}")


def _disk_problem(name: str, domain: DomainState, shared: str, nas: str) -> str:
    disks = domain.definition.main_disks
    if any(d.source == shared for d in disks):
        return ""
    if not disks:
        return f"{name}: the guest has no disk"
    path = disks[0].source or "(no source)"
    if nas and PurePosixPath(path).is_relative_to(nas):
        return (f"{name}: its disk {path} is a file in {nas}; that directory is shared, but libvirt sees a local "
                f"file system there and refuses a live migration ('Unsafe migration: Migration without shared "
                f"storage is unsafe'): use the shared disk {shared}")
    return (f"{name}: its disk {path} is on {name}'s own storage, which the other hypervisor cannot see: a live "
            f"migration would fail ('Migration without shared storage is unsafe') and after a failover there would "
            f"be no disk to boot; use the shared disk {shared}")


@CHECKS.check("domain-disk", "{guest_name}'s disk is the shared disk {guest_disk}",
              "virt-install --import --disk path={guest_disk}: the provided disk, which both hypervisors see")
def domain_disk(facts: LabFacts) -> Verdict:
    shared = facts.spec.settings["guest_disk"]
    nas = next((st.path for st in facts.spec.shared_storage if st.type == "directory"), "")
    known = _definitions(facts)
    if not known:
        return fail(f"no hypervisor knows a domain {facts.spec.settings['guest_name']}")
    problems = [p for p in (_disk_problem(name, domain, shared, nas) for name, domain in known.items()) if p]
    return fail("; ".join(problems)) if problems else ok(f"{shared} on {', '.join(known)}")


def _network_problem(where: str, interfaces: tuple[libvirt_domain.Interface, ...], network: str,
                     definition: bool = False) -> str:
    """What keeps the guest off ``network``, or "". A running domain's live XML keeps the network of a bridged
    interface, which is fine for libvirt's own view; a ``definition`` (the file a guest is created from) must
    say type='network'."""
    if any(i.network == network and (i.type == "network" or not definition) for i in interfaces):
        return ""
    if not interfaces:
        return f"{where}: the guest has no network interface"
    first = interfaces[0]
    if first.type == "bridge" and first.network == network:
        return (f"{where}: the interface is type='bridge' on {first.bridge} with the network {network} only "
                "remembered: that is a running guest's live XML (virsh dumpxml of a running guest), not its "
                f"definition; save the definition with virsh dumpxml --inactive")
    if first.bridge:
        return (f"{where}: the guest is plugged into the bridge {first.bridge} directly, not through the libvirt "
                f"network {network} the task defines")
    return f"{where}: the guest is on {first.network or first.type}, not {network}"


@CHECKS.check("domain-network", "{guest_name} is on the libvirt network {vm_network}, in the XML Pacemaker starts it "
              "from", "virt-install --network network={vm_network}; then virsh dumpxml --inactive {guest_name} > "
              "{guest_config} (a running guest's live XML has its interface as a bridge)")
def domain_network(facts: LabFacts) -> Verdict:
    """Both what libvirt has defined and the XML file the VirtualDomain resource starts the guest from (at every
    start it undefines the domain and runs virsh create FILE): a file with the live XML passes today, while the
    guest runs, and fails at the next cold start."""
    s = facts.spec.settings
    known = _definitions(facts)
    config = _config_file(facts)
    if not known and isinstance(config, str):
        return fail(f"no hypervisor knows a domain {s['guest_name']}, and {config}")
    problems = [_network_problem(name, domain.definition.interfaces, s["vm_network"]) for name, domain in known.items()]
    if not isinstance(config, str):  # a missing file is domain-defined's to report
        problems.append(_network_problem(f"{s['guest_config']} (what Pacemaker starts the guest from)",
                                         config.interfaces, s["vm_network"], definition=True))
    problems = [p for p in problems if p]
    where = f", in {s['guest_config']} too" if not isinstance(config, str) else ""
    return fail("; ".join(problems)) if problems else ok(f"on {s['vm_network']}{where}")


# The lab guest answers some seconds after QEMU starts: 2.4-2.9 s into its own boot, and it did not yet 6 s after
# `crm resource restart` under load (measured here); one that has run this long and does not answer is not booting.
BOOTING_S = 30


def _started_seconds_ago(facts: LabFacts, node: str) -> int | None:
    """How long the guest's QEMU has run on the node, when that was recorded (evidence from before the command
    was collected has not)."""
    with suppress(FactMissing):
        out = facts.nodes[node].output("guest_started_s")
        if out["exit"] == 0 and out["stdout"].strip().isdigit():
            return int(out["stdout"].strip())
    return None


@CHECKS.check("guest-running", "{guest_name} runs on exactly one hypervisor and answers on {guest_address}",
              "Start it (virt-install starts it; later Pacemaker does); it answers at "
              "http://{guest_address}/cgi-bin/status")
def guest_running(facts: LabFacts) -> Verdict:
    s = facts.spec.settings
    running = [name for name, hv in _all(facts).items() if s["guest_name"] in hv.running()]
    if not running:
        return fail(f"{s['guest_name']} runs on no hypervisor")
    if len(running) > 1:
        return fail(f"{s['guest_name']} runs on {' AND '.join(running)}: two guests writing the same disk destroy its "
                    "data; stop one now (virsh destroy), and let only Pacemaker start it")
    node = facts.nodes[running[0]]
    out = node.output("guest_status")
    try:
        status = guest_status.parse(out["stdout"]) if out["exit"] == 0 else None
    except ParseError:
        status = None
    if status is None or status.name != s["guest_name"]:
        reason = (out["stderr"] or out["stdout"]).strip()[:120] or f"exit {out['exit']}"
        emulated = _all(facts)[running[0]].domains[s["guest_name"]].definition.emulated_devices()
        started = _started_seconds_ago(facts, running[0])
        why = (f"it has {', '.join(emulated)}, and the lab guest has virtio drivers only (virt-install --osinfo "
               "linux2022 gives it virtio devices)" if emulated else
               f"it started only {started} s ago and may still be booting (the lab guest needs several seconds "
               "before it answers): check again in a moment" if started is not None and started < BOOTING_S else
               f"is its interface on {s['vm_network']}, and is {s['vm_network']} started?")
        return fail(f"{s['guest_name']} runs on {running[0]} but does not answer on {s['guest_address']} ({reason}): "
                    + why)
    return ok(f"on {running[0]}, up for {status.uptime:.0f} s (boot {status.boots})")
