"""VM lab figures: time to SSH-ready for the drbd lab's 2 VMs after a fresh and after a warm libvirtd start,
DRBD's initial sync rate, failover seconds.

Run as root with no VM lab up, under the global lock (halab's libvirtd is started for the run if none runs):
    flock /tmp/halab-labs.lock .venv/bin/python benchmarks/vm_up.py [--provider libvirt|vagrant] [--warm-only]
Goal: 2 VMs SSH-ready in <= 60 s under TCG on a 2-core machine, fresh or warm.

"Fresh" is a machine's first libvirtd start after boot: libvirt's QEMU capabilities cache is empty and halab
has not asked yet whether KVM runs guests here (halab libvirtd start asks; 20 s where KVM hangs). "Warm" is
any later start. The benchmark restarts halab's libvirtd for both (skipped with --warm-only, or when libvirtd
is not halab's), and says whether libvirt probed QEMU while the lab came up (after a fresh start it must,
once; after a warm one it must not).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from graders.live import grade_live
from halab import paths
from halab.image.build import build_image
from halab.image.vmdisk import vm_image
from halab.lab import Lab
from halab.providers.libvirt import libvirtd
from solutions import drbd
from solutions.common import wait_until

CAPABILITIES = Path("/var/cache/libvirt/qemu/capabilities")


def _cache_state() -> dict[str, int]:
    return {p.name: p.stat().st_mtime_ns for p in CAPABILITIES.glob("*.xml")}


def timed_up(lab: Lab, provider: str, label: str) -> None:
    before = _cache_state()
    started = time.monotonic()
    lab.up(provider=provider)
    probed = "yes" if _cache_state() != before else "no"
    print(f"{label}: drbd lab ({provider}) SSH-ready in {time.monotonic() - started:.1f} s "
          f"(accel: {lab.state().provider_data['accel']}; libvirt probed QEMU meanwhile: {probed})")


def restart_libvirtd(fresh: bool) -> float:
    """Restart halab's libvirtd; ``fresh``: with its capabilities cache and halab's KVM answer gone first."""
    libvirtd.stop()
    if fresh:
        for cached in CAPABILITIES.glob("*.xml"):
            cached.unlink()
        (paths.cache_dir() / "kvm-probe.json").unlink(missing_ok=True)
    started = time.monotonic()
    libvirtd.start()
    return time.monotonic() - started


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--provider", default="libvirt", choices=["libvirt", "vagrant"])
    parser.add_argument("--warm-only", action="store_true", help="do not restart libvirtd")
    args = parser.parse_args()
    vm_image(build_image())  # cached before timing, like the nspawn benchmark
    started_here = not libvirtd.running()
    if started_here:
        print(f"libvirtd was not running: started halab's ({libvirtd.start()}); stopped again at the end")
    try:
        measure(args.provider, args.warm_only)
    finally:
        if started_here:
            libvirtd.stop()


def measure(provider: str, warm_only: bool) -> None:
    lab = Lab("drbd")
    restarts = not warm_only and libvirtd.switch_namespace() == libvirtd.NAMESPACE
    if restarts:
        seconds = restart_libvirtd(fresh=True)
        print(f"fresh libvirtd start (empty capabilities cache, KVM not probed this boot): {seconds:.1f} s")
        try:
            timed_up(lab, provider, "after a fresh libvirtd start")
        finally:
            lab.down()
        print(f"warm libvirtd start: {restart_libvirtd(fresh=False):.1f} s")
    elif not warm_only:
        print("libvirtd is not halab's: no fresh/warm restart, the lab comes up on libvirtd as it is")
    timed_up(lab, provider, "after a warm libvirtd start" if restarts else "libvirtd as it was")
    try:
        resource = lab.spec.settings["drbd_resource"]
        drbd.bring_up(lab, lambda _m: None)
        size_mib = lab.spec.nodes[0].disks[0].size_mib
        started = time.monotonic()
        drbd.start_initial_sync(lab)
        wait_until("the initial sync", lambda: drbd.synced(lab, resource), timeout=600, interval=0.5)
        seconds = time.monotonic() - started
        print(f"initial sync of {size_mib} MiB: {seconds:.1f} s ({size_mib / seconds:.1f} MiB/s)")
        lab.run("node1", f"drbdadm secondary {resource}")
        drbd.solve_after_sync(lab, lambda _m: None)
        report, _ = grade_live(lab, faults=True)
        print(f"failover of the DRBD primary: {report.measurements.get('failover_seconds')} s, "
              f"data intact: {report.measurements.get('data_intact')}")
    finally:
        lab.down()


if __name__ == "__main__":
    main()
