"""What a lab leaves on the host: namespaces, links, mounts, processes, cgroups, state, addresses of its subnets
on the host's interfaces, and for VM labs domains, bridges and volumes. Used by the integration tests (every
lab they start must leave nothing) and by benchmarks/soak.py (after every cycle)."""

from __future__ import annotations

import ipaddress
import json
import os
import subprocess
from pathlib import Path

import libvirt

from halab.errors import HalabError
from halab.host import firewall, netns
from halab.host.cgroups import controller_mounts, systemd_hierarchy_mounts
from halab.host.fs import mounts_under
from halab.providers.libvirt import libvirtd
from halab.providers.libvirt.provider import domain_name
from halab.runtime import labnet
from halab.runtime.state import lab_dir, labs_with_state
from halab.spec import load_spec


def leftovers(lab: str) -> list[str]:
    """Everything of ``lab`` still on the host: namespaces, links, mounts, processes, cgroups, state, and
addresses of its subnets on the host's interfaces."""
    found = [f"netns {name}" for name in netns.list_netns(labnet.lab_netns(lab))
             if name == labnet.lab_netns(lab) or name.startswith(labnet.lab_netns(lab) + "_")]
    found += [f"link {labnet.host_link(lab, i)}" for i in range(4) if netns.link_exists(labnet.host_link(lab, i))]
    found += [f"firewall chain {firewall.chain(labnet.host_link(lab, i))}" for i in range(4)
              if firewall.guarded(labnet.host_link(lab, i))]
    found += [f"ip6tables rules of {labnet.host_link(lab, i)}" for i in range(4)
              if firewall.guarded6(labnet.host_link(lab, i))]
    found += [f"mount {point}" for point in mounts_under(lab_dir(lab))]
    marker = str(lab_dir(lab)) + "/"
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                cmdline = (entry / "cmdline").read_bytes().decode(errors="replace")
                root = os.readlink(entry / "root")  # a node's processes (a guest's QEMU) live in its root
            except OSError:
                continue
            if marker in cmdline or root.startswith(marker):
                found.append(f"process {entry.name}: {cmdline[:80]!r}")
    found += [f"loop device {device} on {backing}" for device, backing in loop_devices() if backing.startswith(marker)]
    mounts = set(systemd_hierarchy_mounts()) | {mount for mount, _ in controller_mounts().values()}
    found += [f"cgroup {path}" for mount in sorted(mounts) for path in [mount / "halab" / lab, *(mount / "halab").glob(
        f"*/{lab}")] if path.exists()]
    if lab_dir(lab).exists():
        found.append(f"state {lab_dir(lab)}")
    return found + host_addresses(lab)


def loop_devices() -> list[tuple[str, str]]:
    """(device, backing file) of every loop device of the host (a lab's shared disk is one)."""
    listing = subprocess.run(["losetup", "--list", "--noheadings", "--raw", "--output", "NAME,BACK-FILE"],
                             capture_output=True, text=True).stdout
    return [(line.split(" ", 1)[0], line.split(" ", 1)[1]) for line in listing.splitlines() if " " in line]


def host_addresses(lab: str) -> list[str]:
    """Addresses of the lab's subnets on the host's own interfaces once the lab is down: a node's address that
    ended up there (a node set up in the host's network namespace) breaks the host's network and the next up."""
    try:
        subnets = [network.subnet for network in load_spec(lab).networks]
    except HalabError:
        return []
    # Another lab that is up may use the same subnets (a test makes one clash): its own host links are not leftovers.
    others = {labnet.host_link(other, i) for other in labs_with_state() if other != lab for i in range(4)}
    shown = subprocess.run(["ip", "-j", "address", "show"], capture_output=True, text=True).stdout
    try:
        links = json.loads(shown or "[]")
    except ValueError:
        return []
    return [f"address {info['local']}/{info['prefixlen']} on the host's {link['ifname']}" for link in links
            if link["ifname"] not in others for info in link.get("addr_info", []) if info.get("family") == "inet"
            and any(ipaddress.ip_address(info["local"]) in subnet for subnet in subnets)]


def vm_leftovers(lab: str) -> list[str]:
    """leftovers(), plus what a VM lab can leave in libvirt: domains, bridges, volumes in halab's pool."""
    found = leftovers(lab)
    connection = libvirt.open(libvirtd.URI)
    prefix = domain_name(lab, "")
    found += [f"domain {d.name()}" for d in connection.listAllDomains() if d.name().startswith(prefix)]
    switch = libvirtd.switch_namespace()
    if switch:
        found += [f"bridge {labnet.bridge(lab, i)}" for i in range(4)
                  if netns.link_exists(labnet.bridge(lab, i), switch)]
    for pool in connection.listAllStoragePools():
        if not pool.isActive():
            continue
        pool.refresh()
        found += [f"volume {name}" for name in pool.listVolumes() if name.startswith(prefix)]
    return found
