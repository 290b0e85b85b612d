"""What a lab that is up looks like on disk, so any shell (or a crashed run's successor) can find it.

``<state>/<lab>/state.json`` is written atomically after every step of `up`; a lock file serialises `up`,
`down` and faults on one lab.
"""

from __future__ import annotations

import fcntl
import json
import os
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from halab import paths
from halab.errors import HalabError
from halab.names import check_lab_name, is_lab_name


@dataclass(frozen=True)
class NodeInfo:
    """The inventory entry for one node: everything needed to reach it over SSH, and nothing else."""

    name: str
    address: str
    port: int
    user: str
    key_file: str
    host_key: str  # "ssh-ed25519 AAAA...": pinned, never learned on first use


@dataclass
class LabState:
    lab: str
    provider: str
    spec_path: str
    phase: str = "creating"  # creating -> up
    created: str = field(default_factory=lambda: time.strftime("%Y-%m-%d %H:%M:%S"))
    # Tells one `up` of a lab from the next (evidence files name the lab instance they came from).
    instance: str = field(default_factory=lambda: uuid.uuid4().hex)
    nodes: list[NodeInfo] = field(default_factory=list)
    # Provider-specific facts (PIDs, namespaces, image hash...) that `down` needs to undo `up`.
    provider_data: dict[str, Any] = field(default_factory=dict)

    def node(self, name: str) -> NodeInfo:
        for node in self.nodes:
            if node.name == name:
                return node
        names = ", ".join(n.name for n in self.nodes)
        raise HalabError(f"lab '{self.lab}' has no node '{name}' (nodes: {names})")


def lab_dir(lab: str) -> Path:
    """The lab's state directory; refuses anything but a lab name, and a path that resolves outside the
    state directory (a symlink planted there), since `down` removes this directory."""
    root = paths.state_dir()
    path = root / check_lab_name(lab)
    if path.resolve().parent != root.resolve():
        raise HalabError(f"{path} resolves to {path.resolve()}, outside halab's state directory {root}; remove it "
                         "by hand if it is not yours")
    return path


def shared_dir(lab: str, name: str) -> Path:
    """The host directory behind a lab's shared storage (spec ``[[shared_storage]]``), inside its state
    directory, so `halab down` removes it with the rest."""
    return lab_dir(lab) / "shared" / name


def _state_file(lab: str) -> Path:
    return lab_dir(lab) / "state.json"


def load_state(lab: str) -> LabState | None:
    path = _state_file(lab)
    if not path.exists():
        return None
    try:
        data = json.loads(path.read_text())
        data["nodes"] = [NodeInfo(**node) for node in data.get("nodes", [])]
        return LabState(**data)
    except (OSError, ValueError, TypeError) as exc:
        raise HalabError(f"{path} is damaged ({exc}); run: halab down {lab}") from None


def save_state(state: LabState) -> None:
    path = _state_file(state.lab)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(f".{os.getpid()}.{threading.get_ident()}.tmp")  # writers never share one
    temporary.write_text(json.dumps(asdict(state), indent=2))
    os.replace(temporary, path)


def labs_with_state() -> list[str]:
    root = paths.state_dir()
    if not root.is_dir():
        return []
    return sorted(p.parent.name for p in root.glob("*/state.json") if is_lab_name(p.parent.name))


@contextmanager
def power_lock(lab: str, node: str) -> Iterator[None]:
    """One power action on a node at a time, across processes: the fence daemon (Pacemaker fencing),
    `halab fault` and fault checks may all reach for the same node's power switch at once."""
    path = lab_dir(lab) / f".power-{node}.lock"
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


@contextmanager
def lab_lock(lab: str) -> Iterator[None]:
    """Hold the lab's lock; a second `up`/`down` of the same lab waits instead of racing."""
    paths.state_dir().mkdir(parents=True, exist_ok=True)
    with open(paths.state_dir() / f".{check_lab_name(lab)}.lock", "w") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise HalabError(f"another halab command is working on lab '{lab}'; wait for it") from None
        yield
