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
from halab.host import firewall, netns, procs
from halab.host.cgroups import controller_mounts, systemd_hierarchy_mounts
from halab.host.fs import loop_devices, mounts_under
from halab.providers.incus.api import Client
from halab.providers.incus.localcluster import lxc_cgroups
from halab.providers.incus.network import network_name
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


def incus_leftovers(lab: str, client: Client) -> list[str]:
    """leftovers(), plus what an incus lab can leave in the engine: its instances (in any project) and networks."""
    found = leftovers(lab)
    instances = client.get("/1.0/instances?all-projects=true&recursion=1") or []
    found += [f"instance {i['project']}/{i['name']}" for i in instances
              if (i.get("config") or {}).get("user.halab.lab") == lab]
    names = {network_name(lab, index) for index in range(16)}
    found += [f"network {n['name']}" for n in client.get("/1.0/networks?recursion=1") or [] if n["name"] in names]
    return found


def incus_cluster_leftovers(root: Path) -> list[str]:
    """What a LocalCluster can leave on the host once stopped: processes, links, loop devices, LXC's cgroups."""
    marker = str(root) + "/"
    found = [f"process {pid}: {procs.command_line(pid)[:80]!r}" for pid in
             (int(e.name) for e in Path("/proc").iterdir() if e.name.isdigit()) if marker in procs.command_line(pid)]
    shown = subprocess.run(["ip", "-brief", "link"], capture_output=True, text=True).stdout
    found += [f"link {line.split()[0]}" for line in shown.splitlines() if line.startswith("hlincus")]
    found += [f"loop device {device} on {backing}" for device, backing in loop_devices() if backing.startswith(marker)]
    found += [f"cgroup {group}" for group in lxc_cgroups()]
    if root.exists():
        found.append(f"directory {root}")
    return found
