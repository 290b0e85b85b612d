"""A libvirt domain's XML (virDomain.XMLDesc(), as `virsh dumpxml` prints it) and state numbers -> DomainDef."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass

from graders.collectors import ParseError, xml_root

# virDomainState (libvirt-domain.h); the numbers are what virDomain.state() returns.
STATES = {0: "no state", 1: "running", 2: "blocked", 3: "paused", 4: "shutting down", 5: "shut off", 6: "crashed",
          7: "suspended (PM)"}
ACTIVE_STATES = {1, 2, 3, 4}  # the guest is there (its QEMU runs), whatever it is doing
_OSINFO = "{http://libosinfo.org/xmlns/libvirt/domain/1.0}"
_UNITS = {"b": 1 / 1024, "bytes": 1 / 1024, "k": 1, "kib": 1, "kb": 1000 / 1024, "m": 1024, "mib": 1024,
          "mb": 1000 * 1000 / 1024, "g": 1024 * 1024, "gib": 1024 * 1024, "gb": 1000 ** 3 / 1024}


@dataclass(frozen=True)
class Disk:
    type: str  # "file", "block", "network", "volume"...
    device: str  # "disk", "cdrom"...
    source: str  # the file or device path ("" for none)
    format: str  # the driver type: "raw", "qcow2"
    cache: str  # "" is the hypervisor's default
    target: str  # "vda"
    bus: str  # "virtio", "sata", "ide"...


@dataclass(frozen=True)
class Interface:
    type: str  # "network", "bridge", "direct"...
    network: str  # <source network=...> (a running domain's bridged interface keeps it too)
    bridge: str  # <source bridge=...>
    mac: str
    model: str  # "virtio", "e1000"...


@dataclass(frozen=True)
class DomainDef:
    name: str
    uuid: str
    hypervisor: str  # domain type: "qemu" (TCG) or "kvm"
    memory_mib: int
    vcpus: int
    os_id: str  # libosinfo's id from virt-install --osinfo, "" if none is recorded
    disks: tuple[Disk, ...]
    interfaces: tuple[Interface, ...]

    @property
    def main_disks(self) -> tuple[Disk, ...]:
        return tuple(d for d in self.disks if d.device == "disk")

    def emulated_devices(self) -> list[str]:
        """Disks and NICs that are not virtio (what virt-install picks when it knows no OS)."""
        return [f"disk {d.target} on {d.bus}" for d in self.main_disks if d.bus and d.bus != "virtio"] + \
            [f"NIC {i.model}" for i in self.interfaces if i.model and i.model != "virtio"]


def state_name(number: object) -> str:
    return STATES.get(number, f"state {number}") if isinstance(number, int) else "unknown"


def _memory_mib(element: ET.Element | None) -> int:
    text = (element.text or "").strip() if element is not None else ""
    if element is None or not text.isdigit():
        return 0
    unit = _UNITS.get(element.get("unit", "KiB").lower(), 1)
    return round(int(text) * unit / 1024)


def _disk(element: ET.Element) -> Disk:
    source = element.find("source")
    driver = element.find("driver")
    path = ""
    if source is not None:
        path = source.get("file") or source.get("dev") or source.get("name") or source.get("volume") or ""
    target = element.find("target")
    return Disk(element.get("type", ""), element.get("device", "disk"), path,
                driver.get("type", "") if driver is not None else "", driver.get("cache", "") if driver is not None
                else "", target.get("dev", "") if target is not None else "",
                target.get("bus", "") if target is not None else "")


def _interface(element: ET.Element) -> Interface:
    source = element.find("source")
    mac = element.find("mac")
    model = element.find("model")
    return Interface(element.get("type", ""), source.get("network", "") if source is not None else "",
                     source.get("bridge", "") if source is not None else "",
                     mac.get("address", "") if mac is not None else "", model.get("type", "") if model is not None
                     else "")


def parse(text: str) -> DomainDef:
    root = xml_root(text, "virsh dumpxml", "domain", "name")
    name = root.findtext("name")
    if not name:
        raise ParseError("not a libvirt domain definition (its <name> is empty)")
    os_element = root.find(f"metadata/{_OSINFO}libosinfo/{_OSINFO}os")
    vcpus = (root.findtext("vcpu") or "1").strip()
    devices = root.find("devices")
    return DomainDef(
        name=name.strip(), uuid=(root.findtext("uuid") or "").strip(), hypervisor=root.get("type", ""),
        memory_mib=_memory_mib(root.find("memory")), vcpus=int(vcpus) if vcpus.isdigit() else 0,
        os_id=os_element.get("id", "") if os_element is not None else "",
        disks=tuple(_disk(d) for d in devices.iterfind("disk")) if devices is not None else (),
        interfaces=tuple(_interface(i) for i in devices.iterfind("interface")) if devices is not None else (),
    )
