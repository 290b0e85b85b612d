"""Lab names are checked where they are used: a name that is not a lab name never becomes a path, a
namespace or a lock, and a path that resolves outside the state directory is never read, written or removed."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from halab import paths
from halab.errors import HalabError
from halab.lab import Lab
from halab.runtime.state import lab_dir, lab_lock, labs_with_state, load_state
from halab.spec import parse_spec

BAD_NAMES = ["../../etc", "/etc", ".", "..", "", "Clustering", "a" * 25, "lab/../x", "node1\n", "libvirt"]


@pytest.fixture(autouse=True)
def state_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "state"
    root.mkdir()
    monkeypatch.setattr(paths, "state_dir", lambda: root)
    return root


@pytest.mark.parametrize("name", BAD_NAMES)
def test_bad_names_are_refused_everywhere(name: str) -> None:
    for use in (Lab, lab_dir, load_state):
        with pytest.raises(HalabError, match="lab name|cannot name a lab"):
            use(name)
    with pytest.raises(HalabError, match="lab name|cannot name a lab"), lab_lock(name):
        pass


def test_a_symlink_out_of_the_state_dir_is_never_followed(state_dir: Path, tmp_path: Path) -> None:
    precious = tmp_path / "precious"
    precious.mkdir()
    (precious / "state.json").write_text("{}")
    (state_dir / "clustering").symlink_to(precious)
    with pytest.raises(HalabError, match="outside halab's state directory"):
        lab_dir("clustering")
    with pytest.raises(HalabError, match="outside halab's state directory"):
        Lab("clustering").down()
    assert (precious / "state.json").read_text() == "{}"


def test_state_dirs_that_are_not_lab_names_are_ignored(state_dir: Path) -> None:
    (state_dir / "Not A Lab").mkdir()
    (state_dir / "Not A Lab" / "state.json").write_text("{}")
    assert labs_with_state() == []


def test_a_spec_cannot_take_a_reserved_name() -> None:
    with pytest.raises(HalabError, match="libvirt.*halab uses it"):
        parse_spec(Path("labs/libvirt.toml"), {"name": "libvirt", "title": "x"})


@pytest.mark.parametrize("command", [["down", "../../etc"], ["check", "/etc"], ["status", "."], ["up", "libvirt"],
                                     ["fault", "../x", "power-off", "node1"], ["solve", ".."]])
def test_commands_refuse_them_in_one_line(command: list[str], state_dir: Path) -> None:
    result = subprocess.run([sys.executable, "-m", "halab", *command], capture_output=True, text=True,
                            env={"HALAB_STATE_DIR": str(state_dir), "PATH": "/usr/bin:/bin", "COLUMNS": "200"},
                            check=False)
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and ("lab name" in lines[0] or "cannot name a lab" in lines[0]), result.stderr
