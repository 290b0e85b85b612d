"""The student's workspace: their own copy of each assignment, made by nbgrader from the course's source.

course/source/ holds the instructor's notebooks, with solutions and hidden tests. Students get what
`nbgrader generate_assignment` releases: solutions and hidden tests stripped, graded cells locked. The
workspace has one folder per assignment, as `nbgrader fetch_assignment` lays it out, so `nbgrader submit`
(or the Assignments tab of JupyterLab) works from it, and an nbgrader_config.py naming the course and its
exchange. An assignment already in the workspace is never touched again: it holds the student's work.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

from halab.errors import HalabError

COURSE_ID = "halab"
GENERATE_TIMEOUT_S = 600.0
# Run in the scratch copy of the course with its own nbgrader_config.py, as the nbgrader command line would.
GENERATE = """
import sys
from nbgrader.apps import NbGraderAPI
from traitlets.config.loader import PyFileConfigLoader
api = NbGraderAPI(config=PyFileConfigLoader("nbgrader_config.py", path=".").load_config())
for name in sys.argv[1:]:
    result = api.generate_assignment(name, force=True)
    if not result["success"]:
        sys.exit(f"nbgrader could not generate {name}: {result.get('error') or result.get('log')}")
"""
STUDENT_CONFIG = '''"""nbgrader settings for a student of the halab course (made by `halab course`; yours to edit)."""

import os
from pathlib import Path

c = get_config()  # noqa: F821 - injected by traitlets when nbgrader loads this file

c.CourseDirectory.course_id = "{course_id}"
# Where the instructor releases assignments and collects submissions: the same folder as in the course's
# own nbgrader_config.py (a shared folder on a multi-user host). Override with HALAB_EXCHANGE_DIR.
c.Exchange.root = os.environ.get("HALAB_EXCHANGE_DIR", str(Path.home() / ".local/share/halab/exchange"))
'''
# What a scratch copy of the course leaves out: nbgrader's output folders and database.
NOT_COPIED = ("release", "submitted", "autograded", "feedback", "gradebook.db", ".ipynb_checkpoints")


def exchange_dir() -> Path:
    """The nbgrader exchange as course/nbgrader_config.py and STUDENT_CONFIG name it."""
    return Path(os.environ.get("HALAB_EXCHANGE_DIR", Path.home() / ".local/share/halab/exchange"))


def ensure_exchange() -> None:
    """Make the exchange if it is missing: nbgrader's assignment list only reports an error without one.
    On a shared host it is the instructor's folder and exists already; not being able to make it is fine."""
    with contextlib.suppress(OSError):
        exchange_dir().mkdir(parents=True, exist_ok=True)


def default_workspace() -> Path:
    return Path(os.environ.get("HALAB_WORKSPACE", Path.home() / "halab-course"))


def assignments(course_dir: Path) -> list[str]:
    return sorted(p.parent.name for p in (course_dir / "source").glob("*/*.ipynb") if p.stem == p.parent.name)


def missing_assignments(course_dir: Path, workspace: Path) -> list[str]:
    return [name for name in assignments(course_dir) if not (workspace / name / f"{name}.ipynb").exists()]


def venv_env() -> dict[str, str]:
    """Our environment with this venv's bin/ first on PATH: nbgrader runs `alembic` by name, and students
    type `halab` in JupyterLab's terminals."""
    env = dict(os.environ)
    bin_dir = str(Path(sys.executable).parent)
    env["PATH"] = os.pathsep.join([bin_dir, *[p for p in env.get("PATH", "").split(os.pathsep) if p != bin_dir]])
    return env


def prepare(course_dir: Path, workspace: Path) -> list[str]:
    """Add the student copy of every assignment the workspace lacks; return the names added."""
    course_dir = course_dir.resolve()
    missing = missing_assignments(course_dir, workspace)
    try:
        workspace.mkdir(parents=True, exist_ok=True)
        config = workspace / "nbgrader_config.py"
        if not config.exists():
            config.write_text(STUDENT_CONFIG.format(course_id=COURSE_ID))
    except OSError as exc:
        raise HalabError(f"cannot make the course workspace {workspace}: {exc.strerror}") from None
    if not missing:
        return []
    with generated(course_dir, missing) as release:
        for name in missing:
            shutil.copytree(release / name, workspace / name, dirs_exist_ok=True)
    return missing


@contextlib.contextmanager
def generated(course_dir: Path, names: list[str]) -> Iterator[Path]:
    """The student version of each named assignment, made once by `nbgrader generate_assignment`: yields the
    release folder holding them (gone afterwards). A class's workspaces are all copied from one of these."""
    # nbgrader writes release/ and a gradebook beside the source: a scratch copy keeps the course clean.
    with tempfile.TemporaryDirectory(prefix="halab-release-") as scratch:
        copy = Path(scratch) / "course"
        shutil.copytree(course_dir, copy, ignore=shutil.ignore_patterns(*NOT_COPIED, "evidence-*.json"))
        try:
            result = subprocess.run([sys.executable, "-I", "-c", GENERATE, *names], cwd=copy, env=venv_env(),
                                    capture_output=True, text=True, timeout=GENERATE_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            raise HalabError(f"nbgrader took more than {GENERATE_TIMEOUT_S:g} s to make the student copies") \
                from None
        if result.returncode != 0:
            detail = (result.stderr.strip().splitlines() or ["no output"])[-1]
            raise HalabError(f"nbgrader could not make the student copies of the course: {detail}")
        yield copy / "release"
