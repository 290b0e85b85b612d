"""The virtualization lab's parsers and checks, on libvirt XML and state recorded from its real hypervisors
(tests/fixtures/virtualization: libvirt 9.0, QEMU 7.2 under TCG, in nspawn containers; made by
tests/fixtures/scenarios_virtualization.py)."""

from __future__ import annotations

import copy
import json
import re
from functools import cache
from typing import Any

import pytest

from graders.collectors import ParseError, cib, guest_status, libvirt_domain, libvirt_network, ping
from graders.grade import evaluate
from graders.report import Report
from halab.spec import load_spec
from tests.support.paths import FIXTURES as ALL_FIXTURES

FIXTURES = ALL_FIXTURES / "virtualization"
LIBVIRT_CHECKS = {"network-defined", "network-bridged", "network-active", "domain-defined", "domain-config",
                  "domain-disk", "domain-network", "guest-running", "autostart-off"}
CLUSTER_CHECKS = {"membership", "stonith", "vm-resource", "migration-transport", "no-leftover-constraints"}


@cache
def raw(scenario: str) -> dict[str, Any]:
    return json.loads((FIXTURES / f"{scenario}.json").read_text())


def grade(scenario: str, data: dict[str, Any] | None = None) -> Report:
    return evaluate(load_spec("virtualization"), data if data is not None else raw(scenario), unrun_faults_count=False)


def failed(report: Report) -> set[str]:
    return {c.id for c in report.failed}


def feedback(report: Report, check_id: str) -> str:
    return next(c.feedback for c in report.checks if c.id == check_id)


def libvirt(scenario: str, node: str, key: str, name: str) -> dict[str, Any]:
    return next(item for item in raw(scenario)["libvirt"][node][key] if item["name"] == name)


def test_network_xml() -> None:
    bridged = libvirt_network.parse(libvirt("solved", "hv1", "networks", "vmnet")["xml"])
    assert (bridged.name, bridged.forward, bridged.bridge, bridged.onto_host_bridge) == ("vmnet", "bridge", "br0", True)
    assert bridged.addresses == () and not bridged.dhcp
    nat = libvirt_network.parse(libvirt("seed", "hv1", "networks", "vmnet")["xml"])  # labs/adapted/virtualization.sh
    assert (nat.forward, nat.bridge, nat.addresses, nat.dhcp) == ("nat", "virbr1", ("192.168.100.1/24",), True)
    assert not nat.onto_host_bridge
    isolated = libvirt_network.parse("<network><name>x</name><ip address='10.0.0.1' prefix='24'/></network>")
    assert (isolated.forward, isolated.addresses) == ("isolated", ("10.0.0.1/24",))
    macvtap = libvirt_network.parse("<network><name>m</name><forward mode='bridge'><interface dev='eth1'/>"
                                    "</forward></network>")
    assert macvtap.forward_devices == ("eth1",) and not macvtap.onto_host_bridge
    for garbage in ("", "<network>", "<domain><name>x</name></domain>", "<network/>"):
        with pytest.raises(ParseError):
            libvirt_network.parse(garbage)


def test_domain_xml_and_state() -> None:
    running = libvirt("solved", "hv1", "domains", "guest1")
    guest = libvirt_domain.parse(running["xml"])
    assert (guest.name, guest.hypervisor, guest.memory_mib, guest.vcpus) == ("guest1", "qemu", 128, 1)
    assert guest.os_id == "http://libosinfo.org/linux/2022"
    disk = guest.main_disks[0]
    assert (disk.type, disk.source, disk.format, disk.cache, disk.bus) == ("block", "/dev/san/guest1", "raw", "none",
                                                                          "virtio")
    assert guest.interfaces[0].network == "vmnet" and guest.interfaces[0].model == "virtio"
    assert guest.emulated_devices() == []
    assert libvirt_domain.state_name(running["state"]) == "running" and running["state"] in libvirt_domain.ACTIVE_STATES
    # After a live migration the source keeps its persistent definition, shut off; the copies are one domain.
    left = libvirt("migrated", "hv1", "domains", "guest1")
    assert (libvirt_domain.state_name(left["state"]), left["persistent"]) == ("shut off", True)
    assert libvirt_domain.parse(left["xml"]).uuid == libvirt_domain.parse(
        libvirt("migrated", "hv2", "domains", "guest1")["xml"]).uuid
    # virt-install without an OS (--osinfo detect=on,require=off) gave it emulated devices, on hv1's own disk.
    local = libvirt_domain.parse(libvirt("local-disk", "hv1", "domains", "guest1")["xml"])
    assert local.memory_mib == 256 and local.os_id == "" and local.main_disks[0].source.startswith("/var/lib/libvirt")
    assert local.emulated_devices() == ["disk hda on ide", "NIC e1000"]
    assert libvirt_domain.parse("<domain><name>g</name><memory unit='GiB'>2</memory></domain>").memory_mib == 2048
    assert libvirt_domain.state_name(99) == "state 99" and libvirt_domain.state_name(None) == "unknown"
    with pytest.raises(ParseError):
        libvirt_domain.parse("<network><name>x</name></network>")


def test_guest_status_page() -> None:
    status = guest_status.parse(raw("solved")["nodes"]["hv1"]["commands"]["guest_status"]["stdout"])
    assert status.name == "guest1" and len(status.boot_id) == 36 and status.uptime > 0 and status.boots == "1"
    with pytest.raises(ParseError):
        guest_status.parse("<html>It works!</html>")


def test_ping_of_a_live_migration() -> None:
    run = ping.parse((FIXTURES / "ping-migration.txt").read_text())
    assert len(run.replies) > 20
    assert [seq for _, seq in run.replies] == sorted(seq for _, seq in run.replies)
    # Pinged every 50 ms: the migration's pause is the longest silence, well under a second here.
    assert 0.05 <= run.longest_gap < 1 and run.downtime(0.05) == pytest.approx(run.longest_gap - 0.05)
    assert ping.parse("PING 10.0.0.9 (10.0.0.9) 56(84) bytes of data.\n").longest_gap == 0
    with pytest.raises(ParseError):
        ping.parse("ping: unknown host")


def test_cib_meta_attributes() -> None:
    solved = cib.parse(raw("solved")["nodes"]["hv1"]["commands"]["cib"]["stdout"])
    assert solved.meta("vm-guest1", "allow-migrate") == "true"
    assert solved.meta("vm-guest1", "resource-stickiness") == "100"  # from rsc_defaults
    assert solved.primitives["vm-guest1"].params["migration_transport"] == "ssh"
    broken = cib.parse(raw("misconfigured-cluster")["nodes"]["hv1"]["commands"]["cib"]["stdout"])
    assert broken.meta("vm-guest1", "allow-migrate") == "false" and broken.meta("nothing", "x") is None


def test_fresh_and_solved() -> None:
    fresh = grade("fresh")
    assert fresh.score == 0 and failed(fresh) == LIBVIRT_CHECKS | CLUSTER_CHECKS
    assert "there is no /root/vmnet.xml on hv1 either" in feedback(fresh, "network-defined")
    for scenario in ("solved", "migrated"):
        report = grade(scenario)
        assert failed(report) == set() and report.score == report.max_score == 80, scenario


def test_the_seed_example_is_graded_with_its_mistakes() -> None:
    report = grade("seed")
    assert failed(report) == (LIBVIRT_CHECKS | CLUSTER_CHECKS) - {"network-defined"}
    assert "vmnet is a nat network (192.168.100.1/24) of hv1's own" in feedback(report, "network-bridged")
    assert "vmnet is not started on hv1" in feedback(report, "network-active")
    assert "no hypervisor knows a domain guest1" in feedback(report, "domain-defined")  # virt-install refused


def test_malformed_and_transient_networks() -> None:
    text = feedback(grade("broken-network"), "network-defined")
    # libvirt's own validator, with the line of the mistake, for the malformed file on hv1...
    assert "/root/vmnet.xml is not a valid network definition, virt-xml-validate says: /root/vmnet.xml:5: " \
           "parser error : Opening and ending tag mismatch: bridge line 4 and network" in text
    # ... and net-create's transient network on hv2.
    assert "vmnet is transient on hv2 (made with net-create?)" in text


def test_a_guest_on_local_storage() -> None:
    report = grade("local-disk")
    assert {"domain-disk", "domain-config", "domain-defined", "guest-running"} <= failed(report)
    assert {"network-defined", "network-bridged", "network-active", "domain-network"}.isdisjoint(failed(report))
    disk = feedback(report, "domain-disk")
    assert "/var/lib/libvirt/images/guest1.img is on hv1's own storage" in disk and "Migration without shared " \
           "storage is unsafe" in disk and "use the shared disk /dev/san/guest1" in disk
    assert "256 MiB on hv1, the task asks for 128 MiB" in feedback(report, "domain-config")
    assert "emulated hardware (disk hda on ide, NIC e1000)" in feedback(report, "domain-config")
    assert "the lab guest has virtio drivers only" in feedback(report, "guest-running")
    assert "hv2 does not know guest1" in feedback(report, "domain-defined")


def test_a_misconfigured_cluster() -> None:
    report = grade("misconfigured-cluster")
    assert failed(report) == {"vm-resource", "migration-transport", "autostart-off", "no-leftover-constraints"}
    assert "allow-migrate is not true" in feedback(report, "vm-resource")
    assert "no migration_transport" in feedback(report, "migration-transport")
    assert "guest1 autostarts on hv1" in feedback(report, "autostart-off")


def test_libvirtd_stopped_and_a_hypervisor_off() -> None:
    stopped = grade("libvirtd-stopped")
    assert failed(stopped) == LIBVIRT_CHECKS | {"vm-resource", "migration-transport"}
    assert all("libvirtd is not running on hv1 (systemctl says libvirtd is inactive)" in feedback(stopped, c)
               and "systemctl start libvirtd" in feedback(stopped, c) for c in LIBVIRT_CHECKS)
    off = grade("hypervisor-off")
    assert failed(off) == LIBVIRT_CHECKS | {"membership", "vm-resource", "migration-transport"}
    assert "hv2 is unreachable" in feedback(off, "domain-disk")


def test_a_guest_running_twice_and_a_config_off_the_shared_storage() -> None:
    data = copy.deepcopy(raw("migrated"))  # hv1 keeps guest1 defined, shut off: start it there too
    next(d for d in data["libvirt"]["hv1"]["domains"] if d["name"] == "guest1")["state"] = 1
    assert "guest1 runs on hv1 AND hv2" in feedback(grade("", data), "guest-running")
    data = copy.deepcopy(raw("solved"))
    for node in data["nodes"].values():
        node["commands"]["cib"]["stdout"] = node["commands"]["cib"]["stdout"].replace(
            "/srv/nas/guest1.xml", "/etc/libvirt/qemu/guest1.xml")
    assert "not on the shared storage" in feedback(grade("", data), "vm-resource")


@pytest.mark.parametrize(("started", "says"), [
    ("    3\n", "it started only 3 s ago and may still be booting"),  # graded while Pacemaker's start boots it
    ("  120\n", "is its interface on vmnet, and is vmnet started?"),  # long enough: not booting any more
    (None, "is its interface on vmnet, and is vmnet started?"),  # evidence recorded before the command was
])
def test_a_guest_that_does_not_answer_yet(started: str | None, says: str) -> None:
    """The check still fails (the guest does not answer now) but says why when it has only just started."""
    data = copy.deepcopy(raw("solved"))
    running = next(name for name, hv in data["libvirt"].items()
                   if any(d["name"] == "guest1" and d["state"] == 1 for d in hv["domains"]))
    commands = data["nodes"][running]["commands"]
    commands["guest_status"] |= {"exit": 28, "stdout": "",
                                 "stderr": "curl: (28) Connection timed out after 3002 milliseconds"}
    if started is not None:
        commands["guest_started_s"] = {"command": "ps", "exit": 0, "stdout": started, "stderr": ""}
    report = grade("", data)
    assert "guest-running" in failed(report)
    assert f"guest1 runs on {running} but does not answer" in feedback(report, "guest-running")
    assert says in feedback(report, "guest-running")


@pytest.mark.parametrize("libvirt_facts", [None, [], {"hv1": "x"}, {"hv1": {"error": "", "networks": "x"}},
                                           {"collector_error": "collecting libvirt failed: OSError: boom"},
                                           {"hv1": {"error": "", "networks": [{"xml": "<garbage"}], "domains": []}}])
def test_damaged_libvirt_facts_fail_with_an_explanation(libvirt_facts: Any) -> None:
    data = copy.deepcopy(raw("solved"))
    data["libvirt"] = libvirt_facts
    report = grade("", data)
    assert failed(report) >= LIBVIRT_CHECKS
    for check in report.checks:
        assert check.feedback and "grader could not evaluate" not in check.feedback, (check.id, check.feedback)


def test_a_failing_collector_becomes_an_explanation(monkeypatch: pytest.MonkeyPatch) -> None:
    from graders import collect
    from graders.virtualization import collect as libvirt_collect
    from halab.runtime.ssh import CommandResult
    from halab.runtime.state import LabState

    class QuietLab:
        """Answers every command with nothing; enough for collect_raw's own work."""

        name, spec = "virtualization", load_spec("virtualization")

        def client(self, node: str, timeout: float = 10) -> None:
            return None

        def run(self, node: str, command: str, timeout: float = 30) -> CommandResult:
            return CommandResult(1, "", "")

        def state(self) -> LabState:
            return LabState("virtualization", "nspawn", "")

    def broken(_lab: Any) -> dict[str, Any]:
        raise RuntimeError("libvirt went away")

    monkeypatch.setattr(libvirt_collect, "libvirt_facts", broken)
    raw_facts = collect.collect_raw(QuietLab())  # type: ignore[arg-type]
    assert raw_facts["libvirt"] == {"collector_error": "collecting libvirt failed: RuntimeError: libvirt went away"}
    assert "collecting libvirt failed" in feedback(grade("", raw_facts), "network-defined")


def test_domain_network_reads_the_xml_pacemaker_starts_the_guest_from() -> None:
    """A live `virsh dumpxml` of the running guest saved as the VirtualDomain config (the notebook's own command):
    its interface is type='bridge' with the network only remembered, and a port id that is gone at the next cold
    start. It passed, as only the defined domains were read."""
    data = copy.deepcopy(raw("solved"))
    live = ("<interface type='bridge'>\n      <mac address='52:54:00:41:3c:c1'/>\n      <source network='vmnet' "
            "portid='6f1f2a53-2a40-4cf6-9e2a-4b8e7d7b1a10' bridge='br0'/>\n      <target dev='vnet0'/>\n      "
            "<model type='virtio'/>\n    </interface>")
    for node in ("hv1", "hv2"):
        out = data["nodes"][node]["commands"]["guest_config_xml"]
        out["stdout"] = re.sub(r"<interface type='network'>.*?</interface>", live, out["stdout"], flags=re.S)
    report = grade("solved", data=data)
    assert failed(report) == {"domain-network"}
    text = feedback(report, "domain-network")
    assert "/srv/nas/guest1.xml (what Pacemaker starts the guest from)" in text and "live XML" in text
    assert "dumpxml --inactive" in text
    assert "domain-network" not in failed(grade("solved"))
