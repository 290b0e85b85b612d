"""Upgrade safety: processes a lab runs on, started by a halab from before this layout, are still known as
the lab's own by their old module names (halab/providers/nspawn/provider.py LAUNCHERS), and the old names
still start them. Real processes: the launcher is started by its old name and left in its POST delay."""

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


def test_the_old_provider_names_still_give_the_providers() -> None:
    """What an older halab's code, still running, imports from the provider modules' old names."""
    from halab.providers.libvirt import LibvirtProvider
    from halab.providers.nspawn import NspawnProvider, plumbing_now
    from halab.providers.vagrant import VagrantProvider

    assert NspawnProvider.name == "nspawn" and LibvirtProvider.name == "libvirt"
    assert VagrantProvider.name == "vagrant" and callable(plumbing_now)


def test_the_providers_table_names_what_a_spec_may_name() -> None:
    """A provider is added in two places: its line in PROVIDERS and its name among the spec's PROVIDERS."""
    from halab.providers.base import PROVIDERS as TABLE
    from halab.providers.base import Provider, get_provider
    from halab.spec import PROVIDERS

    assert list(TABLE) == list(PROVIDERS)
    for name in TABLE:
        provider = get_provider(name)
        assert isinstance(provider, Provider) and provider.name == name
