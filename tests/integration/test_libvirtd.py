"""libvirtd as `halab libvirtd start` runs it: its QEMU capabilities are probed once, not at every lookup and
not again at the next start (on a host without udev, where /dev/kvm is 0600 root:root, libvirt threw them
away at every lookup: 68 s per VM before QEMU started). No timing is asserted: the cache file is."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import libvirt
import pytest

from halab.providers.libvirt import accel, libvirtd

pytestmark = [pytest.mark.integration, pytest.mark.slow]

QEMU = "/usr/bin/qemu-system-x86_64"
# libvirt names each binary's cache file by the SHA-256 of the binary's path.
CACHE = Path("/var/cache/libvirt/qemu/capabilities") / f"{hashlib.sha256(QEMU.encode()).hexdigest()}.xml"


def look_up(times: int) -> str:
    """Ask libvirtd what the x86_64 QEMU can do, as defining and starting a domain does; its host
    capabilities."""
    connection = libvirt.open(libvirtd.URI)
    try:
        for _ in range(times):
            connection.getDomainCapabilities(QEMU, "x86_64", None, "qemu")
        return connection.getCapabilities()
    finally:
        connection.close()


def written() -> tuple[int, int]:
    stat = CACHE.stat()
    return stat.st_ino, stat.st_mtime_ns  # libvirt writes a new file and renames it into place


def restart(fresh: bool = False) -> None:
    """Restart halab's libvirtd; ``fresh``: with no capabilities cached, as on a machine's first start. (A cache
    written without KVM stays valid where libvirt finds /dev/kvm unusable: only a probe that sees KVM, where its
    cache check does not, starts the probing at every lookup.)"""
    libvirtd.stop()
    if fresh:
        CACHE.unlink(missing_ok=True)
    libvirtd.start()


def test_qemu_capabilities_are_probed_once(libvirt_running: None) -> None:
    if libvirtd.switch_namespace() != libvirtd.NAMESPACE:
        pytest.skip("libvirtd runs, but halab did not start it: this test restarts it")
    restart(fresh=True)
    look_up(1)
    first = written()
    look_up(5)
    assert written() == first, "libvirtd probed QEMU again on a lookup: its capabilities cache was thrown away"
    restart()
    capabilities = look_up(3)
    assert written() == first, "libvirtd probed QEMU again after a restart"
    if os.path.exists("/dev/kvm") and accel.cached_answer() is False:
        # KVM hangs guests here: libvirtd must neither offer kvm domains nor see a usable /dev/kvm.
        assert libvirtd.kvm_hidden()
        assert "<domain type='kvm'" not in capabilities and "<domain type='qemu'" in capabilities
