"""The lab's power switch: a small HTTP service on the host's address in the lab network.

It listens only on the lab's management network (the host's veth address), so only lab nodes (and the
host) reach it, and it needs the lab's fence password. `halab up` starts one per lab and `halab down`
ends it. Actions: status, on, off, reboot for one node; list for all.

    python -m halab.fence.daemon LAB
"""

from __future__ import annotations

import contextlib
import hmac
import json
import os
import secrets
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from halab.errors import HalabError
from halab.providers import get_provider
from halab.state import LabState, lab_dir, load_state

PORT = 7410
_power_lock = threading.Lock()  # one power action at a time, as on a real switch


def password_file(lab: str) -> Path:
    return lab_dir(lab) / "fence.password"


def new_password(lab: str) -> str:
    password = secrets.token_urlsafe(18)
    path = password_file(lab)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.touch(mode=0o600)
    path.write_text(password)
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


class Handler(BaseHTTPRequestHandler):
    lab = ""
    password = ""

    def do_POST(self) -> None:  # noqa: N802 - the name http.server dispatches to
        token = self.headers.get("Authorization", "").removeprefix("Bearer ")
        if not hmac.compare_digest(token.encode(), self.password.encode()):
            return self._reply(403, {"error": "wrong password"})
        try:
            length = int(self.headers.get("Content-Length", "0"))
            request = json.loads(self.rfile.read(min(length, 4096)) or b"{}")
            state = load_state(self.lab)
            if state is None:
                raise HalabError(f"lab '{self.lab}' is not up")
            result = power(state, str(request.get("action", "")), request.get("plug"))
        except (HalabError, ValueError) as exc:
            return self._reply(400, {"error": str(exc)})
        self.log_message("%s %s -> %s", request.get("action"), request.get("plug"), result)
        self._reply(200, result)

    def _reply(self, code: int, body: dict[str, object]) -> None:
        data = json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


def serve(lab: str, address: str) -> None:
    Handler.lab = lab
    Handler.password = password_file(lab).read_text().strip()
    server = ThreadingHTTPServer((address, PORT), Handler)
    server.serve_forever()


# -- started and stopped by Lab.up / Lab.down -----------------------------------------------------------
def _daemon_pids(lab: str) -> list[int]:
    wanted = ["-m", "halab.fence.daemon", lab]
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            args = (entry / "cmdline").read_bytes().decode(errors="replace").split("\0")[:-1]
        except OSError:
            continue
        if args[1:4] == wanted:
            pids.append(int(entry.name))
    return pids


def start(lab: str, address: str) -> None:
    log = lab_dir(lab) / "fence.log"
    with open(log, "ab") as handle:
        subprocess.run(["setsid", "--fork", sys.executable, "-m", "halab.fence.daemon", lab, address],
                       stdin=subprocess.DEVNULL, stdout=handle, stderr=handle, check=True)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            with __import__("socket").create_connection((address, PORT), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise HalabError(f"the lab's power switch did not start; see {log}")


def running(lab: str) -> bool:
    return bool(_daemon_pids(lab))


def stop(lab: str) -> None:
    for pid in _daemon_pids(lab):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, 9)


if __name__ == "__main__":
    serve(sys.argv[1], sys.argv[2])
