"""The virtualization kind's live facts: what libvirt on each hypervisor knows, read with libvirt-python.

Each hypervisor is read over ``qemu+libssh2://`` with the lab's key, and its host key is checked against the
key halab pinned when it made the node (``known_hosts_verify=normal``: an unknown or different key is
refused, never learned). libssh2, not libssh: with libvirt 9.0's libssh transport every reply larger than a
few kB (a domain's XML) arrived only after 5 s, and without an event loop never (measured here).

What libvirt returns is kept raw (XML strings, state numbers, flags) in the evidence as ``raw["libvirt"]``;
the pure checks parse it (graders/collectors/libvirt_*.py). Also recorded: whether each hypervisor reaches
the other with the migration transports that work in the lab (ssh, tcp), since a VirtualDomain resource's
live migration is only as good as that.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any
from urllib.parse import quote

import libvirt

from halab.errors import HalabError
from halab.lab import Lab
from halab.runtime import ssh
from halab.runtime.state import NodeInfo, lab_dir

libvirt.registerErrorHandler(lambda _ctx, _err: None, None)  # errors become exceptions, not stderr noise
TRANSPORTS = ("ssh", "tcp")
PROBE_TIMEOUT = 10


def uri(node: NodeInfo) -> str:
    return f"qemu+libssh2://{node.user}@{node.address}/system"


def _known_hosts(lab: Lab) -> str:
    """A known_hosts file with the lab's pinned host keys (rewritten at every collection)."""
    path = lab_dir(lab.name) / "libvirt_known_hosts"
    path.write_text("".join(f"{node.address} {node.host_key}\n" for node in lab.state().nodes))
    return str(path)


def _connect(node: NodeInfo, known_hosts: str) -> libvirt.virConnect:
    if not ssh.port_open(node.address, node.port, timeout=3):
        raise HalabError(f"{node.name} is unreachable (no SSH on {node.address})")
    params = f"keyfile={quote(node.key_file)}&known_hosts={quote(known_hosts)}&known_hosts_verify=normal" \
             "&sshauth=privkey"
    try:
        return libvirt.open(f"{uri(node)}?{params}")
    except libvirt.libvirtError as exc:
        raise HalabError(str(exc)) from None


def _networks(connection: libvirt.virConnect) -> list[dict[str, Any]]:
    return [{"name": net.name(), "xml": net.XMLDesc(0), "active": bool(net.isActive()),
             "persistent": bool(net.isPersistent()), "autostart": bool(net.autostart())}
            for net in connection.listAllNetworks()]


def _domains(connection: libvirt.virConnect) -> list[dict[str, Any]]:
    found = []
    for domain in connection.listAllDomains():
        state, reason = domain.state()
        persistent = bool(domain.isPersistent())
        found.append({"name": domain.name(), "xml": domain.XMLDesc(0), "state": state, "reason": reason,
                      "persistent": persistent, "autostart": bool(domain.autostart()) if persistent else False,
                      "id": domain.ID()})
    return found


def _transports(lab: Lab, node: str, peers: list[str]) -> dict[str, dict[str, Any]]:
    """Can this hypervisor reach each peer's libvirtd the way VirtualDomain's migration does?"""
    probes = {}
    for transport in TRANSPORTS:
        for peer in peers:
            command = f"timeout {PROBE_TIMEOUT} virsh -c qemu+{transport}://{peer}/system uri"
            try:
                result = lab.run(node, command, timeout=PROBE_TIMEOUT + 5)
                probes[f"{transport}:{peer}"] = {"command": command, "exit": result.exit_status,
                                                 "output": (result.stderr + result.stdout).strip()[-500:]}
            except HalabError as exc:
                probes[f"{transport}:{peer}"] = {"command": command, "exit": -1, "output": str(exc)}
    return probes


def _read(lab: Lab, node: NodeInfo, known_hosts: str, peers: list[str]) -> dict[str, Any]:
    entry: dict[str, Any] = {"uri": uri(node), "error": "", "networks": [], "domains": [], "transports": {}}
    try:
        connection = _connect(node, known_hosts)
    except HalabError as exc:
        entry["error"] = str(exc)
        return entry
    try:
        entry["hostname"] = connection.getHostname()
        entry["networks"] = _networks(connection)
        entry["domains"] = _domains(connection)
    except libvirt.libvirtError as exc:
        entry["error"] = f"libvirt stopped answering: {exc}"
    finally:
        connection.close()
    entry["transports"] = _transports(lab, node.name, peers)
    return entry


def libvirt_facts(lab: Lab) -> dict[str, Any]:
    """{hypervisor: {"uri", "error", "hostname", "networks": [...], "domains": [...], "transports": {...}}}."""
    known_hosts = _known_hosts(lab)
    nodes = [n for n in lab.state().nodes if n.name in lab.spec.member_names]
    names = [n.name for n in nodes]
    with ThreadPoolExecutor(max_workers=len(nodes)) as pool:
        entries = pool.map(lambda n: _read(lab, n, known_hosts, [p for p in names if p != n.name]), nodes)
        return dict(zip(names, entries, strict=True))
