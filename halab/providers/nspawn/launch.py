"""A container node's launcher: `python -m halab.providers.nspawn.launch -- systemd-nspawn ...`.

It runs where halab starts it (`setsid --fork`, so nothing of it is halab's child), and:

1. moves itself into the node's cgroups ($HALAB_CGROUPS; halab/host/cgroups.py says why), so that systemd-nspawn
   and the node are in them, within the node's limits (halab/host/cglimits.py); its console goes to the node's
   console log through a pipe to ``head -c $HALAB_CONSOLE_BYTES``, then to /dev/null: nspawn ends the container
   when it cannot write its console (a full disk, a file size limit, a closed pipe), so the log is capped by a
   reader that keeps the first bytes of each boot and drains the rest, never by refusing nspawn's writes;
2. stays "in firmware" for $HALAB_POST seconds when the node is powered on after a power loss (a SIGKILL then
   is a power cut during POST: nothing boots);
3. starts systemd-nspawn, with loop device ioctls denied to it and everything in the node (halab/host/loopguard.py),
   waits for the node's init, and plugs the node into the lab's switches: the node's
   network namespace is made by nspawn inside the node's user namespace (so that root in the node may manage
   its own interfaces and nothing else), so its cables can only be plugged in once it exists. The commands
   (halab/runtime/labnet.py plumbing(), with ``{leader}`` for the node's init) are made only then, from the lab's
   state as it is then ($HALAB_LAB, $HALAB_NODE): a cable plugged back in during the POST delay is in;
4. exits, leaving systemd-nspawn to the host's init, like any daemon.

Until the node runs it needs the standard library and libseccomp only; halab itself is imported for the
plumbing.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

LEADER_SECONDS = 20.0


def _is_node_init(pid: int, host_netns: int) -> bool:
    """PID 1 of a PID namespace of its own, in a network namespace that is not the host's: the node's init,
    never systemd-nspawn's helper child on its way there (still in the host's network namespace: plumbing
    that would plug the host's own interfaces)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
        netns = os.stat(f"/proc/{pid}/ns/net").st_ino
    except OSError:
        return False
    nspid = next((line.split()[1:] for line in status.splitlines() if line.startswith("NSpid:")), [])
    return len(nspid) > 1 and nspid[-1] == "1" and netns != host_netns


def _descendants(pid: int) -> list[int]:
    found, stack = [], [pid]
    while stack:
        current = stack.pop()
        try:
            children = [int(c) for c in Path(f"/proc/{current}/task/{current}/children").read_text().split()]
        except OSError:
            children = []
        found += children
        stack += children
    return found


def _leader(nspawn: subprocess.Popen[bytes]) -> int | None:
    """The node's init (see _is_node_init), once systemd-nspawn has made it."""
    host_netns = os.stat("/proc/self/ns/net").st_ino
    deadline = time.monotonic() + LEADER_SECONDS
    while time.monotonic() < deadline and nspawn.poll() is None:
        for pid in _descendants(nspawn.pid):
            if _is_node_init(pid, host_netns):
                return pid
        time.sleep(0.01)
    return None


def _capped_console(path: str, limit: int) -> None:
    """From now on our stdout and stderr (and so nspawn's) go to ``path``, at most ``limit`` bytes of them."""
    read_end, write_end = os.pipe()
    subprocess.Popen(["sh", "-c", 'head -c "$1" >> "$2"; exec cat > /dev/null', "sh", str(limit), path],
                     stdin=read_end, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    os.close(read_end)
    for fd in (1, 2):
        os.dup2(write_end, fd)
    os.close(write_end)


def main(argv: list[str]) -> int:
    command = argv[argv.index("--") + 1:]
    for group in os.environ.get("HALAB_CGROUPS", "").split():
        Path(group, "cgroup.procs").write_text(str(os.getpid()))
    if os.environ.get("HALAB_CONSOLE"):
        _capped_console(os.environ["HALAB_CONSOLE"], int(os.environ.get("HALAB_CONSOLE_BYTES", "1048576")))
    from halab.host.loopguard import loop_filter  # libseccomp: made before the POST delay, loaded in nspawn

    guard = loop_filter()
    time.sleep(float(os.environ.get("HALAB_POST", "0")))
    nspawn = subprocess.Popen(command, stdin=subprocess.DEVNULL, preexec_fn=guard)
    leader = _leader(nspawn)
    if leader is None:
        print(f"halab: the node's init did not start (systemd-nspawn: {nspawn.poll()})", file=sys.stderr, flush=True)
        return 1
    host_netns = os.stat("/proc/self/ns/net").st_ino
    from halab.providers.nspawn.provider import plumbing_now  # the lab's state now, not when the power came on

    for step in plumbing_now(os.environ["HALAB_LAB"], os.environ["HALAB_NODE"]):
        if not _is_node_init(leader, host_netns):  # it died (a power cut): nothing may touch the host's network
            print("halab: the node stopped while being plugged in", file=sys.stderr, flush=True)
            return 1
        args = [str(arg).replace("{leader}", str(leader)) for arg in step]
        result = subprocess.run(args, capture_output=True, text=True)
        if result.returncode != 0:  # into the node's console log, where `up` shows it if SSH never answers
            print(f"halab: {' '.join(args)}: {result.stderr.strip()}", file=sys.stderr, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
