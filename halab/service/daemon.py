"""Start, stop and ask after the lab service daemon (`halab service start|stop|status`, root only)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from halab import paths
from halab.access.protocol import socket_path
from halab.errors import HalabError
from halab.host import procs
from halab.runtime.quotas import DEFAULT_LOG, load_quotas
from halab.runtime.state import lab_states

READY_SECONDS = 10.0
MODULE = "halab.service.server"


def log_path() -> Path:
    """The service's log (service.toml ``[service] log``; servicelog.py): on disk, bounded and rotated."""
    try:
        return load_quotas().settings.log
    except HalabError:
        return Path(DEFAULT_LOG)


def service_pids() -> list[int]:
    """The service daemons for this socket (there should be one at most)."""
    wanted = ["-m", MODULE, str(socket_path())]
    found = []
    for entry in Path("/proc").iterdir():
        # Root's only: anyone may start a process with this command line, to make `start` think it runs.
        if entry.name.isdigit() and procs.command_line(int(entry.name)).split()[1:4] == wanted \
                and procs.runs_as_root(int(entry.name)):
            found.append(int(entry.name))
    return found


def running() -> bool:
    return bool(service_pids()) and socket_path().exists()


def start() -> str:
    if running():
        return f"the lab service is already running (PID {service_pids()[0]}, socket {socket_path()})"
    path = socket_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    log_path().parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    line = procs.start_daemon([sys.executable, "-m", MODULE, str(path)], log_path(), READY_SECONDS)
    word, _, rest = line.partition(" ")
    if word == "ready" and rest.isdigit() and int(rest) in service_pids():
        return f"the lab service runs (PID {rest}); users reach it at {path}"
    for pid in service_pids():  # one that hangs; it never answered, so nobody uses it
        procs.send_signal(pid)
    reason = rest if word == "error" else f"no word from it in {READY_SECONDS:g} s"
    raise HalabError(f"the lab service did not start ({reason}); see {log_path()}")


def stop() -> str:
    pids = service_pids()
    if not pids:
        return "the lab service is not running"
    for pid in pids:
        procs.send_signal(pid, 15)
    if not procs.wait_gone(pids, 5):
        for pid in pids:
            procs.send_signal(pid)
        procs.wait_gone(pids, 5)
    socket_path().unlink(missing_ok=True)
    return "the lab service is stopped (the users' labs stay up; `halab status` as root lists them)"


def runs_older_code() -> bool:
    """Whether the service started before halab's code last changed (an upgrade): it still runs the old code,
    and imports new modules into it as requests need them. `halab service stop && halab service start`."""
    changed = paths.code_changed_at()
    return any((started or changed) < changed for started in map(procs.started_at, service_pids()))


def status() -> dict[str, Any]:
    readable, damaged = lab_states()
    owned = [s for s in readable.values() if s.owner]
    return {"running": running(), "pids": service_pids(), "runs_older_code": runs_older_code(),
            "socket": str(socket_path()), "log": str(log_path()),
            "users": sorted({str(s.owner["user"]) for s in owned if s.owner}), "user_labs": len(owned),
            "damaged": sorted(damaged)}
