"""The virtualization kind's break-fix scenarios (issue 24; the contract is graders/scenario.py).

Each breaks the reference solution's lab (solutions/virtualization.py: the libvirt network ``vm_network`` bridged
onto ``vm_bridge`` on both hypervisors, the guest's XML on the shared storage at ``guest_config``, the lab's root
SSH key between the hypervisors as the migration transport, and the VirtualDomain resource vm-``guest_name`` with
migration_transport=ssh and allow-migrate=true beside the fence device fence-lab) the way a pair of hypervisors
goes wrong in real life: something an admin did on one of them, or a setting copied from the wrong place. The
clustering kind's fence host list is reused as it is (it breaks only what both labs share); its leftover ban is
this lab's own, since here the banned resource is the guest. Every root-cause check reads what the lab's own
checks read (libvirt's state through libvirt-python, the CIB, the transports the collector probed from each
hypervisor), so any names or equivalent repair pass, and the masking repair (``masks``) does not.
"""

from __future__ import annotations

from graders.checks import Verdict
from graders.clustering.scenarios import FenceHostList, LeftoverBan
from graders.collectors.cib import Cib
from graders.facts import LabFacts
from graders.scenario import Run, Scenario, Step, Swap, cause_verdict
from graders.virtualization.checks import _config_file, domain_network, guest_running, network_active
from graders.virtualization.hypervisors import every
from graders.virtualization.resource_checks import autostart_off, migration_transport, vm_resource
from halab.spec import LabSpec

AUTHORIZED = "/root/.ssh/authorized_keys"
OWN_KEY = "/root/.ssh/id_ed25519.pub"


class Hypervisors(Scenario):
    """Where to look in this lab when the root cause is not repaired yet."""

    hint = ("Find what changed since the lab worked, on both hypervisors: crm_mon -1 and cibadmin --query (the "
            "resource, its parameters, constraints), virsh net-list --all and virsh list --all (networks and "
            "guests, with their autostart), virsh -c qemu+ssh://<other>/system uri (can one hypervisor reach the "
            "other as a migration would), journalctl -u pacemaker -u libvirtd; repair that. Hiding the symptom "
            "does not count.")


def resource(spec: LabSpec) -> str:
    return f"vm-{spec.settings['guest_name']}"


def other_hypervisor(spec: LabSpec) -> str:
    """The hypervisor a single-node fault is made on: the last one (the guest starts on the first)."""
    return spec.member_names[-1]


def _network_started(spec: LabSpec) -> str:
    network = spec.settings["vm_network"]
    return f"virsh net-info {network} | grep -q '^Active: *yes' || virsh net-start {network}"


class NetworkNotAutostarted(Hypervisors):
    name = "network-not-autostarted"
    summary = ("On hv2 the libvirt network lost its autostart (net-autostart --disable, or redefined from a file "
               "without net-autostart) and hv2 came back without it started, as after a reboot: a guest can "
               "neither start nor live-migrate there.")
    expected_failures = ("network-active",)
    masked_failures = ("network-active",)  # started by hand: the next reboot loses it again
    settle_seconds = 2.0

    def breaks(self, spec: LabSpec) -> list[Step]:
        network = spec.settings["vm_network"]
        return [Run(other_hypervisor(spec), f"virsh net-autostart --disable {network} && virsh net-destroy {network}")]

    def repairs(self, spec: LabSpec) -> list[Step]:
        return [Run(other_hypervisor(spec),
                    f"{{ {_network_started(spec)}; }} && virsh net-autostart {spec.settings['vm_network']}")]

    def masks(self, spec: LabSpec) -> list[Step]:
        return [Run(other_hypervisor(spec), _network_started(spec))]

    def root_cause(self, facts: LabFacts) -> Verdict:
        return cause_verdict(facts, [], (network_active,), "the network is started and autostarted on every "
                                                           "hypervisor")


class GuestLeftoverBan(Hypervisors, LeftoverBan):
    """The clustering kind's leftover ban, of the guest: its resource, and any group or clone holding it."""

    name = "guest-leftover-ban"
    summary = ("`crm_resource --ban` live-migrated the guest off its hypervisor for maintenance and nobody cleared "
               "it: the next hypervisor loss has nowhere to restart the guest.")
    settle_seconds = 10.0
    off = ("the guest off a hypervisor", "the guest off any hypervisor")

    def resource(self, spec: LabSpec) -> str:
        return resource(spec)

    def guarded(self, facts: LabFacts, cib: Cib) -> set[str]:
        return {rid for p in cib.by_agent("VirtualDomain") for rid in (p.id, p.group, p.clone) if rid}


class MigrationKeyMissing(Hypervisors):
    name = "migration-key-missing"
    summary = ("hv2's /root/.ssh/authorized_keys was rewritten without hv1's key (a config-management run that "
               "knows only the admins' keys): hv1 cannot reach hv2's libvirtd over ssh, so a live migration from "
               "hv1 fails and Pacemaker falls back to stopping and booting the guest.")
    expected_failures = ("migration-transport",)
    settle_seconds = 1.0

    def breaks(self, spec: LabSpec) -> list[Step]:
        # The lab's nodes share one key pair: hv2's own public key is hv1's.
        return [Run(other_hypervisor(spec), f"key=$(cut -d' ' -f2 {OWN_KEY}) && grep -vF \"$key\" {AUTHORIZED} "
                                            f"> {AUTHORIZED}.new; mv {AUTHORIZED}.new {AUTHORIZED} && "
                                            f"chmod 600 {AUTHORIZED}")]

    def repairs(self, spec: LabSpec) -> list[Step]:
        # From hv2 (which still reaches hv1): fetch hv1's public key and authorize it, once.
        first = spec.member_names[0]
        return [Run(other_hypervisor(spec), f"key=$(ssh {first} cat {OWN_KEY}) && {{ grep -qxF \"$key\" {AUTHORIZED} "
                                            f"|| echo \"$key\" >> {AUTHORIZED}; }}")]

    def root_cause(self, facts: LabFacts) -> Verdict:
        hypervisors, problems = every(facts)
        for name, hypervisor in hypervisors.items():
            for peer in (p for p in facts.spec.member_names if p != name):
                probe = hypervisor.transports.get(f"ssh:{peer}")
                if probe is not None and probe.get("exit") != 0:
                    problems.append(f"root on {name} cannot log in to {peer} over ssh (virsh -c qemu+ssh://{peer}"
                                    "/system uri fails)")
        return cause_verdict(facts, problems, (migration_transport,), "root on each hypervisor logs in to the "
                                                                      "other with a key")


class GuestAutostarted(Hypervisors):
    name = "guest-autostarted"
    summary = ("On the hypervisor that does not run the guest, someone defined it again from the shared XML and "
               "turned libvirt's autostart on, to make sure it comes back after a reboot: at the next boot of that "
               "hypervisor libvirtd starts a second copy while Pacemaker runs the guest elsewhere.")
    expected_failures = ("autostart-off",)
    settle_seconds = 1.0

    def breaks(self, spec: LabSpec) -> list[Step]:
        s = spec.settings
        guest = s["guest_name"]
        command = (f"virsh domstate {guest} 2>/dev/null | grep -q running || "
                   f"{{ virsh define {s['guest_config']} && virsh autostart {guest}; }}")
        return [Run(node, command) for node in spec.member_names]

    def repairs(self, spec: LabSpec) -> list[Step]:
        guest = spec.settings["guest_name"]
        command = (f"! virsh dominfo {guest} 2>/dev/null | grep -q '^Persistent: *yes' || "
                   f"virsh autostart --disable {guest}")
        return [Run(node, command) for node in spec.member_names]

    def root_cause(self, facts: LabFacts) -> Verdict:
        return cause_verdict(facts, [], (autostart_off,), "libvirt autostarts the guest nowhere: Pacemaker alone "
                                                          "starts it")


def _set(spec: LabSpec, name: str, value: str, meta: bool = False) -> list[Step]:
    """Set a parameter (or meta attribute) of the guest's resource with crm_resource."""
    what = f"--resource {resource(spec)}{' --meta' if meta else ''}"
    return [Run(spec.member_names[0], f"crm_resource {what} --set-parameter {name} --parameter-value {value}")]


class MigrationOverTcp(Hypervisors, Swap):
    name = "migration-over-tcp"
    summary = ("The resource's migration_transport was changed from ssh to tcp (copied from a howto whose "
               "hypervisors run libvirtd's TCP socket): nothing listens there, so every live migration fails.")
    expected_failures = ("migration-transport",)
    settle_seconds = 10.0  # a changed parameter restarts the resource: the guest boots again

    def values(self, spec: LabSpec) -> tuple[str, str]:
        return "ssh", "tcp"

    def swap(self, spec: LabSpec, old: str, new: str) -> list[Step]:
        return _set(spec, "migration_transport", new)

    def root_cause(self, facts: LabFacts) -> Verdict:
        return cause_verdict(facts, [], (migration_transport,), "the guest migrates over a transport that works "
                                                                "both ways")


class AllowMigrateOff(Hypervisors, Swap):
    name = "allow-migrate-off"
    summary = ("allow-migrate was set to false on the resource (to \"stop those migrations\" during a storage "
               "problem) and never set back: every move now stops the guest and boots it on the other hypervisor.")
    expected_failures = ("vm-resource",)
    settle_seconds = 2.0

    def values(self, spec: LabSpec) -> tuple[str, str]:
        return "true", "false"

    def swap(self, spec: LabSpec, old: str, new: str) -> list[Step]:
        return _set(spec, "allow-migrate", new, meta=True)

    def root_cause(self, facts: LabFacts) -> Verdict:
        return cause_verdict(facts, [], (vm_resource,), "Pacemaker migrates the guest live again")


def _edit_config(spec: LabSpec, old: str, new: str) -> str:
    """sed that replaces ``old`` by ``new`` in the guest's XML on the shared storage (one file, both see it)."""
    return f"sed -i \"s#{old}#{new}#\" {spec.settings['guest_config']}"


LOCAL_DISK = "/dev/vg0/guest1"  # a local LVM volume: where a test hypervisor kept the guest's disk


class ConfigWrongDisk(Hypervisors):
    name = "config-wrong-disk"
    summary = ("The guest's XML on the shared storage was replaced by one exported from a test hypervisor, whose "
               "disk is a local LVM volume (/dev/vg0/guest1), and the resource was restarted to apply it: the start "
               "fails on both hypervisors and the guest stays down.")
    expected_failures = ("guest-running", "vm-resource")
    settle_seconds = 20.0

    @staticmethod
    def _sources(spec: LabSpec) -> tuple[str, str]:
        return f"<source dev='{spec.settings['guest_disk']}'/>", f"<source dev='{LOCAL_DISK}'/>"

    def breaks(self, spec: LabSpec) -> list[Step]:
        right, wrong = self._sources(spec)
        first, vm = spec.member_names[0], resource(spec)
        # The admin restarts the guest to apply the new file: stopped, then started once the stop is done.
        return [Run(first, _edit_config(spec, right, wrong)),
                Run(first, f"crm resource stop {vm} && crm_resource --wait --timeout=150s && crm resource start {vm}",
                    180)]

    def repairs(self, spec: LabSpec) -> list[Step]:
        right, wrong = self._sources(spec)
        first = spec.member_names[0]
        return [Run(first, _edit_config(spec, wrong, right)), Run(first, f"crm_resource --cleanup --resource "
                                                                         f"{resource(spec)}")]

    def root_cause(self, facts: LabFacts) -> Verdict:
        config, shared = _config_file(facts), facts.spec.settings["guest_disk"]
        problems = [] if isinstance(config, str) or any(d.source == shared for d in config.main_disks) else \
            [f"{facts.spec.settings['guest_config']} gives the guest the disk "
             f"{', '.join(d.source for d in config.main_disks) or '(none)'}, not the shared disk {shared}"]
        return cause_verdict(facts, problems, (guest_running, vm_resource), "the guest starts from its shared disk")


class ConfigWrongNetwork(Hypervisors, Swap):
    name = "config-wrong-network"
    summary = ("The guest's XML on the shared storage was regenerated with virt-install's defaults and now plugs the "
               "guest into libvirt's 'default' network (NAT on one hypervisor): it runs on today, and the next start "
               "of the guest fails, or puts it where its clients cannot reach it.")
    expected_failures = ("domain-network",)
    settle_seconds = 1.0

    def values(self, spec: LabSpec) -> tuple[str, str]:
        return f"<source network='{spec.settings['vm_network']}'/>", "<source network='default'/>"

    def swap(self, spec: LabSpec, old: str, new: str) -> list[Step]:
        return [Run(spec.member_names[0], _edit_config(spec, old, new))]

    def root_cause(self, facts: LabFacts) -> Verdict:
        return cause_verdict(facts, [], (domain_network,), "the guest's XML puts it on the lab's network")


SCENARIOS: list[Scenario] = [NetworkNotAutostarted(), GuestLeftoverBan(), FenceHostList(), MigrationKeyMissing(),
                             GuestAutostarted(), MigrationOverTcp(), AllowMigrateOff(), ConfigWrongNetwork(),
                             ConfigWrongDisk()]
