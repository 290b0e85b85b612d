"""Does KVM work here? Asked by booting a real guest kernel, not by looking at /dev/kvm: on some hosts the
device exists but guests hang. The answer is cached per host boot."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

from halab import paths

PROBE_SECONDS = 20


def _boot_id() -> str:
    try:
        return Path("/proc/sys/kernel/random/boot_id").read_text().strip()
    except OSError:
        return "unknown"


def kvm_works(kernel: Path) -> bool:
    if not os.access("/dev/kvm", os.R_OK | os.W_OK):
        return False
    cache = paths.cache_dir() / "kvm-probe.json"
    key = f"{_boot_id()}:{kernel.name}"
    try:
        cached = json.loads(cache.read_text())
        if cached.get("key") == key:
            return bool(cached["kvm"])
    except (OSError, ValueError, KeyError):
        pass
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
    cache.write_text(json.dumps({"key": key, "kvm": works}))
    return works
