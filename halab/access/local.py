"""Root's door to a lab: the lab on this host, worked on directly (halab.lab, the graders, the solutions);
the lab service uses it too, on behalf of the user who asked (``owner``)."""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

import paramiko

from graders.evidence import lab_identity
from graders.live import grade_live
from halab.access.base import Checked
from halab.lab import Lab
from halab.runtime.faults import inject
from halab.runtime.ssh import CommandResult
from halab.runtime.state import NodeInfo
from halab.spec.instances import Owner
from halab.types import Progress
from solutions import solve


class LocalAccess:
    """A lab on this host, worked on directly (root, or the lab service on behalf of ``owner``)."""

    def __init__(self, name: str, owner: Owner | None = None) -> None:
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
        self.lab.state()  # a clear error if the lab is not up
        try:
            report, raw = grade_live(self.lab, faults=faults, progress=progress)
        finally:
            self.lab.close()
        return Checked(report.to_dict(), raw, lab_identity(self.lab))

    def fault(self, fault: str, node: str, daemon: str = "corosync", network: str | None = None) -> str:
        try:
            return inject(self.lab, fault, node, daemon, network)
        finally:
            self.lab.close()

    def solve(self, progress: Progress = lambda _m: None) -> None:
        self.lab.state()
        try:
            solve(self.lab, progress)
        finally:
            self.lab.close()

    def close(self) -> None:
        self.lab.close()
