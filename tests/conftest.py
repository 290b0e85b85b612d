"""Settings for every test: no test may write to the progress file of the user who runs the tests, nor leave a
grader account behind."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest


@pytest.fixture(scope="session", autouse=True)
def private_progress_file() -> Iterator[Path]:
    """Practice quizzes, mock exams and lab checks record progress; in tests (and in the notebook kernels and
    subprocesses they start, which inherit the environment) it goes to a throw-away file."""
    with tempfile.TemporaryDirectory(prefix="halab-progress-") as folder:
        path = Path(folder) / "progress.json"
        old = os.environ.get("HALAB_PROGRESS_FILE")
        os.environ["HALAB_PROGRESS_FILE"] = str(path)
        try:
            yield path
        finally:
            if old is None:
                os.environ.pop("HALAB_PROGRESS_FILE", None)
            else:
                os.environ["HALAB_PROGRESS_FILE"] = old


@pytest.fixture(scope="session", autouse=True)
def grader_accounts_removed() -> Iterator[None]:
    """`halab grade` run by root makes a grader account per course folder (halab/course/gradebox.py); the
    tests' course folders are temporary, so are their accounts: those made during the session are removed."""
    import pwd
    import subprocess

    from halab.course.gradebox import GRADER_PREFIX

    def graders() -> set[str]:
        return {entry.pw_name for entry in pwd.getpwall() if entry.pw_name.startswith(GRADER_PREFIX)}

    before = graders()
    yield
    for name in sorted(graders() - before):
        subprocess.run(["userdel", name], capture_output=True)
