"""JupyterHub's process for `halab classroom start|stop|status`, with the lab service started alongside.

`start` checks everything first (the proxy is installed, the port is free, the students' slots), starts the
lab service if it is not running, then JupyterHub (which starts its proxy) in a session of its own, and
waits until the hub answers through the proxy. Whatever fails, what it started is stopped again.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import ssl
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from halab.access.protocol import socket_path
from halab.classroom import hubconfig
from halab.classroom.model import Classroom
from halab.classroom.setup import pin_slots
from halab.course.launcher import free_port, port_is_free
from halab.errors import HalabError
from halab.host import procs
from halab.service import daemon

READY_TIMEOUT_S = 60.0
STOP_TIMEOUT_S = 30.0


def log_path(classroom: Classroom) -> Path:
    return classroom.hub / "jupyterhub.log"


def hub_pid(classroom: Classroom) -> int | None:
    """The hub's PID while it runs (from the runtime file, checked against its command line)."""
    pid = hubconfig.read_runtime(classroom).get("pid")
    if isinstance(pid, int) and procs.is_running(pid) and "jupyterhub" in procs.command_line(pid):
        return pid
    return None


def local_url(run: dict[str, Any]) -> str:
    scheme = "https" if run.get("ssl_cert") else "http"
    host = "127.0.0.1" if run["ip"] in ("0.0.0.0", "") else run["ip"]
    return f"{scheme}://{host}:{run['port']}"


def start(classroom: Classroom, ip: str, port: int, ssl: tuple[str, str] | None) -> list[str]:
    if hub_pid(classroom):
        raise HalabError(f"the classroom's hub runs already (PID {hub_pid(classroom)}); halab classroom stop first")
    if not hubconfig.proxy_command().exists():
        raise HalabError(f"JupyterHub's proxy is not installed ({hubconfig.proxy_command()}): run scripts/install.sh "
                         "(it runs npm ci in the checkout)")
    if not 1 <= port <= 65535:
        raise HalabError(f"port {port} is not a TCP port number (1-65535)")
    if not port_is_free(ip, port):
        raise HalabError(f"port {port} on {ip} is in use: choose another with --port (nothing was started)")
    pin_slots(classroom)
    hub_port = free_port("127.0.0.1", 18081)
    api_port = free_port("127.0.0.1", hub_port + 1)
    service_started = not daemon.running()
    run = {"ip": ip, "port": port, "hub_port": hub_port, "api_port": api_port, "python": sys.executable,
           "environment": hubconfig.spawn_environment(sys.executable, socket_path(), classroom),
           "service_started": service_started, "ssl_cert": ssl[0] if ssl else "", "ssl_key": ssl[1] if ssl else ""}
    lines = [daemon.start()] if service_started else [f"The lab service runs already ({socket_path()})."]
    try:
        run["pid"] = _launch(classroom, run)
        _wait_ready(classroom, run)
    except BaseException:
        pid = run.get("pid")
        _stop_hub(classroom, pid if isinstance(pid, int) else None)
        hubconfig.runtime_file(classroom).unlink(missing_ok=True)
        if service_started:
            daemon.stop()
        raise
    lines.append(f"JupyterHub runs (PID {run['pid']}): {local_url(run)}/ (log: {log_path(classroom)})")
    if not ssl and ip not in ("127.0.0.1", "localhost", "::1"):
        lines.append("Passwords cross the network in clear text without TLS: give --ssl-cert and --ssl-key, or "
                     "put an HTTPS proxy in front of the hub.")
    return lines


def _write_runtime(classroom: Classroom, run: dict[str, Any]) -> None:
    path = hubconfig.runtime_file(classroom)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as handle:
        json.dump(run, handle, indent=1)


def _launch(classroom: Classroom, run: dict[str, Any]) -> int:
    """JupyterHub in a session of its own (it outlives this command and ignores its Ctrl-C)."""
    _write_runtime(classroom, run)
    env = {k: v for k, v in os.environ.items() if k != "JUPYTERHUB_API_TOKEN"}
    with open(log_path(classroom), "ab") as log:
        proc = subprocess.Popen([sys.executable, "-m", "jupyterhub", "-f", str(classroom.hub / "jupyterhub_config.py")],
                                cwd=classroom.hub, env=env, stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                                start_new_session=True)
    run["pid"] = proc.pid
    _write_runtime(classroom, run)
    return proc.pid


def _wait_ready(classroom: Classroom, run: dict[str, Any]) -> None:
    """Until the hub answers through the proxy (both are up), or HalabError with the end of its log."""
    deadline = time.monotonic() + READY_TIMEOUT_S
    while time.monotonic() < deadline:
        if not procs.is_running(run["pid"]):
            raise HalabError(f"JupyterHub stopped before it was ready:\n{_log_tail(classroom)}")
        with contextlib.suppress(urllib.error.URLError, ConnectionError, TimeoutError, ValueError), \
                _open(f"{local_url(run)}/hub/api/", timeout=2) as answer:
            if "version" in json.loads(answer.read()):
                return
        time.sleep(0.3)
    raise HalabError(f"JupyterHub did not answer within {READY_TIMEOUT_S:g} s:\n{_log_tail(classroom)}")


def _open(url: str, timeout: float, token: str = "") -> Any:
    request = urllib.request.Request(url, headers={"Authorization": f"token {token}"} if token else {})
    context = None
    if url.startswith("https"):  # our own hub, reached on 127.0.0.1: its certificate names the public host
        context = ssl.create_default_context()
        context.check_hostname, context.verify_mode = False, ssl.CERT_NONE
    return urllib.request.urlopen(request, timeout=timeout, context=context)


def _log_tail(classroom: Classroom, lines: int = 12) -> str:
    try:
        return "\n".join(log_path(classroom).read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def stop(classroom: Classroom) -> list[str]:
    run = hubconfig.read_runtime(classroom)
    pid = hub_pid(classroom)
    if not run:
        return ["The classroom's hub is not running."]
    _stop_hub(classroom, pid)
    lines = ["JupyterHub and every user's JupyterLab are stopped (the students' labs stay up)."]
    hubconfig.runtime_file(classroom).unlink(missing_ok=True)
    if run.get("service_started"):
        lines.append(daemon.stop())
    return lines


def _stop_hub(classroom: Classroom, pid: int | None) -> None:
    """SIGTERM: JupyterHub stops the users' servers and its proxy itself; what is left after STOP_TIMEOUT_S
    (the hub, its proxy, servers that did not stop) is killed."""
    if pid:
        procs.send_signal(pid, signal.SIGTERM)
        if not procs.wait_gone([pid], STOP_TIMEOUT_S):
            procs.send_signal(pid)
    left = [p for p in _hub_processes(classroom) if procs.is_running(p)]
    for leftover in left:
        procs.send_signal(leftover)
    procs.wait_gone(left, 5)


def _hub_processes(classroom: Classroom) -> list[int]:
    """The proxy and the users' servers of this classroom's hub (by their environment: the hub's API URL)."""
    run = hubconfig.read_runtime(classroom)
    marker = f"127.0.0.1:{run.get('hub_port')}/hub/api".encode()
    found = []
    for proxy_pid in _pid_file(classroom.hub / "proxy.pid"):
        if "configurable-http-proxy" in procs.command_line(proxy_pid):
            found.append(proxy_pid)
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and run.get("hub_port"):
            with contextlib.suppress(OSError):
                if marker in (entry / "environ").read_bytes():
                    found.append(int(entry.name))
    return found


def _pid_file(path: Path) -> list[int]:
    try:
        return [int(path.read_text().strip())]
    except (OSError, ValueError):
        return []


def hub_users(classroom: Classroom) -> dict[str, Any] | None:
    """The hub's users and their servers (its REST API, with the status service's token); None if the hub does
    not answer."""
    run = hubconfig.read_runtime(classroom)
    if not run or not hub_pid(classroom):
        return None
    token = hubconfig.token_file(classroom).read_text().strip()
    try:
        with _open(f"{local_url(run)}/hub/api/users", timeout=5, token=token) as answer:
            return {user["name"]: user for user in json.loads(answer.read())}
    except (urllib.error.URLError, ConnectionError, TimeoutError, ValueError, OSError):
        return None
