"""The virtualization kind: a libvirt network and a VM on two hypervisors, run by Pacemaker as a VirtualDomain
resource that live-migrates and fails over (lab virtualization). A Pacemaker cluster too, so it derives from
clustering; what libvirt knows is read with libvirt-python (collect.py) rather than from command output."""

from graders import clustering
from graders.virtualization import resource_checks  # noqa: F401 - registers the cluster-side checks
from graders.virtualization.checks import CHECKS
from halab.spec.kinds import FaultDef, register

# {names} are filled in from the lab's [settings].
VIRT_COMMANDS = {
    "libvirtd_active": "systemctl is-active libvirtd",
    "network_xml": "cat {network_xml}",
    "network_xml_valid": "virt-xml-validate {network_xml} network",
    "guest_config_xml": "cat {guest_config}",
    "guest_status": "curl -sS -m 3 http://{guest_address}/cgi-bin/status",
    # Seconds since this hypervisor's QEMU for the guest started (libvirt's pid file): a guest that does not
    # answer yet may only be booting.
    "guest_started_s": "ps -o etimes= -p \"$(cat /run/libvirt/qemu/{guest_name}.pid)\"",
}
_REQUIRES = ("membership", "stonith", "vm-resource", "domain-disk", "guest-running")

KIND = register(clustering.KIND.derive(
    "virtualization",
    settings=("cluster_name", "vm_network", "vm_bridge", "network_xml", "guest_name", "guest_disk", "guest_config",
              "guest_memory_mib", "guest_address"),
    optional_settings=("recovery_time_objective_s", "migration_downtime_objective_s"),
    tasks=("network", "vm", "cluster", "migration", "failover"),
    commands={**clustering.CLUSTER_COMMANDS, **VIRT_COMMANDS},
    checks=CHECKS.defs,
    faults={
        "live-migration": FaultDef(
            "live-migration", "Live migration: the guest moves to the other hypervisor and keeps running",
            "allow-migrate=true on the VirtualDomain resource, a migration transport that works both ways, and "
            "the disk on the shared storage.",
            (*_REQUIRES, "migration-transport"), "graders.virtualization.faults:live_migration"),
        "hypervisor-loss": FaultDef(
            "hypervisor-loss", "Loss of the hypervisor running the guest: it is started on the other one in time",
            "The survivor must keep quorum (two_node), fence the lost hypervisor, and start the guest from the "
            "shared disk; autostart must be off so the returning hypervisor does not start a second copy.",
            _REQUIRES, "graders.virtualization.faults:hypervisor_loss"),
    },
    probes={},  # the guest is asked from the hypervisors (guest_status): the host is not on the VM network
    collectors={"libvirt": "graders.virtualization.collect:libvirt_facts"},
    setup="graders.virtualization.setup:provide_guest",
    scenarios="graders.virtualization.scenarios:SCENARIOS",
))
