"""What `halab up virtualization` hands the student besides the hypervisors: the guest's disk on the shared
storage, and libvirtd answering on every hypervisor."""

from __future__ import annotations

import ipaddress
import os
import shutil
import time
from pathlib import Path

from halab.errors import HalabError
from halab.image.build import build_image
from halab.image.guest import guest_disk, write_guest_config
from halab.lab import Lab
from halab.runtime.state import load_state
from halab.spec import LabSpec
from halab.types import Progress

LIBVIRTD_TIMEOUT = 60.0


def shared_disk(lab: Lab, node_path: str) -> str:
    """The host's block device behind a shared disk (as the nodes see it: /dev/san/guest1)."""
    for storage in lab.spec.shared_storage:
        if storage.type == "disk" and storage.path == node_path:
            state = load_state(lab.name)  # while `up` runs, the lab is not "up" yet
            device = state.provider_data.get("shared_disks", {}).get(storage.name) if state else None
            if device:
                return str(device)
    raise HalabError(f"{node_path} is not a shared disk of lab {lab.name}")


def guest_interface(spec: LabSpec) -> str:
    """The guest's address with the prefix of the lab network it is on (10.42.61.50/24)."""
    address = ipaddress.IPv4Address(spec.settings["guest_address"])
    network = next((n for n in spec.networks if address in n.subnet), None)
    if network is None:
        raise HalabError(f"the guest address {address} is on none of the lab's networks")
    return f"{address}/{network.subnet.prefixlen}"


def wait_for_libvirtd(lab: Lab, timeout: float = LIBVIRTD_TIMEOUT) -> None:
    """Until `virsh` gets an answer from libvirtd (socket-activated) on every hypervisor; the first answer also
    makes libvirtd probe QEMU, which the student's first virsh would otherwise wait for."""
    for node in lab.spec.member_names:  # the hypervisors
        deadline = time.monotonic() + timeout
        while True:
            result = lab.run(node, "virsh -q -c qemu:///system uri", timeout=timeout)
            if result.ok:
                break
            if time.monotonic() > deadline:
                raise HalabError(f"libvirtd does not answer on {node}: {(result.stderr or result.stdout).strip()}")
            time.sleep(0.5)


def provide_guest(lab: Lab, progress: Progress) -> None:
    """Write the lab guest's disk (halab/image/guest.py) on the shared disk, with this lab's name and address
    on it, then wait for libvirtd on the hypervisors."""
    spec = lab.spec
    image = guest_disk(build_image(progress), progress)
    device = shared_disk(lab, spec.settings["guest_disk"])
    progress(f"writing the guest's disk on the shared disk {spec.settings['guest_disk']}")
    with open(image, "rb") as source, open(device, "r+b") as target:
        shutil.copyfileobj(source, target, 1024 * 1024)
        target.flush()
        os.fsync(target.fileno())
    write_guest_config(Path(device), spec.settings["guest_name"], guest_interface(spec))
    progress("waiting for libvirtd on " + ", ".join(spec.member_names))
    wait_for_libvirtd(lab)
