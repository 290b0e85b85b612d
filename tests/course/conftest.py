"""Fixtures and markers for the course tests."""

from __future__ import annotations

import contextlib
import os
import queue
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.course.helpers import COURSE_DIR

START_TIMEOUT_S = 120


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "browser: drives JupyterLab in headless Chromium (needs /usr/bin/chromium)")


@pytest.fixture
def no_lab(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make the course believe that no lab is up, whatever runs on this machine."""
    from halab.course import labaccess

    monkeypatch.setattr(labaccess, "up_labs", lambda: ([], None))


@pytest.fixture(scope="session")
def workspace_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A student's workspace as `halab course` makes it on its first start (made once: it takes a while)."""
    from halab.course import workspace

    folder = tmp_path_factory.mktemp("workspace-template")
    workspace.prepare(COURSE_DIR, folder)
    return folder


def read_url(proc: subprocess.Popen[str], timeout: float) -> str:
    """The URL line `halab course` prints once JupyterLab answers."""
    lines: queue.Queue[str] = queue.Queue()

    def pump() -> None:
        # A thread, because select() on a buffered pipe misses lines already read into the buffer.
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.put(line)

    threading.Thread(target=pump, daemon=True).start()
    deadline = time.monotonic() + timeout
    seen = []
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            line = lines.get(timeout=0.5)
        except queue.Empty:
            continue
        seen.append(line)
        if line.startswith("URL: "):
            return line[len("URL: ") :].strip()
    pytest.fail(f"`halab course` printed no URL within {timeout} s; output:\n{''.join(seen)[-3000:]}")


@pytest.fixture
def course_server(tmp_path: Path, workspace_template: Path) -> Iterator[Callable[..., str]]:
    """Start `halab course` with the given options; returns the URL it prints. Students get a copy of the
    prepared workspace, instructors (--instructor) a copy of the course: JupyterLab autosaves executed
    notebooks and the formgrader writes its gradebook, neither of which may touch the repository."""
    started: list[subprocess.Popen[str]] = []
    env = dict(
        os.environ,
        HALAB_STATE_DIR=str(tmp_path / "state"),  # no lab: the lab cells answer at once
        HALAB_EXCHANGE_DIR=str(tmp_path / "exchange"),
        JUPYTER_CONFIG_DIR=str(tmp_path / "jupyter-config"),
        JUPYTERLAB_SETTINGS_DIR=str(tmp_path / "lab-settings"),
        JUPYTERLAB_WORKSPACES_DIR=str(tmp_path / "lab-workspaces"),
    )

    def start(*options: str, port: int = 18888) -> str:
        course = tmp_path / "course"
        if not course.exists():
            shutil.copytree(COURSE_DIR, course, ignore=shutil.ignore_patterns("release", "gradebook.db"))
        args = ["--course-dir", str(course)]
        if "--instructor" not in options:
            shutil.copytree(workspace_template, tmp_path / "workspace", dirs_exist_ok=True)
            args += ["--workspace", str(tmp_path / "workspace")]
        command = "from halab.command.course import course; course()"
        proc = subprocess.Popen(
            [sys.executable, "-c", command, "--port", str(port), "--no-browser", *args, *options],
            stdout=subprocess.PIPE, stderr=(tmp_path / f"jupyter-{len(started)}.log").open("w"), text=True, env=env,
            start_new_session=True,  # our own process group, so cleanup can reach JupyterLab and its kernels
        )  # fmt: skip
        started.append(proc)
        return read_url(proc, START_TIMEOUT_S)

    try:
        yield start
    finally:
        for proc in started:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)  # `halab course` stops JupyterLab on SIGTERM
                with contextlib.suppress(subprocess.TimeoutExpired):
                    proc.wait(20)
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)  # whatever is left of this test's process group
            proc.wait()
