"""Checks for the virtualization lab's cluster side: the guest as a VirtualDomain resource that can migrate.

They register into the kind's table (graders/virtualization/checks.py), next to the libvirt checks.
"""

from __future__ import annotations

from pathlib import PurePosixPath

from graders.checks import Verdict, fail, ok
from graders.collectors.cib import Primitive
from graders.facts import FactMissing, LabFacts
from graders.virtualization.checks import CHECKS, TRUE, _all, _virtual_domain
from graders.virtualization.hypervisors import every

MIGRATABLE = ("ssh", "tcp")  # the transports that work between the lab's hypervisors (and are probed)


def _resource(facts: LabFacts) -> Primitive:
    resource = _virtual_domain(facts)
    if resource is None:
        facts.cluster_view(lambda node: node.cib())  # "Pacemaker is not running", when that is the reason
        raise FactMissing("no ocf:heartbeat:VirtualDomain resource in the cluster")
    return resource


@CHECKS.check("vm-resource", "Pacemaker runs {guest_name} as a VirtualDomain resource from {guest_config}, "
              "allow-migrate=true",
              "crm configure primitive vm-{guest_name} ocf:heartbeat:VirtualDomain params config={guest_config} "
              "hypervisor=qemu:///system migration_transport=ssh meta allow-migrate=true")
def vm_resource(facts: LabFacts) -> Verdict:
    s = facts.spec.settings
    resource = _resource(facts)
    _, cib = facts.cluster_view(lambda node: node.cib())
    problems = []
    config = resource.params.get("config", "")
    nas = [st.path for st in facts.spec.shared_storage if st.type == "directory"]
    if config != s["guest_config"]:
        where = "" if any(config and PurePosixPath(config).is_relative_to(p) for p in nas) else \
            ": that is not on the shared storage, so each hypervisor would read its own copy (or none)"
        problems.append(f"its config is {config or 'not set'}, not {s['guest_config']}{where}")
    hypervisor = resource.params.get("hypervisor", "qemu:///system")
    if hypervisor != "qemu:///system":
        problems.append(f"hypervisor={hypervisor}: the guests run in the system instance, qemu:///system")
    if (cib.meta(resource.id, "allow-migrate") or "false").lower() not in TRUE:
        problems.append("allow-migrate is not true: Pacemaker would move the guest by stopping it and booting it "
                        "again on the other hypervisor instead of migrating it live")
    _, status = facts.cluster_view(lambda node: node.crm_mon())
    running = status.resource(resource.id)
    libvirt_runs = [name for name, hv in _all(facts).items() if s["guest_name"] in hv.running()]
    if running is None or not running.active:
        failures = status.failures_of(resource.id)
        problems.append(f"{resource.id} is not running" + (f" ({'; '.join(failures[:2])})" if failures else ""))
    elif list(running.nodes) != libvirt_runs:
        problems.append(f"Pacemaker says {resource.id} runs on {', '.join(running.nodes)}, libvirt runs "
                        f"{s['guest_name']} on {', '.join(libvirt_runs) or 'no hypervisor'}")
    if problems or running is None:  # (running is None is a problem above)
        return fail(f"{resource.id}: " + "; ".join(problems))
    return ok(f"{resource.id} from {config} on {running.nodes[0]}, allow-migrate=true")


@CHECKS.check("migration-transport", "Each hypervisor reaches the other's libvirtd with the resource's migration "
              "transport", "migration_transport=ssh, with root's SSH key of each hypervisor in the other's "
              "authorized_keys and its host key in known_hosts (check: virsh -c qemu+ssh://<other>/system uri)")
def migration_transport(facts: LabFacts) -> Verdict:
    resource = _resource(facts)
    if resource.params.get("remoteuri"):
        return ok(f"a custom remoteuri ({resource.params['remoteuri']}): the live migration fault check tries it")
    transport = resource.params.get("migration_transport", "")
    if not transport:
        return fail("no migration_transport: VirtualDomain would then connect to qemu://<other>/system, which "
                    "needs TLS certificates the lab does not have; set migration_transport=ssh (or tcp)")
    if transport not in MIGRATABLE:
        return fail(f"migration_transport={transport}: the lab's hypervisors migrate over ssh or tcp")
    hypervisors, problems = every(facts)
    for name, hypervisor in hypervisors.items():
        for peer in (p for p in facts.spec.member_names if p != name):
            probe = hypervisor.transports.get(f"{transport}:{peer}")
            if probe is None:
                problems.append(f"{name} -> {peer} over {transport} was not tried")
            elif probe.get("exit") != 0:
                output = " | ".join(str(probe.get("output", "")).splitlines()[-2:])
                problems.append(f"{name} cannot reach {peer}'s libvirtd over {transport}: {output}")
    return fail("; ".join(problems) + _transport_hint(transport)) if problems else ok(
        f"{transport} works both ways between {' and '.join(hypervisors)}")


def _transport_hint(transport: str) -> str:
    if transport == "ssh":
        return (" (root on each hypervisor needs a key the other accepts and the other's host key in known_hosts, as "
                "the lab's nodes have from halab up: does ssh <other> true still work as root? There is no one to "
                "answer a prompt during a migration)")
    return " (libvirtd must listen on TCP: systemctl enable --now libvirtd-tcp.socket, with auth_tcp set)"


@CHECKS.check("autostart-off", "libvirt does not autostart {guest_name} on any hypervisor: Pacemaker starts it",
              "virsh autostart --disable {guest_name} on every hypervisor where it is defined")
def autostart_off(facts: LabFacts) -> Verdict:
    guest = facts.spec.settings["guest_name"]
    hypervisors = _all(facts)
    if not any(guest in hv.domains for hv in hypervisors.values()):
        return fail(f"no hypervisor knows a domain {guest}")
    on = [name for name, hv in hypervisors.items() if guest in hv.domains and hv.domains[guest].autostart]
    if on:
        return fail(f"{guest} autostarts on {', '.join(on)}: when libvirtd starts there (a reboot, a fenced "
                    f"hypervisor coming back) it boots the guest while Pacemaker runs it elsewhere, and two guests "
                    f"writing one disk destroy it")
    return ok("autostart is off everywhere")
