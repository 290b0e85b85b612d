"""The lab service daemon: who is asking (peer credentials), what they may do, and doing it.

Every caller is named by the kernel, not by anything they send: SO_PEERCRED gives the uid of the process at
the other end of the socket. A caller works only on their own instances (halab/spec/instances.py): a request
names a lab as the caller knows it ("clustering"), and the service maps it to the caller's slot, so no
request can even name another user's lab. Requests are checked field by field; anything else is refused with
one line.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import pwd
import re
import socket
import socketserver
import struct
import sys
import threading
from collections import Counter
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

from halab.access.base import check_fault_options
from halab.access.local import LocalAccess
from halab.access.protocol import MAX_REQUEST, OPS, LineReader, send
from halab.errors import HalabError
from halab.host import procs
from halab.names import check_lab_name
from halab.runtime.quotas import Quotas, load_quotas
from halab.runtime.slots import slot_of
from halab.runtime.state import lab_dir, lab_states
from halab.service.admission import BootQueue
from halab.service.servicelog import clean, log, setup
from halab.spec import PROVIDERS, load_spec
from halab.spec.instances import Owner, instance_name
from halab.types import Progress


@dataclass(frozen=True)
class Caller:
    uid: int
    user: str
    owner: Owner


class Refused(HalabError):
    """The caller may not do this; the message says why, in one line."""


def identify(connection: socket.socket) -> Caller:
    creds = connection.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
    _pid, uid, _gid = struct.unpack("3i", creds)
    try:
        user = pwd.getpwuid(uid).pw_name
    except KeyError:
        raise Refused(f"uid {uid} has no user name on this host, and the lab service serves only users it can "
                      "name") from None
    return Caller(uid, user, Owner(uid, user, slot_of(uid, user)))


def _own_labs(caller: Caller) -> dict[str, Any]:
    """The caller's labs with state: base name -> state."""
    readable, _ = lab_states()
    return {Path(state.spec_path).stem: state for state in readable.values()
            if (state.owner or {}).get("uid", 0) == caller.uid and state.slot == caller.owner.slot}


def _lab_name(caller: Caller, lab: Any) -> str:
    if not isinstance(lab, str):
        raise Refused("this request needs a lab name")
    name = check_lab_name(lab)
    readable, _ = lab_states()
    theirs = readable.get(name)
    if re.fullmatch(r"u\d+-.+", name) and theirs is not None and (theirs.owner or {}).get("uid") != caller.uid:
        raise Refused(f"lab '{name}' belongs to another user; yours are named as in labs/ (halab status)")
    return name


def _access(caller: Caller, lab: str) -> LocalAccess:
    return LocalAccess(lab, caller.owner)


def _check_quota(caller: Caller, lab: str, quotas: Quotas) -> None:
    """Refuse an `up` that would take the caller over their quota, before anything is made."""
    quota = quotas.of(caller.user)
    labs = {name: state for name, state in _own_labs(caller).items() if name != lab}
    if len(labs) + 1 > quota.labs:
        raise Refused(f"over quota: you may have {quota.labs} lab(s) at once and have {len(labs)} "
                      f"({', '.join(sorted(labs))}); take one down first (halab down LAB)")
    new = load_spec(lab)
    nodes = sum(len(state.nodes) for state in labs.values()) + len(new.nodes)
    if nodes > quota.nodes:
        raise Refused(f"over quota: lab '{lab}' would bring your nodes to {nodes}, and you may have "
                      f"{quota.nodes} at once; take a lab down first (halab down LAB)")
    # Each node's disk is capped (its spec's disk_mib); their caps together stay within the user's disk.
    disk = sum(n.limits.disk_mib for state in labs.values() for n in _spec_nodes(state)) + \
        sum(n.limits.disk_mib for n in new.nodes)
    if disk > quota.disk_mib:
        raise Refused(f"over quota: lab '{lab}' would bring your nodes' disks to {disk} MiB, and you may have "
                      f"{quota.disk_mib} MiB; take a lab down first (halab down LAB)")


def _spec_nodes(state: Any) -> list[Any]:
    try:
        return list(state.spec().nodes)
    except HalabError:
        return []


ASSIGNMENT = re.compile(r"[A-Za-z0-9_.-]{1,64}")


class Service:
    """The operations a caller may ask for, each checked and done on the caller's own lab instance."""

    def __init__(self, quotas: Quotas) -> None:
        self.quotas = quotas
        self.boots = BootQueue(quotas.settings.booting_nodes)
        self._user_locks: dict[int, threading.Lock] = {}
        self._guard = threading.Lock()

    def _user_lock(self, uid: int) -> threading.Lock:
        with self._guard:
            return self._user_locks.setdefault(uid, threading.Lock())

    def handle(self, caller: Caller, request: dict[str, Any], progress: Progress) -> Any:
        op, args = request.get("op"), request.get("args", {})
        if op not in OPS:
            raise Refused(f"unknown request {op!r} (known: {', '.join(OPS)})")
        if not isinstance(args, dict):
            raise Refused("the request's args must be an object")
        if op == "whoami":
            return {"user": caller.user, "uid": caller.uid, "slot": caller.owner.slot}
        if op == "labs":
            return {"labs": [{"lab": name, "instance": state.lab, "phase": state.phase}
                             for name, state in sorted(_own_labs(caller).items())]}
        lab = _lab_name(caller, request.get("lab"))
        return getattr(self, f"_{op}")(caller, lab, args, progress)

    def _up(self, caller: Caller, lab: str, args: dict[str, Any], progress: Progress) -> Any:
        provider = args.get("provider")
        if provider is not None and provider not in PROVIDERS:
            raise Refused(f"unknown provider {provider!r} (known: {', '.join(PROVIDERS)})")
        with self._user_lock(caller.uid):  # quota check and creation together: two `up`s cannot both fit
            _check_quota(caller, lab, self.quotas)
            # The user's caps go with the lab (its state), so every boot of its nodes puts them under them.
            owner = replace(caller.owner, limits=tuple(sorted(self.quotas.of(caller.user).caps().items())))
            access = LocalAccess(lab, owner)
            if provider is None and self.quotas.provider in access.lab.spec.providers:
                provider = self.quotas.provider  # the service's default (service.toml), where the lab has it
            with self.boots.booting(len(access.lab.spec.nodes), progress):
                nodes = access.up(provider, progress)
        return {"lab": lab, "instance": instance_name(lab, caller.owner.slot), "nodes": [asdict(n) for n in nodes]}

    def _down(self, caller: Caller, lab: str, _args: dict[str, Any], progress: Progress) -> Any:
        _access(caller, lab).down(progress)
        return {"lab": lab}

    def _status(self, caller: Caller, lab: str, _args: dict[str, Any], _progress: Progress) -> Any:
        return _access(caller, lab).status()

    def _access(self, caller: Caller, lab: str, _args: dict[str, Any], _progress: Progress) -> Any:
        """What the caller needs to reach their nodes themselves: the inventory and the lab's SSH key."""
        access = _access(caller, lab)
        nodes = access.nodes()
        key = (lab_dir(access.lab.name) / "id_ed25519").read_text()
        return {"lab": lab, "instance": access.lab.name, "nodes": [asdict(n) for n in nodes], "key": key}

    def _check(self, caller: Caller, lab: str, args: dict[str, Any], progress: Progress) -> Any:
        faults = args.get("faults", True)
        if not isinstance(faults, bool) and not (isinstance(faults, list) and all(isinstance(f, str) for f in faults)):
            raise Refused("'faults' must be true, false or a list of fault check ids")
        return asdict(_access(caller, lab).check(faults, progress))

    def _fault(self, caller: Caller, lab: str, args: dict[str, Any], _progress: Progress) -> Any:
        fault, node = args.pop("fault", None), args.pop("node", None)
        if not isinstance(fault, str) or not isinstance(node, str):
            raise Refused("a fault request needs 'fault' and 'node'")
        daemon, network = check_fault_options(args)
        return {"message": _access(caller, lab).fault(fault, node, daemon, network)}

    def _solve(self, caller: Caller, lab: str, _args: dict[str, Any], progress: Progress) -> Any:
        if not self.quotas.policy.solve and caller.uid != 0:
            raise Refused("solve is off on this machine (policy solve = false in the lab service's config): "
                          "configure the lab yourself")
        _access(caller, lab).solve(progress)
        return {"lab": lab}

    def _break(self, caller: Caller, lab: str, args: dict[str, Any], progress: Progress) -> Any:
        assignment = args.get("assignment")
        if assignment is not None and not (isinstance(assignment, str) and ASSIGNMENT.fullmatch(assignment)):
            raise Refused("'assignment' must be a name (letters, digits, '.', '_', '-'; at most 64)")
        return {"lab": lab, "seed": _access(caller, lab).break_lab(None, None, assignment, progress)}


class _Handler(socketserver.BaseRequestHandler):
    service: Service

    def handle(self) -> None:
        connection: socket.socket = self.request
        try:
            caller = identify(connection)
            request = LineReader(connection, MAX_REQUEST).next(self.service.quotas.settings.request_seconds)
            connection.settimeout(None)
            if request is None:
                return
        except (HalabError, OSError) as exc:
            with contextlib.suppress(OSError):
                send(connection, {"error": str(exc) or type(exc).__name__})
            return
        op = request.get("op")
        who = f"{caller.user} (uid {caller.uid})"

        def progress(line: str) -> None:
            with contextlib.suppress(OSError):  # the caller may have gone; the work goes on
                send(connection, {"progress": str(line)[:500]})

        try:
            result = self.service.handle(caller, request, progress)
        except HalabError as exc:
            # Logged only once checked: a refused op or lab name is not written as the caller sent it.
            log(f"{who}: {op if op in OPS else 'unknown request'} refused: {clean(exc)}")
            reply: dict[str, Any] = {"error": str(exc)}
        except Exception as exc:  # noqa: BLE001 - a bug must answer the caller and keep the service up
            log(f"internal error for {who}: {type(exc).__name__}: {exc}")
            reply = {"error": f"the lab service failed ({type(exc).__name__}: {exc}); see its log"}
        else:
            lab = request.get("lab") if op not in ("labs", "whoami") else ""
            log(f"{who}: {op} {lab or ''}")  # op is one of OPS and lab a checked name: handle() passed
            reply = {"result": result}
        with contextlib.suppress(OSError):
            send(connection, reply)


def _peer_uid(connection: socket.socket) -> int:
    creds = connection.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
    return int(struct.unpack("3i", creds)[1])


class _Server(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    """One thread per request, as many at once as service.toml allows (``connections``, and
    ``connections_per_user`` for each user): one more is answered at once, without a thread, and closed. Each
    thread holds a descriptor and its stack; without a bound, one user opening connections in a loop took
    every descriptor the service had."""

    daemon_threads = True
    request_queue_size = 64  # a class of users connecting in the same second wait in the backlog, not refused

    def __init__(self, path: str, quotas: Quotas) -> None:
        super().__init__(path, _Handler)
        self.settings = quotas.settings
        self.open: Counter[int] = Counter()
        self._count_lock = threading.Lock()

    def process_request(self, request: Any, client_address: Any) -> None:
        try:
            uid = _peer_uid(request)
        except OSError:
            self.shutdown_request(request)
            return
        with self._count_lock:
            mine, everyone = self.open[uid], sum(self.open.values())
            refused = (f"you have {mine} requests open at the lab service, the most one user may have; wait for "
                       "one to finish" if mine >= self.settings.connections_per_user else
                       "the lab service is answering as many requests as it may; try again in a moment"
                       if everyone >= self.settings.connections else "")
            if not refused:
                self.open[uid] += 1
        if refused:
            with contextlib.suppress(OSError):
                request.settimeout(1)
                send(request, {"error": refused})
            self.shutdown_request(request)
            return
        try:
            super().process_request(request, client_address)
        except BaseException:
            self._done(uid)
            raise

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        try:
            uid = _peer_uid(request)
        except OSError:
            uid = -1
        try:
            super().process_request_thread(request, client_address)
        finally:
            self._done(uid)

    def _done(self, uid: int) -> None:
        with self._count_lock:
            self.open[uid] -= 1
            if self.open[uid] <= 0:
                del self.open[uid]


def serve(path: Path, ready_fd: int | None = None) -> int:
    try:
        quotas = load_quotas()
    except HalabError as exc:
        procs.report_ready(ready_fd, f"error {exc}")
        return 1
    path.parent.mkdir(parents=True, exist_ok=True)
    path.parent.chmod(0o755)
    with contextlib.suppress(FileNotFoundError):
        path.unlink()
    _Handler.service = Service(quotas)
    settings = quotas.settings
    try:
        server = _Server(str(path), quotas)
        setup(settings.log, settings.log_kib, settings.log_files)
    except OSError as exc:
        procs.report_ready(ready_fd, f"error cannot listen on {path} or log to {settings.log}: {exc.strerror or exc}")
        return 1
    path.chmod(0o666)  # anyone may ask; the service decides from who they are
    log(f"listening on {path}; {settings.booting_nodes} node(s) boot at once, {settings.connections} requests "
        f"at once ({settings.connections_per_user} per user)")
    procs.report_ready(ready_fd, f"ready {os.getpid()}")
    server.serve_forever()
    return 0


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m halab.service.server", description="The halab lab service.")
    parser.add_argument("socket", type=Path)
    parser.add_argument("--ready-fd", type=int)
    args = parser.parse_args(argv)
    return serve(args.socket, args.ready_fd)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
