"""Probe: can halab's nodes run under Incus on this host? Prints what it finds.

    export HALAB_STATE_DIR=...   # as for any lab
    /work/bin/labslot u9-clustering -- .venv/bin/python benchmarks/incus_probe.py

What it does, each step timed and printed: the engine's version and that installing it left the host's QEMU and
libvirt alone; a one-member Incus cluster in namespaces (halab/providers/incus/localcluster.py); the halab
node image imported (generated metadata.yaml); the clustering lab brought up with ``--provider incus``; on
each node systemd's state and its failed units, and an SSH login with halab's injected keys; a power-off and
power-on through the engine's API; then everything taken down again. Needs scripts/install-incus.sh first.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from halab import paths  # noqa: E402
from halab.lab import Lab  # noqa: E402
from halab.providers.incus.localcluster import LocalCluster  # noqa: E402
from halab.providers.incus.provider import IncusProvider  # noqa: E402
from halab.runtime import ssh  # noqa: E402
from halab.spec.instances import Owner  # noqa: E402


def shell(command: list[str]) -> str:
    return subprocess.run(command, capture_output=True, text=True).stdout.strip()


def main() -> int:
    print("incus:", shell(["incus", "version"]).replace("\n", "; "))
    print("host packages the drbd lab uses:")
    for line in shell(["dpkg-query", "-W", "-f", "${Package} ${Version}\\n", "qemu-system-x86",
                       "libvirt-daemon"]).splitlines():
        print("   ", line)
    print("kernel:", os.uname().release, "| vhost_vsock:", Path("/dev/vhost-vsock").exists(),
          "| /dev/kvm:", Path("/dev/kvm").exists())
    cluster = LocalCluster(paths.state_dir() / ".incus-probe", size=1)
    lab = Lab("clustering", Owner(60009, "probe", 9))  # u9-clustering: as a lab service user's, in project halab-u9
    try:
        started = time.monotonic()
        cluster.start()
        print(f"one-member cluster up (incusd in its own namespaces): {time.monotonic() - started:.1f} s")
        os.environ["HALAB_INCUS_CONFIG"] = str(cluster.config_file)
        started = time.monotonic()
        lab.up(provider="incus", progress=lambda line: print(f"    [{time.monotonic() - started:5.1f} s] {line}"))
        print(f"clustering lab up on Incus, every node SSH-ready: {time.monotonic() - started:.1f} s "
              "(includes the image import the first time)")
        for node in lab.nodes:
            state = lab.run(node.name, "systemctl is-system-running --wait", timeout=120).stdout.strip()
            failed = lab.run(node.name, "systemctl --failed --no-legend --plain | cut -d' ' -f1").stdout.split()
            who = lab.run(node.name, "id -un; cat /proc/self/uid_map").stdout.split()
            print(f"  {node.name}: systemd {state}; failed units: {failed or 'none'}; SSH as {who[0]} with "
                  f"halab's key (uid map {' '.join(who[1:])})")
        provider, state = IncusProvider(), lab.state()
        node = lab.nodes[-1].name
        started = time.monotonic()
        provider.power_off(state, node)
        print(f"power off {node} (forced stop through the API): {time.monotonic() - started:.2f} s; "
              f"running: {provider.node_running(lab.state(), node)}")
        started = time.monotonic()
        provider._state_action(lab.state(), node, "start")
        print(f"power on {node} (start through the API, without the firmware delay): "
              f"{time.monotonic() - started:.2f} s")
        started = time.monotonic()
        lab.drop_connection(node)
        ssh.wait_ready(lab.state().node(node), time.monotonic() + 60)
        print(f"  SSH-ready again after {time.monotonic() - started:.1f} s")
    finally:
        lab.down()
        cluster.stop()
    print("taken down: lab, cluster, namespaces, loop device and bridge")
    return 0


if __name__ == "__main__":
    sys.exit(main())
