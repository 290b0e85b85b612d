"""One door to a lab for the CLI, the notebooks and the lab service, whoever is asking.

Root works on the host itself (``LocalAccess``: halab.lab, the graders, the solutions, as always). Anyone
else goes through the lab service (``ServiceAccess``, halab/service/client.py): a root daemon that does the
same on the caller's own instance of the lab (halab/instances.py), and hands the caller what it may use
itself, its lab's inventory and SSH key, so that shells and read-only commands run as the caller.

Both offer the same operations: up, down, status, nodes, run, check, fault, solve.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Collection
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from halab.errors import HalabError
from halab.instances import Owner
from halab.ssh import CommandResult
from halab.state import NodeInfo

if TYPE_CHECKING:
    import paramiko

    from halab.spec import LabSpec

Progress = Callable[[str], None]
FAULT_OPTIONS = ("daemon", "network")


@dataclass(frozen=True)
class Checked:
    """A live check: the report as a dict, the raw facts, and the lab instance's identity (for evidence)."""

    report: dict[str, Any]
    raw: dict[str, Any]
    identity: dict[str, Any]


class LabAccess(Protocol):
    name: str

    def up(self, provider: str | None = None, progress: Progress = ...) -> list[NodeInfo]: ...
    def down(self, progress: Progress = ...) -> None: ...
    def status(self) -> dict[str, Any]: ...
    def is_up(self) -> bool: ...
    def nodes(self) -> list[NodeInfo]: ...
    def run(self, node: str, command: str, timeout: float = 30.0) -> CommandResult: ...
    def client(self, node: str, timeout: float = 10.0) -> paramiko.SSHClient: ...
    def check(self, faults: bool | Collection[str] = True, progress: Progress = ...) -> Checked: ...
    def fault(self, fault: str, node: str, daemon: str = "corosync", network: str | None = None) -> str: ...
    def solve(self, progress: Progress = ...) -> None: ...
    def close(self) -> None: ...


def is_root() -> bool:
    return os.geteuid() == 0


def open_lab(name: str) -> LabAccess:
    """The lab as the caller may use it: root's own lab, or the caller's instance through the lab service."""
    if is_root():
        return LocalAccess(name)
    from halab.service.client import ServiceAccess

    return ServiceAccess(name)


def own_slot() -> int | None:
    """The caller's slot, so that a lab's values are theirs even before it is up: 0 for root; a user's from
    the lab service (which gives one on first use), else from the slot table; None if neither can say."""
    if is_root():
        return 0
    from halab.instances import slot_held
    from halab.service.client import request

    try:
        return int(request("whoami", None, {})["slot"])
    except (HalabError, KeyError, TypeError, ValueError):
        return slot_held(os.geteuid())


def own_spec(name: str) -> tuple[LabSpec, int | None]:
    """The lab's spec with the caller's own values (moved into their slot), and that slot (None: unknown, so
    the spec as written)."""
    from halab.spec import load_spec, load_spec_file

    base = load_spec(name)
    slot = own_slot()
    return (load_spec_file(base.path, slot) if slot else base), slot


def lab_names(up_only: bool = False) -> list[str]:
    """The caller's labs that have state (only those that are up, with ``up_only``), by the names the caller
    uses: root sees every lab on the host, users' instances included."""
    if is_root():
        from halab.lab import running_labs
        from halab.state import labs_with_state

        return running_labs() if up_only else labs_with_state()
    from halab.service.client import request

    return [lab["lab"] for lab in request("labs", None, {})["labs"] if not up_only or lab["phase"] == "up"]


class LocalAccess:
    """A lab on this host, worked on directly (root, or the lab service on behalf of ``owner``)."""

    def __init__(self, name: str, owner: Owner | None = None) -> None:
        from halab.lab import Lab

        self.lab = Lab(name, owner)
        self.name = self.lab.base

    def up(self, provider: str | None = None, progress: Progress = lambda _m: None) -> list[NodeInfo]:
        return self.lab.up(provider=provider, progress=progress)

    def down(self, progress: Progress = lambda _m: None) -> None:
        self.lab.down(progress)

    def status(self) -> dict[str, Any]:
        return {**self.lab.status(), "lab": self.name, "instance": self.lab.name}

    def is_up(self) -> bool:
        return self.lab.is_up()

    def nodes(self) -> list[NodeInfo]:
        return self.lab.nodes

    def run(self, node: str, command: str, timeout: float = 30.0) -> CommandResult:
        return self.lab.run(node, command, timeout=timeout)

    def client(self, node: str, timeout: float = 10.0) -> paramiko.SSHClient:
        return self.lab.client(node, timeout)

    def check(self, faults: bool | Collection[str] = True, progress: Progress = lambda _m: None) -> Checked:
        from graders.evidence import lab_identity
        from graders.live import grade_live

        self.lab.state()  # a clear error if the lab is not up
        try:
            report, raw = grade_live(self.lab, faults=faults, progress=progress)
        finally:
            self.lab.close()
        return Checked(report.to_dict(), raw, lab_identity(self.lab))

    def fault(self, fault: str, node: str, daemon: str = "corosync", network: str | None = None) -> str:
        from halab.faults import inject

        try:
            return inject(self.lab, fault, node, daemon, network)
        finally:
            self.lab.close()

    def solve(self, progress: Progress = lambda _m: None) -> None:
        from solutions import solve

        self.lab.state()
        try:
            solve(self.lab, progress)
        finally:
            self.lab.close()

    def close(self) -> None:
        self.lab.close()


def check_fault_options(options: dict[str, Any]) -> tuple[str, str | None]:
    """A fault request's options, checked: (daemon, network)."""
    unknown = set(options) - set(FAULT_OPTIONS)
    if unknown:
        raise HalabError(f"unknown fault options: {', '.join(sorted(unknown))}")
    daemon, network = options.get("daemon", "corosync"), options.get("network")
    if not isinstance(daemon, str) or (network is not None and not isinstance(network, str)):
        raise HalabError("fault options must be text")
    return daemon, network
