"""What a lab that is up looks like on disk, so any shell (or a crashed run's successor) can find it.

``<state>/<lab>/state.json`` is written atomically after every step of `up`. Two locks per lab (locks.py):
``.<lab>.lock`` serialises `up` and `down` (a second one fails at once: it names the first), and
``.<lab>.state.lock`` is held for the moment of every read-modify-write of state.json (`update_state`), so
the power switch, `fault`, `check` and `up` never overwrite each other's records.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import json
import os
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from halab import paths
from halab.errors import HalabError
from halab.host import locks
from halab.host.fs import private_dir
from halab.names import check_lab_name, is_lab_name
from halab.spec import LabSpec, load_spec_file, spec_from_data

T = TypeVar("T")
STATE_LOCK_WAIT = 30.0  # seconds; every holder keeps it for milliseconds (read, change, write)


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
    phase: str = "creating"  # creating -> up -> removing (`down` has begun)
    created: str = field(default_factory=lambda: time.strftime("%Y-%m-%d %H:%M:%S"))
    # Tells one `up` of a lab from the next (evidence files name the lab instance they came from).
    instance: str = field(default_factory=lambda: uuid.uuid4().hex)
    nodes: list[NodeInfo] = field(default_factory=list)
    # Provider-specific facts (PIDs, namespaces, image hash...) that `down` needs to undo `up`.
    provider_data: dict[str, Any] = field(default_factory=dict)
    # Whose lab this is when a user made it through the lab service: {"uid", "user", "slot"}; None: root's.
    owner: dict[str, Any] | None = None
    # The spec file's data as it was at `up`: the lab's nodes are plugged in from it at every boot, and the
    # checkout spec_path names may since have changed, moved or gone (a deleted clone, an upgrade).
    spec_data: dict[str, Any] | None = None
    # What halab itself did to the lab that a grader must know: {"event": "solved_by_halab", "at": time} for
    # every `halab solve` (graders/evidence.py carries them into the evidence). Older state files have none.
    events: list[dict[str, Any]] = field(default_factory=list)

    @property
    def slot(self) -> int:
        """The owner's slot (halab/spec/instances.py); 0 for root's labs."""
        return int((self.owner or {}).get("slot", 0))

    def spec(self) -> LabSpec:
        """The spec the lab was made from (moved into its owner's slot), even if labs/ changed since."""
        if self.spec_data is None:  # a lab made before halab kept the spec's data
            return load_spec_file(Path(self.spec_path), self.slot)
        return spec_from_data(Path(self.spec_path), self.spec_data, self.slot)

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
    """Write the whole state; for a change to a lab others may be changing too, use update_state."""
    with state_lock(state.lab):
        _write_state(state)


def update_state(lab: str, change: Callable[[LabState], T]) -> T:
    """Read the lab's state, apply ``change`` to it and write it back, with no other writer in between;
    returns what ``change`` returns."""
    with state_lock(lab):
        state = load_state(lab)
        if state is None:
            raise HalabError(f"lab '{lab}' is not up; start it with: halab up {lab}")
        result = change(state)
        _write_state(state)
    return result


def record_event(lab: str, event: str) -> None:
    """Add an event with the time to the lab's state (see LabState.events)."""
    stamp = time.strftime("%Y-%m-%dT%H:%M:%S%z")
    update_state(lab, lambda state: state.events.append({"event": event, "at": stamp}))


def _write_state(state: LabState) -> None:
    path = _state_file(state.lab)
    temporary = path.with_suffix(f".{os.getpid()}.{threading.get_ident()}.tmp")  # writers never share one
    try:
        private_dir(path.parent)  # the lab's folder: its nodes' disks, keys, logs (host/fs.py)
        with open(temporary, "w") as handle:
            handle.write(json.dumps(asdict(state), indent=2))
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except OSError as exc:
        with contextlib.suppress(OSError):
            temporary.unlink()
        full = " (the disk is full: free some space, then run the command again)" if exc.errno == errno.ENOSPC else ""
        raise HalabError(f"cannot save the state of lab '{state.lab}' in {path}: {exc.strerror}{full}") from None


def labs_with_state() -> list[str]:
    root = paths.state_dir()
    if not root.is_dir():
        return []
    return sorted(p.parent.name for p in root.glob("*/state.json") if is_lab_name(p.parent.name))


def lab_states() -> tuple[dict[str, LabState], dict[str, str]]:
    """Every lab with a state file: (readable states by lab, problem by damaged lab). One damaged lab must
    not stop commands on the others."""
    readable, damaged = {}, {}
    for lab in labs_with_state():
        try:
            state = load_state(lab)
        except HalabError as exc:
            damaged[lab] = str(exc)
            continue
        if state is not None:
            readable[lab] = state
    return readable, damaged


@contextmanager
def power_lock(lab: str, node: str) -> Iterator[None]:
    """One power action on a node at a time, across processes: the fence daemon (Pacemaker fencing),
    `halab fault` and fault checks may all reach for the same node's power switch at once."""
    path = lab_dir(lab) / f".power-{node}.lock"
    private_dir(path.parent)
    with open(path, "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


@contextmanager
def lab_lock(lab: str) -> Iterator[None]:
    """Hold the lab's lock for `up` or `down`; a second one on the same lab fails at once, naming the first."""

    def busy(holder: locks.Holder | None) -> HalabError:
        who = f" ({holder})" if holder else ""
        return HalabError(f"another halab command{who} is working on lab '{lab}'; wait for it")

    with locks.hold(paths.state_dir() / f".{check_lab_name(lab)}.lock", busy):
        yield


@contextmanager
def state_lock(lab: str) -> Iterator[None]:
    """Hold the lock on the lab's state file for one read-modify-write; waits for the current holder."""

    def busy(holder: locks.Holder | None) -> HalabError:
        who = f" by {holder}" if holder else ""
        return HalabError(f"the state of lab '{lab}' stayed locked{who} for {STATE_LOCK_WAIT:g} s")

    with locks.hold(paths.state_dir() / f".{check_lab_name(lab)}.state.lock", busy, wait=STATE_LOCK_WAIT):
        yield
