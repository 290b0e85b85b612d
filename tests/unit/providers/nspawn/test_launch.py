"""The container launcher (halab/providers/nspawn/launch.py) and upgrade safety: a launcher started by a halab
from before this layout is still known as the node's by its old module name (provider.py LAUNCHERS), and the
old name still starts it. Real processes: the launcher is started by each name and left in its POST delay."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from halab.providers.nspawn.provider import LAUNCHER, _is_our_nspawn


def _wait_for_cmdline(pid: int, word: str) -> None:
    deadline = time.monotonic() + 10
    while word not in Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace"):
        assert time.monotonic() < deadline, "the launcher did not start"
        time.sleep(0.02)


@pytest.fixture(params=["halab.providers.nspawn_launch", LAUNCHER])
def launcher(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[subprocess.Popen[bytes], Path]]:
    """A launcher started by that module name, in POST (it sleeps before starting systemd-nspawn)."""
    root = tmp_path / "root"
    command = [sys.executable, "-m", request.param, "--", "/usr/bin/systemd-nspawn", f"--directory={root}", "-b"]
    env = {**os.environ, "HALAB_CGROUPS": "", "HALAB_POST": "60", "HALAB_LAB": "clustering", "HALAB_NODE": "node1"}
    proc = subprocess.Popen(command, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)
    try:
        _wait_for_cmdline(proc.pid, request.param)
        yield proc, root
    finally:
        proc.kill()
        proc.wait()


def test_a_launcher_in_post_is_the_nodes_by_its_old_name_and_its_new(
        launcher: tuple[subprocess.Popen[bytes], Path], tmp_path: Path) -> None:
    proc, root = launcher
    time.sleep(0.5)  # it imported the launcher and is in its POST delay: the module name worked
    assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
    assert _is_our_nspawn(proc.pid, root)
    assert not _is_our_nspawn(proc.pid, tmp_path / "another-node")


def test_a_process_that_only_names_the_node_is_not_taken_for_its_launcher(tmp_path: Path) -> None:
    root = tmp_path / "root"
    command = [sys.executable, "-c", "import time; time.sleep(60)", "halab.providers.nspawn_launch", "--",
               "systemd-nspawn", f"--directory={root}"]
    proc = subprocess.Popen(command)
    try:
        _wait_for_cmdline(proc.pid, "nspawn_launch")
        assert not _is_our_nspawn(proc.pid, root)
    finally:
        proc.kill()
        proc.wait()
