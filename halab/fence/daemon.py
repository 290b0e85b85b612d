"""The lab's power switch: a small HTTP service on the host's address in the lab network.

It listens only on the lab's management network (the host's veth address), so only lab nodes (and the
host) reach it, and it needs the lab's fence password. `halab up` starts one per lab and `halab down`
ends it. Actions: status, on, off, reboot for one node; list for all.

    python -m halab.fence.daemon LAB ADDRESS [--ready-fd FD]

Fencing must work while the cluster is at its worst, so the switch answers every request (an error
status with the reason when something failed, and a line in its log), and no client can tie it up: a
request must arrive whole within REQUEST_SECONDS, its body is small and bounded, and connections that have
not delivered their request yet are limited per client address and in total (the oldest go first).

Start-up: the switch reports on a pipe from halab (``--ready-fd``) once it has bound its port, or why it
could not. halab never takes "something accepts on the port" for the switch: another process listening
there would receive the nodes' password and could answer "off" for a node that still runs.
"""

from __future__ import annotations

import argparse
import contextlib
import hmac
import json
import os
import secrets
import socket
import sys
import threading
import time
import traceback
from collections import OrderedDict
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from halab import paths
from halab.errors import HalabError
from halab.host import procs
from halab.host.fs import private_dir, write_secret
from halab.providers.base import get_provider
from halab.runtime.state import LabState, lab_dir, load_state

PORT = 7410
REQUEST_SECONDS = 5.0  # fence_halab sends its whole request at once; this is generous
MAX_BODY = 4096
PENDING_PER_CLIENT = 16  # connections of one address that have not delivered a request yet
PENDING_TOTAL = 64
READY_SECONDS = 10.0
_power_lock = threading.Lock()  # one power action at a time, as on a real switch


def password_file(lab: str) -> Path:
    return lab_dir(lab) / "fence.password"


def new_password(lab: str) -> str:
    password = secrets.token_urlsafe(18)
    path = password_file(lab)
    private_dir(path.parent)
    write_secret(path, password)
    return password


def node_config(host_address: str, password: str) -> str:
    """/etc/halab/fence.conf on every node: where the switch is and how to authenticate."""
    return f"# halab power switch for fence_halab\nip={host_address}\nport={PORT}\npassword={password}\n"


def power(state: LabState, action: str, plug: str | None) -> dict[str, object]:
    provider = get_provider(state.provider)
    names = [node.name for node in state.nodes]
    if action == "list":
        return {"nodes": {n: "on" if provider.node_running(state, n) else "off" for n in names}}
    if plug not in names:
        raise HalabError(f"no node '{plug}' in lab '{state.lab}'")
    with _power_lock:
        if action in ("off", "reboot") and provider.node_running(state, plug):
            provider.power_off(state, plug)
        if action in ("on", "reboot"):
            provider.power_on(state, plug)
        elif action not in ("off", "status"):
            raise HalabError(f"unknown action '{action}'")
    return {"status": "on" if provider.node_running(state, plug) else "off"}


class BadRequest(Exception):
    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code


class Handler(BaseHTTPRequestHandler):
    server: PowerSwitch
    timeout = REQUEST_SECONDS  # for each read and write on the connection

    def do_POST(self) -> None:  # noqa: N802 - the name http.server dispatches to
        try:
            code, body = self._answer()
        except Exception as exc:  # a power switch answers every request, whatever went wrong
            self.log_error("internal error: %s", traceback.format_exc().strip().replace("\n", " | "))
            code, body = 500, {"error": f"the power switch failed: {type(exc).__name__}: {exc}"}
        self._reply(code, body)

    def _answer(self) -> tuple[int, dict[str, object]]:
        token = self.headers.get("Authorization", "").removeprefix("Bearer ")
        if not hmac.compare_digest(token.encode(), self.server.password.encode()):
            self.server.delivered(self.connection)
            return 403, {"error": "wrong password"}
        try:
            request = self._read_request()
        except BadRequest as exc:
            return exc.code, {"error": str(exc)}
        finally:
            self.server.delivered(self.connection)  # from here on a power action may take its time
        try:
            state = load_state(self.server.lab)
            if state is None:
                raise HalabError(f"lab '{self.server.lab}' is not up")
            result = power(state, str(request.get("action", "")), request.get("plug"))
        except HalabError as exc:
            self.log_message("%s %s failed: %s", request.get("action"), request.get("plug"), exc)
            return 400, {"error": str(exc)}
        self.log_message("%s %s -> %s", request.get("action"), request.get("plug"), result)
        return 200, result

    def _read_request(self) -> dict[str, Any]:
        try:
            length = int(self.headers.get("Content-Length", "0"))
        except ValueError:
            raise BadRequest(400, "Content-Length is not a number") from None
        if length < 0:
            raise BadRequest(400, "Content-Length is negative")
        if length > MAX_BODY:
            raise BadRequest(413, f"the request body is larger than {MAX_BODY} bytes")
        data = self.rfile.read(length)
        if len(data) < length:
            raise BadRequest(400, "the request body ended early")
        try:
            request = json.loads(data or b"{}")
        except ValueError as exc:
            raise BadRequest(400, f"the request body is not JSON: {exc}") from None
        if not isinstance(request, dict):
            raise BadRequest(400, 'the request body must be a JSON object like {"action": "status", "plug": "node1"}')
        return request

    def _reply(self, code: int, body: dict[str, object]) -> None:
        data = json.dumps(body).encode()
        try:
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
        except OSError as exc:  # the client left; nobody to answer
            self.log_error("could not answer %s: %s", self.client_address[0], exc)

    def log_message(self, format: str, *args: Any) -> None:  # http.server's signature
        # A full disk (or a closed log) must not stop the switch; the answer still goes out.
        with contextlib.suppress(OSError, ValueError):
            super().log_message(format, *args)


class PowerSwitch(ThreadingHTTPServer):
    """The HTTP server, with a bound on connections that have not delivered their request yet."""

    request_queue_size = 128

    def __init__(self, address: tuple[str, int], lab: str, password: str) -> None:
        self.lab = lab
        self.password = password
        self._pending: OrderedDict[socket.socket, tuple[str, float]] = OrderedDict()  # oldest first
        self._pending_lock = threading.Lock()
        super().__init__(address, Handler)

    def verify_request(self, request: Any, client_address: Any) -> bool:
        client = client_address[0]
        with self._pending_lock:
            mine = [sock for sock, (owner, _) in self._pending.items() if owner == client]
            if len(mine) >= PENDING_PER_CLIENT:
                self._cut(mine[0])
            elif len(self._pending) >= PENDING_TOTAL:
                self._cut(self._oldest_of_busiest_client())
            self._pending[request] = (client, time.monotonic() + REQUEST_SECONDS)
        return True

    def _oldest_of_busiest_client(self) -> socket.socket:
        counts: dict[str, int] = {}
        for owner, _ in self._pending.values():
            counts[owner] = counts.get(owner, 0) + 1
        busiest = max(counts, key=lambda owner: counts[owner])
        return next(sock for sock, (owner, _) in self._pending.items() if owner == busiest)

    def _cut(self, sock: socket.socket) -> None:
        """End a connection that has not delivered its request; its handler thread then finishes."""
        self._pending.pop(sock, None)
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)

    def delivered(self, sock: socket.socket) -> None:
        with self._pending_lock:
            self._pending.pop(sock, None)

    def service_actions(self) -> None:
        """Called by serve_forever at least every half second: cut connections past their deadline."""
        now = time.monotonic()
        with self._pending_lock:
            for sock in [sock for sock, (_, deadline) in self._pending.items() if deadline < now]:
                self._cut(sock)

    def shutdown_request(self, request: Any) -> None:
        self.delivered(request)
        super().shutdown_request(request)

    def handle_error(self, request: Any, client_address: Any) -> None:
        exc = sys.exc_info()[1]
        with contextlib.suppress(OSError, ValueError):
            sys.stderr.write(f"{time.strftime('%Y-%m-%d %H:%M:%S')} connection from {client_address[0]}: {exc!r}\n")


def serve(lab: str, address: str, ready_fd: int | None = None) -> int:
    """Run the switch; with ``ready_fd``, report "ready PID" (or "error ...") there once bound."""

    def report(line: str) -> None:
        procs.report_ready(ready_fd, line)

    try:
        password = password_file(lab).read_text().strip()
    except OSError as exc:
        report(f"error cannot read {password_file(lab)}: {exc.strerror or exc}")
        return 1
    try:
        server = PowerSwitch((address, PORT), lab, password)
    except OSError as exc:
        report(f"error cannot listen on {address}:{PORT}: {exc.strerror or exc}")
        return 1
    report(f"ready {os.getpid()}")
    server.serve_forever()
    return 0


# -- started and stopped by Lab.up / Lab.down -----------------------------------------------------------
def _daemon_pids(lab: str) -> list[int]:
    """The switches of this lab: its name on the command line, and this state directory (several halab checkouts
    on one host, each with its own HALAB_STATE_DIR, may each have a lab of that name: one's `down` must not stop
    the other's switch)."""
    wanted = ["-m", "halab.fence.daemon", lab]
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            args = (entry / "cmdline").read_bytes().decode(errors="replace").split("\0")[:-1]
        except OSError:
            continue
        # a user's look-alike is not the switch (root only), nor another state directory's daemon
        if args[1:4] == wanted and procs.runs_as_root(int(entry.name)) and _state_dir_of(entry) == paths.state_dir():
            pids.append(int(entry.name))
    return pids


def _state_dir_of(process: Path) -> Path | None:
    """The state directory a process of halab's works in (its HALAB_STATE_DIR, else the default); None if its
    environment cannot be read."""
    try:
        variables = (process / "environ").read_bytes().split(b"\0")
    except OSError:
        return None
    found = next((v.split(b"=", 1)[1] for v in variables if v.startswith(b"HALAB_STATE_DIR=")), None)
    return Path(found.decode(errors="replace")) if found is not None else Path(paths.DEFAULT_STATE_DIR)


def _listeners(address: str, port: int) -> str:
    """Who listens on address:port (or on the wildcard address at that port), for the error message."""
    wanted = {f"00000000:{port:04X}", f"{'0' * 32}:{port:04X}"}
    with contextlib.suppress(OSError):  # /proc/net/tcp writes IPv4 addresses as little-endian hex
        wanted.add(f"{socket.inet_aton(address)[::-1].hex().upper()}:{port:04X}")
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for fields in (line.split() for line in lines):
            if len(fields) > 9 and fields[3] == "0A" and fields[1] in wanted:  # 0A: LISTEN
                inodes.add(f"socket:[{fields[9]}]")
    found = set()
    for fd_dir in Path("/proc").glob("[0-9]*/fd"):
        try:
            if any(os.readlink(fd) in inodes for fd in fd_dir.iterdir()):
                pid = int(fd_dir.parent.name)
                found.add(f"PID {pid} ({procs.command_line(pid)[:80]})")
        except OSError:
            continue
    return ", ".join(sorted(found)) or "another process"


def start(lab: str, address: str) -> None:
    """Start the lab's switch and wait until it says it is listening; a clear error if it cannot."""
    log = lab_dir(lab) / "fence.log"
    before = set(_daemon_pids(lab))
    line = procs.start_daemon([sys.executable, "-m", "halab.fence.daemon", lab, address], log, READY_SECONDS)
    word, _, rest = line.partition(" ")
    if word == "ready" and rest.isdigit() and int(rest) in _daemon_pids(lab):
        return
    taken_by = _listeners(address, PORT) if word == "error" and "in use" in rest else ""
    for pid in set(_daemon_pids(lab)) - before:  # the switch just started, if it hangs; never one that runs
        procs.send_signal(pid)
    if taken_by:
        raise HalabError(f"the lab's power switch cannot start: {address}:{PORT} is already taken by {taken_by}; "
                         f"the lab's fence password is not sent to it. Stop that process, then run: halab up {lab}")
    reason = rest if word == "error" else f"no word from it in {READY_SECONDS:g} s"
    raise HalabError(f"the lab's power switch did not start ({reason}); see {log}")


def running(lab: str) -> bool:
    return bool(_daemon_pids(lab))


def runs_older_code(lab: str) -> bool:
    """Whether the lab's switch started before halab's code last changed (an upgrade while the lab was up):
    it would import the new code into the old at its next power action, and fail there."""
    changed = paths.code_changed_at()
    return any((started or changed) < changed for started in map(procs.started_at, _daemon_pids(lab)))


def stop(lab: str) -> None:
    pids = _daemon_pids(lab)
    for pid in pids:
        procs.send_signal(pid)
    procs.wait_gone(pids, 5)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m halab.fence.daemon", description="The lab's power switch.")
    parser.add_argument("lab")
    parser.add_argument("address")
    parser.add_argument("--ready-fd", type=int, help="pipe to report readiness on (halab's start() passes it)")
    args = parser.parse_args(argv)
    return serve(args.lab, args.address, args.ready_fd)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
