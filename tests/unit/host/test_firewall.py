"""The host's firewall for lab links, on real network namespaces: a "host" namespace guards its link to a
"node" namespace the way halab guards each lab's host link; the node reaches the power switch's port and
nothing else, and connections the host opens still work."""

from __future__ import annotations

import subprocess
import sys
import uuid
from collections.abc import Iterator

import pytest

from halab.host import firewall, netns

CONNECT = """
import socket, sys
try:
    socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=1).close()
    print("open")
except OSError:
    print("closed")
"""
LISTEN = "import socket, time; s = socket.socket(); s.bind(('{address}', {port})); s.listen(); time.sleep(30)"


def in_netns(name: str, *command: str, **kwargs: object) -> subprocess.Popen[str]:
    return subprocess.Popen(["ip", "netns", "exec", name, *command], text=True, stdout=subprocess.PIPE, **kwargs)


@pytest.fixture
def pair() -> Iterator[tuple[str, str]]:
    tag = uuid.uuid4().hex[:6]
    host, node = f"fwtest-h{tag}", f"fwtest-n{tag}"
    netns.add_netns(host)
    netns.add_netns(node)
    try:
        netns.ip("link", "add", "hlink", "type", "veth", "peer", "name", "nlink", "netns", node, netns=host)
        netns.ip("address", "add", "10.99.0.254/24", "dev", "hlink", netns=host)
        netns.ip("address", "add", "10.99.0.11/24", "dev", "nlink", netns=node)
        for name, link in ((host, "hlink"), (node, "nlink"), (host, "lo"), (node, "lo")):
            netns.ip("link", "set", link, "up", netns=name)
        yield host, node
    finally:
        netns.delete_netns(node)
        netns.delete_netns(host)


def reach(source: str, address: str, port: int) -> str:
    probe = in_netns(source, sys.executable, "-c", CONNECT, address, str(port))
    out, _ = probe.communicate(timeout=10)
    return out.strip()


def test_a_guarded_lab_reaches_its_power_switch_only(pair: tuple[str, str]) -> None:
    host, node = pair
    listeners = [in_netns(host, sys.executable, "-c", LISTEN.format(address="0.0.0.0", port=port))
                 for port in (firewall.SWITCH_PORT, 22)]
    listeners.append(in_netns(node, sys.executable, "-c", LISTEN.format(address="0.0.0.0", port=2222)))
    try:
        guard = in_netns(host, sys.executable, "-c", "from halab.host import firewall; "
                                                     "firewall.guard('hlink', '10.99.0.254')")
        assert guard.wait(timeout=20) == 0
        assert reach(node, "10.99.0.254", firewall.SWITCH_PORT) == "open"
        assert reach(node, "10.99.0.254", 22) == "closed"  # the host's own services stay out of reach
        assert reach(host, "10.99.0.11", 2222) == "open"  # what the host opens (SSH to nodes) still works
        unguard = in_netns(host, sys.executable, "-c", "from halab.host import firewall; "
                                                       "firewall.unguard('hlink'); "
                                                       "assert not firewall.guarded('hlink')")
        assert unguard.wait(timeout=20) == 0
        assert reach(node, "10.99.0.254", 22) == "open"  # and the rules are really gone
    finally:
        for listener in listeners:
            listener.kill()
            listener.wait()


LISTEN6 = "import socket, time; s = socket.socket(socket.AF_INET6); s.bind(('::', {port})); s.listen(); time.sleep(30)"


def link_local(name: str, link: str) -> str:
    """The link's fe80:: address once it is usable (DAD done), or '' if it has none."""
    for _ in range(50):
        shown = netns.ip("-6", "-o", "address", "show", "dev", link, "scope", "link", netns=name).stdout
        if "fe80::" in shown and "tentative" not in shown:
            return shown.split("inet6 ")[1].split("/")[0]
        subprocess.run(["sleep", "0.1"])
    return ""


def test_a_guarded_lab_reaches_no_host_service_over_ipv6(pair: tuple[str, str]) -> None:
    """The firewall was IPv4 only: a node reached a host service listening on :: over the link's fe80::."""
    host, node = pair
    address = link_local(host, "hlink")
    assert address and link_local(node, "nlink")
    listener = in_netns(host, sys.executable, "-c", LISTEN6.format(port=2200))
    try:
        subprocess.run(["sleep", "0.5"])
        assert reach(node, f"{address}%nlink", 2200) == "open"  # IPv6 works here before the guard
        guard = in_netns(host, sys.executable, "-c", "from halab.host import firewall; "
                                                     "firewall.guard('hlink', '10.99.0.254'); "
                                                     "assert not firewall.ipv6_open('hlink')")
        assert guard.wait(timeout=20) == 0
        assert reach(node, f"{address}%nlink", 2200) == "closed"
        unguard = in_netns(host, sys.executable, "-c", "from halab.host import firewall; firewall.unguard('hlink'); "
                                                       "assert not firewall.guarded6('hlink')")
        assert unguard.wait(timeout=20) == 0
    finally:
        listener.kill()
        listener.wait()
