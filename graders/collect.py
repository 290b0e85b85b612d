"""Run the graders' commands on every node of a lab and keep their raw output.

The raw output is the evidence: checks are computed from it (through the parsers in collectors/), it can
be saved with a student's submission and graded again later without the lab, and recorded runs from real
nodes are the unit tests' fixtures. Nodes are queried in parallel over one reused SSH connection each.
"""

from __future__ import annotations

import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from halab.errors import HalabError
from halab.lab import Lab
from halab.spec import LabSpec

# key -> command. Everything a check may look at comes from here, so evidence is complete.
COMMANDS: dict[str, str] = {
    "crm_mon": "crm_mon -1 --output-as=xml",
    "cib": "cibadmin --query --local",
    "crm_verify": "crm_verify -L -V",
    "quorumtool": "corosync-quorumtool -s -p",
    "cmapctl": "corosync-cmapctl",
    "cfgtool": "corosync-cfgtool -s",
    "is_active": "systemctl is-active corosync pacemaker",
    "is_enabled": "systemctl is-enabled corosync pacemaker",
    "corosync_conf": "cat /etc/corosync/corosync.conf",
    "authkey": "stat -c '%a %U %G %s' /etc/corosync/authkey && sha256sum /etc/corosync/authkey",
    "addresses": "ip -brief address show",
}
# The drbd lab adds these; {names} are filled in from the lab's [settings].
DRBD_COMMANDS: dict[str, str] = {
    "drbd_res": "cat /etc/drbd.d/{drbd_resource}.res",
    "drbd_dump": "drbdadm dump {drbd_resource}",
    "proc_drbd": "cat /proc/drbd",
    "drbd_status": "drbdadm status {drbd_resource}",
    "drbd_cstate": "drbdadm cstate {drbd_resource}",
    "drbd_dstate": "drbdadm dstate {drbd_resource}",
    "drbd_role": "drbdadm role {drbd_resource}",
    "drbd_events": "drbdsetup events2 --now {drbd_resource}",
    "blkid": "blkid -o export {drbd_device}",
    "mounts": "findmnt -n -o SOURCE,TARGET,FSTYPE --source {drbd_device}",
    "data_listing": "mountpoint -q {mount_point} && ls -1A {mount_point}",
}
COMMANDS_BY_KIND = {"clustering": COMMANDS, "drbd": {**COMMANDS, **DRBD_COMMANDS}}


def commands_for(spec: LabSpec) -> dict[str, str]:
    return {key: command.format_map(spec.settings) for key, command in COMMANDS_BY_KIND[spec.kind].items()}
COMMAND_TIMEOUT = 15.0


def _collect_node(lab: Lab, node: str, commands: dict[str, str]) -> dict[str, Any]:
    entry: dict[str, Any] = {"reachable": False, "error": "", "commands": {}}
    try:
        lab.client(node, timeout=5)
    except HalabError as exc:
        entry["error"] = str(exc)
        return entry
    entry["reachable"] = True
    for key, command in commands.items():
        try:
            result = lab.run(node, command, timeout=COMMAND_TIMEOUT)
        except HalabError as exc:
            entry["reachable"], entry["error"] = False, str(exc)
            break
        entry["commands"][key] = {"command": command, "exit": result.exit_status,
                                  "stdout": result.stdout, "stderr": result.stderr}
    return entry


def probe_http(url: str, timeout: float = 3.0) -> dict[str, Any]:
    """What a client of the service sees: the host asks the floating IP for the page."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as reply:
            return {"url": url, "status": reply.status, "body": reply.read(2000).decode(errors="replace"),
                    "error": ""}
    except urllib.error.HTTPError as exc:
        return {"url": url, "status": exc.code, "body": "", "error": f"HTTP {exc.code}"}
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        return {"url": url, "status": None, "body": "", "error": str(reason) or type(exc).__name__}


def collect_raw(lab: Lab, commands: dict[str, str] | None = None) -> dict[str, Any]:
    """Raw facts of every node: {"lab", "collected_at", "nodes": {name: {reachable, error, commands}},
    "probes": {...}}."""
    spec = lab.spec
    names = spec.node_names
    wanted = commands or commands_for(spec)
    with ThreadPoolExecutor(max_workers=len(names) + 1) as pool:
        results = pool.map(lambda node: _collect_node(lab, node, wanted), names)
        floating_ip = spec.settings.get("floating_ip")
        http = pool.submit(probe_http, f"http://{floating_ip}/") if floating_ip else None
        nodes = dict(zip(names, results, strict=True))
        probes = {"http": http.result()} if http else {}
    raw = {"lab": lab.name, "kind": spec.kind, "collected_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
           "nodes": nodes, "probes": probes}
    induced = lab.state().provider_data.get("split_brain")
    if induced:
        raw["split_brain"] = induced  # what `halab fault LAB split-brain` did, for the check that it was resolved
    return raw
