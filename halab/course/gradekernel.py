"""nbgrader's side of grading in a sandbox: its Execute preprocessor with a kernel manager that starts the
kernel through root's grading broker (halab/course/gradebox.py) instead of as the user running nbgrader.

`halab grade` puts SandboxedExecute in place of nbgrader's Execute for autograde (on nbgrader's command line,
so that it holds whatever the course's nbgrader_config.py says), and the course's config does the same for
the formgrader. The kernel manager is Jupyter's own with two changes: its ZeroMQ sockets are Unix sockets
(``ipc``) in a folder of the broker's, since the kernel has no network, and the process it starts is the
relay (halab/course/graderelay.py), which stands for the kernel in the sandbox.

Without a broker: a process of root's starts one of its own for the course (the formgrader or nbgrader run
by root on a root course); anyone else is told to grade with `halab grade` as root. Students' code never runs
as the user who grades, nor as root.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import sys
import uuid
from pathlib import Path
from typing import Any

from jupyter_client.manager import AsyncKernelManager
from nbformat.notebooknode import NotebookNode
from nbgrader.preprocessors import Execute
from traitlets import Integer

from halab.course.gradebox import BROKER_ENV, NO_BROKER, GradingBroker

_own: contextlib.ExitStack | None = None  # this process's broker, when root started one here


def broker_socket(course: Path) -> str:
    """The broker's socket: from `halab grade`, or (root only) one started here for the course."""
    global _own
    if os.environ.get(BROKER_ENV):
        return os.environ[BROKER_ENV]
    if os.geteuid() != 0:
        raise RuntimeError(NO_BROKER)
    _own = contextlib.ExitStack()
    broker = _own.enter_context(GradingBroker(course, peer_uid=0))
    atexit.register(_own.close)
    os.environ[BROKER_ENV] = str(broker.socket_path)
    return os.environ[BROKER_ENV]


class SandboxKernelManager(AsyncKernelManager):
    """A kernel manager whose kernel runs in the grading sandbox (see the module docstring)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.transport = "ipc"
        self.ip = f"{Path(os.environ[BROKER_ENV]).parent}/{uuid.uuid4().hex}/kernel"

    def format_kernel_cmd(self, extra_arguments: list[str] | None = None) -> list[str]:
        return [sys.executable, "-I", "-m", "halab.course.graderelay", self.connection_file]


class SandboxedExecute(Execute):
    """nbgrader's Execute, its kernels in the grading sandbox.

    nbgrader fails the whole notebook when a cell's output lags its reply by more than ``iopub_timeout``
    (nbclient's 4 s). On a loaded 2-core host a cell with a large output (a quiz's widget) in a kernel that is
    prlimit'ed and behind a relay lagged that long (found by tests/course/test_grading_flow.py); 30 s was not
    enough either while other notebooks executed on the same 2 cores (a full test run beside another: the quiz cell's
    output came later, and nbgrader dropped that student's whole assignment). 120 s: it only waits for output that
    is late, never for a cell that is done, and a class graded on a busy shared server must not lose a submission.
    """

    iopub_timeout = Integer(120, allow_none=False).tag(config=True)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs["kernel_manager_class"] = SandboxKernelManager
        super().__init__(*args, **kwargs)

    def preprocess(self, nb: NotebookNode, resources: Any, km: Any = None) -> tuple[NotebookNode, Any]:
        folder = Path(resources.get("metadata", {}).get("path") or ".").resolve()
        broker_socket(folder.parents[2])  # <course>/autograded/<student>/<assignment>
        return super().preprocess(nb, resources, km)
