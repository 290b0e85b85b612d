"""The course's only door to the lab runtime (halab.lab), with time limits and no exceptions escaping.

Notebooks must run top to bottom with no lab up, on machines where the runtime is missing or broken, and
within a few seconds. So every call here is imported lazily, bounded by a timeout in a helper thread, and
turned into (value, problem) where problem is a sentence for the student or None.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:  # for the type only: the runtime itself is imported when called (see above)
    from halab.access import Checked

T = TypeVar("T")

LIST_TIMEOUT_S = 5.0
# The course only runs quick read-only commands (crm_mon, cat /proc/drbd); 5 s means "not answering".
COMMAND_TIMEOUT_S = 5.0
# After a lab failed to answer, later cells report the same problem at once for this long, instead of
# each waiting out its own timeout: a notebook with a hung lab still runs in seconds.
FAILURE_MEMORY_S = 20.0
_recent_failures: dict[str, tuple[float, str]] = {}


def call_with_timeout(func: Callable[[], T], timeout: float) -> tuple[T | None, str | None]:
    """Run func in a daemon thread; a hung SSH connection must not freeze the notebook."""
    box: dict[str, Any] = {}

    def target() -> None:
        try:
            box["value"] = func()
        except Exception as exc:  # noqa: BLE001 - reported to the student as a sentence
            box["error"] = exc

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(timeout)
    if thread.is_alive():
        return None, f"no answer within {timeout:g} s"
    if "error" in box:
        return None, _describe(box["error"])
    return box.get("value"), None


def _describe(exc: BaseException) -> str:
    if isinstance(exc, ImportError):
        return "the halab lab runtime is not installed in this Python environment"
    return str(exc) or type(exc).__name__


def up_labs() -> tuple[list[str], str | None]:
    """Names of the labs that are up, and a problem sentence if the runtime could not be asked."""

    def ask() -> list[str]:
        from halab.access import lab_names

        return lab_names(up_only=True)

    names, problem = call_with_timeout(ask, LIST_TIMEOUT_S)
    return names or [], problem


def own_spec(lab: str) -> tuple[Any, int | None, str | None]:
    """The lab's spec with the caller's own values (their slot's: halab/spec/instances.py), that slot, and a
    problem sentence; without an answer in time, the spec as written and the problem."""

    def ask() -> tuple[Any, int | None]:
        from halab.access import own_spec as spec_of_caller

        return spec_of_caller(lab)

    value, problem = call_with_timeout(ask, LIST_TIMEOUT_S)
    if value is not None:
        return value[0], value[1], None
    from halab.spec import load_spec

    return load_spec(lab), None, problem


def run_on_lab(lab: str, command: str, timeout: float = COMMAND_TIMEOUT_S) -> tuple[str | None, str | None]:
    """Run command on the first node of lab that answers; return (stdout, problem)."""

    def ask() -> tuple[str | None, str | None]:
        from halab.access import open_lab

        handle = open_lab(lab)
        if not handle.is_up():
            return None, f"the lab '{lab}' is not up"
        problems = []
        try:
            for node in handle.nodes():
                try:
                    result = handle.run(node.name, command, timeout=timeout)
                except Exception as exc:  # noqa: BLE001 - an unreachable node: try the next one
                    problems.append(f"{node.name}: {_describe(exc)}")
                    continue
                # crm_mon exits non-zero when the cluster is down but still prints XML that says so.
                return result.stdout or result.stderr, None
        finally:
            # Each call makes its own Lab, so its SSH connections must not outlive the call.
            close = getattr(handle, "close", None)
            if close:
                close()
        return None, "; ".join(problems) or f"the lab '{lab}' has no nodes"

    remembered = _recent_failures.get(lab)
    if remembered and time.monotonic() - remembered[0] < FAILURE_MEMORY_S:
        return None, f"{remembered[1]} ({time.monotonic() - remembered[0]:.0f} s ago)"
    value, problem = call_with_timeout(ask, timeout + 5)
    if value is not None and value[1]:
        problem = value[1]
    if problem:
        _recent_failures[lab] = (time.monotonic(), problem)
        return None, problem
    _recent_failures.pop(lab, None)
    assert value is not None
    return value


def cluster_login(lab: str) -> tuple[dict[str, str] | None, str | None]:
    """The lab's login for pcsd (``{"user", "password"}``, set at every `halab up`) when it is up, else None; and
    a problem sentence if the runtime could not be asked."""
    labs, problem = up_labs()
    if lab not in labs:
        return None, problem

    def ask() -> dict[str, str] | None:
        from halab.access import open_lab

        handle = open_lab(lab)
        try:
            login = handle.status().get("cluster_login")
        finally:
            close = getattr(handle, "close", None)
            if close:
                close()
        return login if isinstance(login, dict) else None

    return call_with_timeout(ask, LIST_TIMEOUT_S)


def node_names(lab: str) -> tuple[list[str], str | None]:
    def ask() -> list[str]:
        from halab.access import open_lab

        return [node.name for node in open_lab(lab).nodes()]

    names, problem = call_with_timeout(ask, LIST_TIMEOUT_S)
    return names or [], problem


def check_lab(lab: str, progress: Callable[[str], None] = lambda _line: None) -> Checked:
    """The full check of the live lab, fault checks included, through the caller's door: root's own lab, or a
    user's own instance of it through the lab service (never root's lab of that name, which is not theirs).
    Not bounded here: the caller gives it the minutes a fault check takes (ReportView)."""
    from halab.access import open_lab

    handle = open_lab(lab)
    try:
        return handle.check(faults=True, progress=progress)
    finally:
        handle.close()
