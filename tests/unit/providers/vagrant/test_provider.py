"""The plan halab writes for the Vagrantfile (halab/providers/vagrant/provider.py): the machines Vagrant defines must
be the libvirt provider's nodes exactly (bridges, MAC addresses, disks), or cables, power and the seed
disk's network settings would not find them."""

from __future__ import annotations

from pathlib import Path

from halab.providers.libvirt.provider import mac
from halab.providers.vagrant.provider import node_plan
from halab.runtime import labnet
from halab.spec import load_spec


def test_drbd_plan_matches_the_lab() -> None:
    spec = load_spec("drbd")
    plan = node_plan(spec, "node2", Path("/k/vmlinuz"), Path("/k/initrd.img"))
    assert plan["name"] == "node2" and plan["kernel"] == "/k/vmlinuz"
    assert plan["networks"] == [{"bridge": labnet.bridge("drbd", i), "mac": mac("drbd", "node2", i)}
                                for i in range(len(spec.networks))]
    assert plan["disks_mib"] == [256]
    assert plan["management_mac"] not in {n["mac"] for n in plan["networks"]}
    assert "halab.seed" in plan["cmdline"] and "systemd.hostname=node2" in plan["cmdline"]
    assert plan["seed"].endswith("/drbd/nodes/node2/seed.img")


def test_nodes_get_different_management_macs() -> None:
    spec = load_spec("clustering3")
    macs = {node_plan(spec, n, Path("/k"), Path("/i"))["management_mac"] for n in spec.node_names}
    assert len(macs) == 3
