"""The caller's side of the lab service: send a request, relay its progress, return its result.

``ServiceAccess`` is the door to a lab (base.py: LabAccess) for callers who are not root. Work that needs root (nodes,
networks, power, faults, grading with fault checks) is done by the service; what the caller may do as
themselves, SSH to their own nodes, they do with the inventory and key the service hands them, kept in
``~/.local/share/halab/labs/<lab>/`` (mode 0700/0600).
"""

from __future__ import annotations

import contextlib
import os
import socket
from collections.abc import Collection
from pathlib import Path
from typing import Any

import paramiko

from halab.access.base import Checked
from halab.access.protocol import MAX_REPLY, LineReader, send, socket_path
from halab.errors import HalabError
from halab.names import check_lab_name
from halab.runtime import ssh
from halab.runtime.ssh import CommandResult
from halab.runtime.state import NodeInfo
from halab.types import Progress

NOT_RUNNING = ("the lab service is not running, and only root can work on labs without it; ask your "
               "administrator to run: halab service start")


def request(op: str, lab: str | None, args: dict[str, Any], progress: Progress = lambda _m: None) -> Any:
    """Ask the service; its progress lines go to ``progress``; HalabError with its answer if it refuses."""
    path = socket_path()
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        try:
            sock.connect(str(path))
        except (FileNotFoundError, ConnectionRefusedError):
            raise HalabError(NOT_RUNNING) from None
        except PermissionError:
            raise HalabError(f"the lab service's socket {path} does not let you in; ask your administrator") from None
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            # A service too busy for us answers at once and hangs up; its answer is there to read.
            send(sock, {"op": op, "lab": lab, "args": args})
        reader = LineReader(sock, MAX_REPLY)
        while True:
            try:
                message = reader.next()
            except OSError as exc:
                raise HalabError(f"the lab service broke off ({exc.strerror or exc})") from None
            if message is None:
                raise HalabError("the lab service hung up without an answer; see its log (halab service status)")
            if "progress" in message:
                progress(str(message["progress"]))
            elif "error" in message:
                raise HalabError(str(message["error"]))
            elif "result" in message:
                return message["result"]
    finally:
        sock.close()


def user_dir() -> Path:
    base = Path(os.environ.get("XDG_DATA_HOME", Path.home() / ".local" / "share"))
    return base / "halab" / "labs"


class ServiceAccess:
    """A lab of the caller's own, through the lab service (see halab/access/__init__.py)."""

    def __init__(self, name: str) -> None:
        self.name = check_lab_name(name)
        self._inventory: list[NodeInfo] | None = None
        self._clients: dict[str, paramiko.SSHClient] = {}

    def up(self, provider: str | None = None, progress: Progress = lambda _m: None) -> list[NodeInfo]:
        result = request("up", self.name, {"provider": provider}, progress)
        self._inventory = None
        return [NodeInfo(**n) for n in result["nodes"]]

    def down(self, progress: Progress = lambda _m: None) -> None:
        self.close()
        request("down", self.name, {}, progress)
        with contextlib.suppress(OSError):
            (user_dir() / self.name / "id_ed25519").unlink()

    def status(self) -> dict[str, Any]:
        return request("status", self.name, {})

    def is_up(self) -> bool:
        return self.status().get("phase") == "up"

    def nodes(self) -> list[NodeInfo]:
        """The inventory, with the lab's key saved for the caller (0600) so that SSH runs as the caller."""
        if self._inventory is None:
            result = request("access", self.name, {})
            folder = user_dir() / self.name
            folder.mkdir(parents=True, exist_ok=True, mode=0o700)
            folder.chmod(0o700)
            key_file = folder / "id_ed25519"
            ssh.write_private_key(key_file, result["key"])
            self._inventory = [NodeInfo(**{**n, "key_file": str(key_file)}) for n in result["nodes"]]
        return list(self._inventory)

    def node(self, name: str) -> NodeInfo:
        for node in self.nodes():
            if node.name == name:
                return node
        raise HalabError(f"lab '{self.name}' has no node '{name}' (nodes: {', '.join(n.name for n in self.nodes())})")

    def client(self, node: str, timeout: float = 10.0) -> paramiko.SSHClient:
        client = self._clients.get(node)
        transport = client.get_transport() if client else None
        if client is None or transport is None or not transport.is_active():
            client = ssh.connect(self.node(node), timeout=timeout)
            self._clients[node] = client
        return client

    def run(self, node: str, command: str, timeout: float = 30.0) -> CommandResult:
        try:
            return ssh.run(self.client(node), command, timeout)
        except HalabError:
            self._drop(node)
            raise

    def check(self, faults: bool | Collection[str] = True, progress: Progress = lambda _m: None) -> Checked:
        wanted = faults if isinstance(faults, bool) else sorted(faults)
        result = request("check", self.name, {"faults": wanted}, progress)
        return Checked(result["report"], result["raw"], result["identity"])

    def fault(self, fault: str, node: str, daemon: str = "corosync", network: str | None = None) -> str:
        args = {"fault": fault, "node": node, "daemon": daemon, **({"network": network} if network else {})}
        return str(request("fault", self.name, args)["message"])

    def solve(self, progress: Progress = lambda _m: None) -> None:
        request("solve", self.name, {}, progress)

    def break_lab(self, scenario: str | None = None, seed: int | None = None, assignment: str | None = None,
                  progress: Progress = lambda _m: None) -> int:
        """A user's lab is broken by their slot's seed: choosing the fault is the instructor's (root's door)."""
        if scenario is not None or seed is not None:
            raise HalabError("--scenario and --seed are for the instructor: your lab's fault comes from your slot "
                             "and the assignment")
        return int(request("break", self.name, {"assignment": assignment} if assignment else {}, progress)["seed"])

    def _drop(self, node: str) -> None:
        client = self._clients.pop(node, None)
        if client:
            client.close()

    def close(self) -> None:
        for node in list(self._clients):
            self._drop(node)
