"""The students' workspaces, made from one generated release: copied by each student's own account.

A workspace lies in the student's home, which the student controls: root writing there could be led by a link
the student planted (~/halab-course -> /etc) to write or chown anything. So root only makes a copy of the
release that everyone may read, and each student's account copies from it what their workspace lacks; their
work is never touched.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from halab.classroom.model import Student
from halab.course.workspace import venv_env
from halab.errors import HalabError
from halab.host.runas import run_as

COPY = """
import os, shutil, sys
from pathlib import Path
release, workspace, config_text, block = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3], sys.argv[4]
made = not os.path.lexists(workspace)
workspace.mkdir(mode=0o700, exist_ok=True)
os.chmod(workspace, 0o700)
config = workspace / "nbgrader_config.py"
text = config.read_text() if config.exists() else config_text
if block not in text:
    config.write_text(text + block)
for assignment in sorted(os.listdir(release)):
    if not os.path.lexists(workspace / assignment):
        shutil.copytree(release / assignment, workspace / assignment)
print("made" if made else "kept")
"""


@contextmanager
def readable_release(release: Path) -> Iterator[Path]:
    """A copy of the generated release that every account may read (gone afterwards)."""
    with tempfile.TemporaryDirectory(prefix="halab-class-release-") as scratch:
        copy = Path(scratch) / "release"
        shutil.copytree(release, copy)
        Path(scratch).chmod(0o755)
        for path in [copy, *copy.rglob("*")]:
            path.chmod(0o755 if path.is_dir() else 0o644)
        yield copy


def make_workspace(student: Student, release: Path, config_text: str, block: str) -> bool:
    """The student's copy of every assignment they lack, 0700, made as the student; True if the workspace folder
    itself was made here."""
    done = run_as(student.user, [sys.executable, "-c", COPY, str(release), str(student.workspace), config_text,
                                 block], env=venv_env(), timeout=300)
    if done.returncode != 0:
        detail = (done.stderr.strip().splitlines() or ["no output"])[-1]
        raise HalabError(f"the workspace {student.workspace} of {student.user} could not be made: {detail}")
    return done.stdout.strip() == "made"


def remove_workspace(student: Student) -> None:
    """Undo a workspace made here, as the student."""
    run_as(student.user, ["rm", "-rf", "--", str(student.workspace)], timeout=120)
