"""The interface both doors to a lab offer (local.py for root, service.py for everyone else): up, down,
status, nodes, run, client, check, fault, solve, close; and what their requests share."""

from __future__ import annotations

import os
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any, Protocol

import paramiko

from halab.errors import HalabError
from halab.runtime.ssh import CommandResult
from halab.runtime.state import NodeInfo
from halab.types import Progress

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


def check_fault_options(options: dict[str, Any]) -> tuple[str, str | None]:
    """A fault request's options, checked: (daemon, network)."""
    unknown = set(options) - set(FAULT_OPTIONS)
    if unknown:
        raise HalabError(f"unknown fault options: {', '.join(sorted(unknown))}")
    daemon, network = options.get("daemon", "corosync"), options.get("network")
    if not isinstance(daemon, str) or (network is not None and not isinstance(network, str)):
        raise HalabError("fault options must be text")
    return daemon, network
