"""A libvirt network's XML (virNetwork.XMLDesc(), as `virsh net-dumpxml` prints it) -> NetworkDef."""

from __future__ import annotations

import ipaddress
import xml.etree.ElementTree as ET
from dataclasses import dataclass

from graders.collectors import ParseError, xml_root


@dataclass(frozen=True)
class NetworkDef:
    name: str
    # "nat", "route", "open", "bridge" (onto a host bridge, or macvtap with interfaces), "passthrough",
    # "private", "vepa", "hostdev", or "isolated" when there is no <forward> at all.
    forward: str
    bridge: str  # the bridge guests are plugged into ("" for macvtap)
    forward_devices: tuple[str, ...]  # <forward><interface dev=.../>: macvtap on these host NICs
    addresses: tuple[str, ...]  # the host's addresses on the network, "192.168.100.1/24" (NAT, route, isolated)
    dhcp: bool

    @property
    def onto_host_bridge(self) -> bool:
        """Guests join an existing host bridge (forward mode bridge with <bridge name=...>)."""
        return self.forward == "bridge" and bool(self.bridge)


def _address(ip: ET.Element) -> str:
    address = ip.get("address", "")
    prefix = ip.get("prefix") or ""
    if not prefix and ip.get("netmask"):
        try:
            prefix = str(ipaddress.IPv4Network(f"0.0.0.0/{ip.get('netmask')}").prefixlen)
        except ValueError:
            prefix = "?"
    return f"{address}/{prefix}" if prefix else address


def parse(text: str) -> NetworkDef:
    root = xml_root(text, "virsh net-dumpxml", "network", "name")
    name = root.findtext("name")
    if not name:
        raise ParseError("not a libvirt network definition (its <name> is empty)")
    forward = root.find("forward")
    mode = "isolated" if forward is None else forward.get("mode", "nat")
    bridge = root.find("bridge")
    devices = tuple(i.get("dev", "") for i in forward.iterfind("interface")) if forward is not None else ()
    ips = root.findall("ip")
    return NetworkDef(name.strip(), mode, bridge.get("name", "") if bridge is not None else "", devices,
                      tuple(_address(ip) for ip in ips), any(ip.find("dhcp") is not None for ip in ips))
