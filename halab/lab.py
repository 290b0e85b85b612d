"""The Python API for a lab, used by the CLI, graders, solutions and notebooks.

    lab = Lab("clustering")
    lab.up()
    lab.run("node1", "corosync-quorumtool -s").stdout
    lab.down()
"""

from __future__ import annotations

import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import paramiko

from halab.errors import HalabError
from halab.fence import daemon as fence
from halab.host.fs import remove_tree
from halab.names import check_lab_name
from halab.providers.base import PROVIDERS, Provider, get_provider
from halab.runtime import labnet, peers, ssh
from halab.runtime.ssh import CommandResult
from halab.runtime.state import (
    LabState,
    NodeInfo,
    lab_dir,
    lab_lock,
    lab_states,
    labs_with_state,
    load_state,
    save_state,
    update_state,
)
from halab.spec import LabSpec, spec_from_data, spec_path
from halab.spec.instances import Owner, instance_name, read_spec_data
from halab.types import Progress

SSH_READY_TIMEOUT = 180.0


def require_root() -> None:
    if os.geteuid() != 0:
        raise HalabError("halab must run as root (it creates namespaces and containers); use a root shell or sudo")


def running_labs() -> list[str]:
    """Labs that are fully up. A lab whose state file is damaged is not among them (see damaged_labs), and
    does not stop the others from being listed."""
    readable, _damaged = lab_states()
    return [name for name, state in readable.items() if state.phase == "up"]


def damaged_labs() -> dict[str, str]:
    """Labs whose state file cannot be read: lab -> the problem, with the command that clears it."""
    return lab_states()[1]


class Lab:
    def __init__(self, name: str, owner: Owner | None = None) -> None:
        """A lab by name: root's own, or with ``owner`` the instance of lab ``name`` in that user's slot."""
        self.base = check_lab_name(name)  # before it becomes a path, a namespace or a lock
        self.owner = owner if owner and owner.slot else None
        self.name = instance_name(self.base, self.owner.slot) if self.owner else self.base
        self._clients: dict[str, paramiko.SSHClient] = {}
        self._spec: LabSpec | None = None
        # Graders ask one node from several threads at once: one connection per node, made once.
        self._node_locks: dict[str, threading.Lock] = {}
        self._locks_lock = threading.Lock()

    # -- reading ------------------------------------------------------------------------------------
    @property
    def spec(self) -> LabSpec:
        """The lab's spec, read and validated once per Lab (graders, faults and solutions ask for it often)."""
        if self._spec is None:
            state = load_state(self.name)
            # A lab that is up keeps the spec it was made from, even if labs/ changed since.
            if state and (state.spec_data is not None or Path(state.spec_path).exists()):
                self._spec = state.spec()
            else:
                self._spec = self._spec_from_labs()[0]
        return self._spec

    def _spec_from_labs(self) -> tuple[LabSpec, dict[str, Any]]:
        """The lab's spec as labs/ has it now, moved into the owner's slot, and the spec file's data (read once:
        what `up` validates is what it keeps in the state)."""
        path = spec_path(self.base)
        data = read_spec_data(path)
        return spec_from_data(path, data, self.owner.slot if self.owner else 0), data

    def state(self) -> LabState:
        state = load_state(self.name)
        if state is None or state.phase != "up":
            raise HalabError(f"lab '{self.name}' is not up; start it with: halab up {self.name}")
        return state

    def is_up(self) -> bool:
        try:
            state = load_state(self.name)
        except HalabError:
            return False
        return state is not None and state.phase == "up"

    @property
    def nodes(self) -> list[NodeInfo]:
        return list(self.state().nodes)

    def provider(self) -> Provider:
        return get_provider(self.state().provider)

    def status(self) -> dict[str, Any]:
        """What `halab status --json` prints for one lab."""
        try:
            state = load_state(self.name)
        except HalabError as exc:
            # Reported, not raised: `halab status` goes on with the other labs. The message says how to clear it.
            return {"lab": self.name, "provider": "unknown", "phase": "damaged", "created": "unknown",
                    "problem": str(exc), "nodes": []}
        if state is None:
            return {"lab": self.name, "phase": "down", "nodes": []}
        provider = get_provider(state.provider)

        def node_status(node: NodeInfo) -> dict[str, Any]:
            running = provider.node_running(state, node.name)
            return {"name": node.name, "address": node.address, "port": node.port, "user": node.user,
                    "running": running, "ssh": running and ssh.port_open(node.address, node.port)}

        with ThreadPoolExecutor(max_workers=8) as pool:
            nodes = list(pool.map(node_status, state.nodes))
        password = peers.cluster_password(self.name)
        return {"lab": self.name, "provider": state.provider, "phase": state.phase,
                "created": state.created, "nodes": nodes, "owner": state.owner,
                **({"cluster_login": {"user": peers.CLUSTER_USER, "password": password}} if password else {})}

    # -- commands on nodes --------------------------------------------------------------------------
    def client(self, node: str, timeout: float = 10.0) -> paramiko.SSHClient:
        """A connection to the node, opened once and reused."""
        with self._locks_lock:
            node_lock = self._node_locks.setdefault(node, threading.Lock())
        with node_lock:
            client = self._clients.get(node)
            transport = client.get_transport() if client else None
            if client is None or transport is None or not transport.is_active():
                state = load_state(self.name)  # any phase: `up` itself talks to nodes before the lab is "up"
                if state is None:
                    raise HalabError(f"lab '{self.name}' is not up; start it with: halab up {self.name}")
                client = ssh.connect(state.node(node), timeout=timeout)
                self._clients[node] = client
            return client

    def run(self, node: str, command: str, timeout: float = 30.0, limit: int = ssh.OUTPUT_LIMIT) -> CommandResult:
        """Run a command on the node; see ssh.run for the timeout and the cap on its output."""
        reused = node in self._clients
        try:
            return ssh.run(self.client(node), command, timeout, limit)
        except ssh.ConnectionLost as exc:
            self.drop_connection(node)
            if not reused or exc.started:
                raise
        except HalabError:
            self.drop_connection(node)
            raise
        # The kept connection was to a node that rebooted or was fenced since (a fault check power-cycles nodes):
        # the command never started, so it runs once more on a new connection.
        return ssh.run(self.client(node), command, timeout, limit)

    def write_file(self, node: str, path: str, content: str | bytes, mode: int = 0o644) -> None:
        """Write a file on the node over SFTP (parent directories must exist)."""
        data = content.encode() if isinstance(content, str) else content
        try:
            with self.client(node).open_sftp() as sftp:
                with sftp.open(path, "wb") as handle:
                    handle.write(data)
                sftp.chmod(path, mode)
        except (OSError, paramiko.SSHException) as exc:
            raise HalabError(f"{node}: cannot write {path}: {exc}") from None

    def read_file(self, node: str, path: str, limit: int = ssh.OUTPUT_LIMIT) -> bytes:
        """A file's content over SFTP; a file larger than ``limit`` bytes (or endless: /dev/zero) is an error."""
        try:
            with self.client(node).open_sftp() as sftp, sftp.open(path, "rb") as handle:
                data = handle.read(limit + 1)
        except (OSError, paramiko.SSHException) as exc:
            raise HalabError(f"{node}: cannot read {path}: {exc}") from None
        if len(data) > limit:
            raise HalabError(f"{node}: {path} is larger than {limit} bytes; halab reads no more than that")
        return data

    def drop_connection(self, node: str) -> None:
        client = self._clients.pop(node, None)
        if client:
            client.close()

    def close(self) -> None:
        for node in list(self._clients):
            self.drop_connection(node)

    # -- lifecycle ----------------------------------------------------------------------------------
    def up(self, provider: str | None = None, progress: Progress = lambda _m: None) -> list[NodeInfo]:
        require_root()
        with lab_lock(self.name):
            spec, data = self._spec_from_labs()
            existing = load_state(self.name)
            wanted = provider or (existing.provider if existing else spec.default_provider)
            if wanted not in spec.providers:
                raise HalabError(f"lab '{self.name}' does not support provider '{wanted}' "
                                 f"(supported: {', '.join(spec.providers)})")
            if existing and existing.provider != wanted and existing.phase == "up":
                raise HalabError(f"lab '{self.name}' is up with provider '{existing.provider}'; "
                                 f"run 'halab down {self.name}' first")
            backend = get_provider(wanted)
            problems = backend.host_problems()
            if problems:
                problem, fix = problems[0]
                raise HalabError(f"{problem}; run: {fix} (see: halab doctor)")
            if existing and existing.phase == "up":
                # Never rebuild a lab that is up: it holds the student's work. Power on what is off instead, and
                # start its power switch again if it is gone (fencing fails without it).
                if not self._healthy(backend, existing) or not fence.running(self.name):
                    self._revive(backend, spec, existing, progress)
                self._current_power_switch(existing, progress)
                return existing.nodes
            self._teardown(existing, progress)  # stale leftovers of a crashed or half-made run
            labnet.check_free(spec, self._other_labs())
            state = LabState(self.name, wanted, str(spec.path), owner=self.owner.as_dict() if self.owner else None,
                             spec_data=data)
            save_state(state)
            self._spec = spec
            try:
                backend.up(spec, state, progress)
                self._wait_ssh(backend, state, progress)
                self._start_power_switch(spec, state, progress)
                progress("root SSH between the nodes" + (" and pcsd" if spec.members else ""))
                peers.setup(self, spec, state.nodes)
                self.close()
                # Only the phase: the power switch runs now, and a power action may have changed the state.
                self._kind_setup(spec, progress)
                state.phase = "up"
                update_state(self.name, lambda saved: setattr(saved, "phase", "up"))
            except KeyboardInterrupt:
                self._teardown(state, progress)
                raise HalabError(f"interrupted; lab '{self.name}' was removed again") from None
            except BaseException:
                self._teardown(state, progress)
                raise
            return state.nodes

    def down(self, progress: Progress = lambda _m: None) -> None:
        require_root()
        self.close()
        self._spec = None  # the next `up` reads labs/ again
        with lab_lock(self.name):
            try:
                state = load_state(self.name)
            except HalabError:
                state = None  # a damaged state file must not stop the cleanup
            if state is not None and state.phase == "up":
                # Said first: a `down` killed half-way leaves a lab the next `up` removes and makes afresh, not
                # one it takes for up and tries to revive without its networks.
                update_state(self.name, lambda saved: setattr(saved, "phase", "removing"))
            self._teardown(state, progress)

    def _teardown(self, state: LabState | None, progress: Progress) -> None:
        """Remove the lab. Without a (readable) state, every provider cleans up what it can find by name."""
        fence.stop(self.name)
        for provider in [state.provider] if state else list(PROVIDERS):
            get_provider(provider).down(state or LabState(self.name, provider, ""), progress)
        labnet.destroy(self.name, (state.provider_data.get("switch") if state else None))
        remove_tree(lab_dir(self.name))

    def _revive(self, backend: Provider, spec: LabSpec, state: LabState, progress: Progress) -> None:
        if not any(backend.node_running(state, node.name) for node in state.nodes):
            progress(f"lab '{self.name}' is up but none of its nodes runs (the host rebooted?): making its "
                     "runtime again around its nodes' disks, which keep their work")
        try:
            for node in state.nodes:
                if not backend.node_running(state, node.name):
                    progress(f"powering {node.name} on again")
                    backend.power_on(state, node.name)
            self._wait_ssh(backend, state, progress)
            if not fence.running(self.name):
                fence.start(self.name, str(spec.management_network.host_address))
        except HalabError as exc:
            raise HalabError(f"lab '{self.name}' is up but cannot be revived ({exc}); to start afresh, losing its "
                             f"work: halab down {self.name} && halab up {self.name}") from None

    def _current_power_switch(self, state: LabState, progress: Progress) -> None:
        """The lab's switch on this halab's code: one started before an update (halab upgraded while the lab was
        up) would import the new code into its old at its next power action, and fail there. Same password."""
        if fence.running(self.name) and fence.runs_older_code(self.name):
            progress("restarting the lab's power switch: it started before halab was updated here")
            fence.stop(self.name)
            fence.start(self.name, str(state.spec().management_network.host_address))

    def _start_power_switch(self, spec: LabSpec, state: LabState, progress: Progress) -> None:
        """The lab's fence device: a power switch on the host, and its address and password on every node."""
        progress("starting the lab's power switch (fencing)")
        host_address = str(spec.management_network.host_address)
        password = fence.new_password(self.name)
        # The switch first: the nodes learn where it is (and the password) only once it is surely ours.
        fence.start(self.name, host_address)
        config = fence.node_config(host_address, password)
        for node in state.nodes:
            self.run(node.name, "mkdir -p /etc/halab")
            self.write_file(node.name, "/etc/halab/fence.conf", config, 0o600)
        self.close()

    def _kind_setup(self, spec: LabSpec, progress: Progress) -> None:
        """What the lab's kind prepares once the nodes answer (halab/spec/kinds.py: Kind.setup)."""
        setup = spec.kind_def.setup_function()
        if setup is not None:
            setup(self, progress)
            self.close()

    def _healthy(self, backend: Provider, state: LabState) -> bool:
        return all(backend.node_running(state, n.name) and ssh.port_open(n.address, n.port)
                   for n in state.nodes)

    def _other_labs(self) -> dict[str, LabSpec]:
        others = {}
        for name in labs_with_state():
            if name == self.name:
                continue
            try:
                other = load_state(name)
                if other and other.spec_path:
                    others[name] = other.spec()
            except HalabError:
                continue
        return others

    def _wait_ssh(self, backend: Provider, state: LabState, progress: Progress) -> None:
        progress("waiting for sshd on " + ", ".join(n.name for n in state.nodes))
        deadline = time.monotonic() + SSH_READY_TIMEOUT
        for node in state.nodes:
            try:
                ssh.wait_ready(node, deadline)
            except HalabError as exc:
                console = backend.console_log(state, node.name)
                raise HalabError(f"{exc}\n--- last lines of {node.name}'s console ---\n{console}") from None
