"""Steps several solutions share: run a command on every node, and wait for a cluster condition."""

from __future__ import annotations

import time
from collections.abc import Callable

from halab.errors import HalabError
from halab.lab import Lab
from halab.runtime.ssh import CommandResult


def must(lab: Lab, node: str, command: str, timeout: float = 60) -> CommandResult:
    result = lab.run(node, command, timeout=timeout)
    if not result.ok:
        output = (result.stderr or result.stdout)[-400:]
        raise HalabError(f"{node}: '{command}' failed ({result.exit_status}): {output}")
    return result


def on_all(lab: Lab, command: str, timeout: float = 60) -> None:
    for node in lab.spec.member_names:
        must(lab, node, command, timeout)


def wait_until(what: str, condition: Callable[[], bool], timeout: float, interval: float = 1.0,
               explain: Callable[[], str] | None = None) -> None:
    """Poll `condition`; on timeout the error carries `explain()`, the state that kept it false."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(interval)
    detail = ""
    if explain is not None:
        try:
            detail = f"; last seen: {explain()}"
        except HalabError as error:
            detail = f"; could not tell why: {error}"
    raise HalabError(f"timed out after {timeout:g} s waiting for {what}{detail}")
