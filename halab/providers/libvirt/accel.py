"""Does KVM work here? Asked by booting a real guest kernel, not by looking at /dev/kvm: on some hosts the
device exists but guests hang. The answer is a fact about the host, cached per host boot (whatever kernel
asked it): `halab libvirtd start` asks first, so that libvirtd sees /dev/kvm as it is (libvirtd.py),
and `up` finds the answer cached."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

from halab import paths
from halab.host.facts import Fact
from halab.image.build import current_image

PROBE_SECONDS = 20


def _boot_id() -> str:
    try:
        return Path("/proc/sys/kernel/random/boot_id").read_text().strip()
    except OSError:
        return "unknown"


def probe_kernel() -> Path | None:
    """A guest kernel to probe with: the cached node image's (None when no image is built yet)."""
    image = current_image()
    if image is None:
        return None
    built = image.path / "vm" / "vmlinuz"
    kernels = [built] if built.exists() else sorted((image.rootfs / "boot").glob("vmlinuz-*"))
    return kernels[-1] if kernels else None


def cached_answer() -> bool | None:
    """What the probe found in this host boot, without probing; None if it has not run since boot."""
    try:
        cached = json.loads((paths.cache_dir() / "kvm-probe.json").read_text())
        return bool(cached["kvm"]) if cached.get("key") == _boot_id() else None
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None


def kvm_works(kernel: Path) -> bool:
    if not os.access("/dev/kvm", os.R_OK | os.W_OK):
        return False
    cached = cached_answer()
    if cached is not None:
        return cached
    cache = paths.cache_dir() / "kvm-probe.json"
    # A kernel with no root disk boots, panics ("Unable to mount root fs") and, with -no-reboot, exits: seeing
    # the panic proves the guest really ran. With broken KVM it hangs and the timeout answers.
    command = ["qemu-system-x86_64", "-accel", "kvm", "-cpu", "host", "-m", "256", "-nodefaults", "-nographic",
               "-no-reboot", "-serial", "stdio", "-kernel", str(kernel), "-append", "console=ttyS0 panic=-1"]
    try:
        result = subprocess.run(command, capture_output=True, text=True, timeout=PROBE_SECONDS,
                                stdin=subprocess.DEVNULL)
        works = "Kernel panic" in result.stdout or "VFS:" in result.stdout
    except subprocess.TimeoutExpired:
        works = False
    cache.parent.mkdir(parents=True, exist_ok=True)
    cache.write_text(json.dumps({"key": _boot_id(), "kvm": works}))
    return works


def kvm_fact() -> Fact:
    """Whether VM labs run under KVM, as `halab doctor` reports it: from the cached probe, never a new one (20 s)."""
    labs = "drbd, clustering --provider libvirt|vagrant"
    if not Path("/dev/kvm").exists():
        return Fact("KVM", "note", "no /dev/kvm: VMs run under TCG (emulation, several times slower; the labs' "
                    "time objectives for tcg apply)", labs)
    answer = cached_answer()
    if answer is None:
        return Fact("KVM", "note", "/dev/kvm exists; whether guests really run on it is probed by `halab libvirtd "
                    "start` (not yet since this boot)", labs, "halab libvirtd start")
    if not answer:
        return Fact("KVM", "note", "/dev/kvm exists but a probe guest hung on it: VMs run under TCG (slower)", labs)
    return Fact("KVM", "ok", "guests run under KVM", labs)
