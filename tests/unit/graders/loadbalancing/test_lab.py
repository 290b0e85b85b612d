"""The loadbalancing lab's spec and the plans its VM providers make from it (libvirt domain XML, the Vagrant
plan): five nodes of three roles on one network, with addresses that do not collide."""

from __future__ import annotations

import ipaddress
import xml.etree.ElementTree as ET
from pathlib import Path

from halab.image.vmdisk import VmImage
from halab.providers.libvirt.provider import domain_xml, mac
from halab.providers.vagrant.provider import node_plan
from halab.runtime import labnet
from halab.spec import load_spec

LAB = "loadbalancing"


def test_five_nodes_of_three_roles_on_one_network() -> None:
    spec = load_spec(LAB)
    assert spec.kind == LAB and spec.default_provider == "nspawn" and set(spec.providers) == {"nspawn", "libvirt",
                                                                                                 "vagrant"}
    assert {role: [n.name for n in spec.with_role(role)] for role in ("balancer", "web", "client")} == {
        "balancer": ["lb1", "lb2"], "web": ["web1", "web2"], "client": ["client"]}
    assert spec.members == ()  # no Pacemaker cluster member in this lab
    assert sum(c.points for c in spec.checks) == 100
    assert {c.task for c in spec.checks} == {t.id for t in spec.tasks}


def test_the_virtual_ip_and_the_visitors_addresses_are_free_addresses_of_the_lab_network() -> None:
    spec = load_spec(LAB)
    subnet = spec.management_network.subnet
    taken = {str(n.addresses["lan"]) for n in spec.nodes} | {str(spec.management_network.host_address)}
    wanted = [spec.settings["virtual_ip"], *spec.settings["client_addresses"].split()]
    assert len(wanted) == len(set(wanted)) == 9
    for address in wanted:
        assert ipaddress.IPv4Address(address) in subnet and address not in taken


def test_libvirt_domains_are_valid_xml_with_the_lab_network() -> None:
    spec = load_spec(LAB)
    vm = VmImage(Path("/img/disk.qcow2"), Path("/img/vmlinuz"), Path("/img/initrd.img"))
    for node in spec.nodes:
        domain = ET.fromstring(domain_xml(spec, node, vm, "qemu"))
        assert domain.findtext("name", "").endswith(node.name)
        assert domain.findtext("memory") == "512"
        (interface,) = domain.findall("devices/interface")
        assert interface.find("source").get("bridge") == labnet.bridge(LAB, 0)  # type: ignore[union-attr]
        assert interface.find("mac").get("address") == mac(LAB, node.name, 0)  # type: ignore[union-attr]
        assert "net.ifnames=0" in domain.findtext("os/cmdline", "")  # eth0, as the solutions' keepalived.conf says


def test_vagrant_plans_match_the_lab() -> None:
    spec = load_spec(LAB)
    plans = [node_plan(spec, name, Path("/k/vmlinuz"), Path("/k/initrd.img")) for name in spec.node_names]
    assert [p["name"] for p in plans] == ["lb1", "lb2", "web1", "web2", "client"]
    assert all(p["networks"] == [{"bridge": labnet.bridge(LAB, 0), "mac": mac(LAB, p["name"], 0)}] for p in plans)
    assert all(p["disks_mib"] == [] and p["memory_mib"] == 512 for p in plans)
    assert len({p["management_mac"] for p in plans}) == 5
