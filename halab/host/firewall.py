"""What a lab's nodes may reach on the host: their own lab's power switch, and nothing else.

The host joins every lab's management network, so without a firewall a node could reach anything the host
serves (its sshd, a notebook server on a lab address) and, by routing through the host, other labs'
networks and their power switches: a student's root in one lab could knock on another user's lab. So every
host link of a lab gets a chain of its own: traffic the host started (SSH to the nodes, the grader's HTTP
probe) comes back, a node may open connections to its own switch's port, and everything else from the lab is
dropped, including anything the host would forward between labs.

iptables (legacy or nf_tables, whichever `iptables` is) in the host's network namespace; the chains are named
after the host link, so `down` finds and removes them even without the lab's state.

IPv6 is closed on the link altogether: nodes have no IPv6 addresses of the lab's, but the kernel gives every
link a link-local one, and a node reached the host's services over fe80:: (a listener on ``::``) past the
IPv4 chain. The host side of the link gets ``disable_ipv6`` (no address, and the host drops IPv6 that
arrives on it), and ip6tables drops IPv6 from and to the link too, where ip6tables exists, in case something
turns IPv6 on again.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from halab.errors import HalabError

SWITCH_PORT = 7410  # halab/fence/daemon.py PORT (not imported: the daemon imports the providers)


def _iptables(*args: str, check: bool = True, tool: str = "iptables") -> subprocess.CompletedProcess[str]:
    result = subprocess.run([tool, "-w", *args], capture_output=True, text=True)
    if check and result.returncode != 0:
        raise HalabError(f"{tool} {' '.join(args)} failed: {result.stderr.strip()}")
    return result


def _ipv6_setting(link: str) -> Path:
    return Path("/proc/sys/net/ipv6/conf") / link / "disable_ipv6"


def close_ipv6(link: str) -> None:
    """No IPv6 on the host's side of a lab link (see the module docstring); a host without IPv6 has none."""
    setting = _ipv6_setting(link)
    if setting.parent.is_dir():
        setting.write_text("1\n")
    if shutil.which("ip6tables"):
        _unguard6(link)
        _iptables("-I", "INPUT", "-i", link, "-j", "DROP", tool="ip6tables")
        for rule in (("-i", link), ("-o", link)):
            _iptables("-I", "FORWARD", *rule, "-j", "DROP", tool="ip6tables")


def ipv6_open(link: str) -> bool:
    """Whether the host still takes IPv6 on the link (it has IPv6 and disable_ipv6 is off)."""
    try:
        return _ipv6_setting(link).read_text().strip() == "0"
    except OSError:
        return False


def _unguard6(link: str) -> None:
    for rule in (("INPUT", "-i", link, "-j", "DROP"), ("FORWARD", "-i", link, "-j", "DROP"),
                 ("FORWARD", "-o", link, "-j", "DROP")):
        while _iptables("-D", *rule, check=False, tool="ip6tables").returncode == 0:
            pass


def guarded6(link: str) -> bool:
    """Whether ip6tables still has a rule of the link's (a leftover once the link is gone)."""
    if not shutil.which("ip6tables"):
        return False
    return _iptables("-C", "INPUT", "-i", link, "-j", "DROP", check=False, tool="ip6tables").returncode == 0


def chain(link: str) -> str:
    return f"HALAB-{link}"  # host link names are at most 15 characters, chain names may be 28


def available() -> bool:
    return shutil.which("iptables") is not None


def guard(link: str, address: str) -> None:
    """Let the lab behind ``link`` reach only its power switch at ``address`` on the host."""
    if not available():
        raise HalabError("iptables is missing on the host, so lab nodes could reach the host's services; "
                         "run: apt-get install iptables")
    unguard(link)
    name = chain(link)
    _iptables("-N", name)
    _iptables("-A", name, "-m", "conntrack", "--ctstate", "ESTABLISHED,RELATED", "-j", "RETURN")
    _iptables("-A", name, "-d", address, "-p", "tcp", "--dport", str(SWITCH_PORT), "-j", "RETURN")
    _iptables("-A", name, "-j", "DROP")
    _iptables("-I", "INPUT", "-i", link, "-j", name)
    _iptables("-I", "FORWARD", "-i", link, "-j", "DROP")
    _iptables("-I", "FORWARD", "-o", link, "-j", "DROP")
    close_ipv6(link)


def unguard(link: str) -> None:
    """Remove the link's rules; safe when they are partly or wholly gone."""
    if shutil.which("ip6tables"):
        _unguard6(link)
    if not guarded(link):  # the chain is made first and removed last: without it, no rule is left
        return
    name = chain(link)
    for rule in (("INPUT", "-i", link, "-j", name), ("FORWARD", "-i", link, "-j", "DROP"),
                 ("FORWARD", "-o", link, "-j", "DROP")):
        while _iptables("-D", *rule, check=False).returncode == 0:
            pass
    _iptables("-F", name, check=False)
    _iptables("-X", name, check=False)


def guarded(link: str) -> bool:
    return available() and _iptables("-S", chain(link), check=False).returncode == 0
