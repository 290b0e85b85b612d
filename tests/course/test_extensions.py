"""nbgrader's JupyterLab extensions (assignment list, formgrader, validate) are installed, enabled, and
loaded by the JupyterLab that `halab course` starts."""

from __future__ import annotations

import contextlib
import json
import os
import re
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from halab.course.workspace import venv_env

JUPYTER = str(Path(sys.executable).parent / "jupyter")
NBGRADER_SERVER_EXTENSIONS = ("formgrader", "assignment_list", "course_list", "validate_assignment")
ANSI = re.compile(r"\x1b\[[0-9;]*m")


def jupyter(*args: str) -> str:
    result = subprocess.run([JUPYTER, *args], capture_output=True, text=True, env=venv_env(), timeout=120)
    assert result.returncode == 0, result.stderr
    return ANSI.sub("", result.stdout + result.stderr)  # jupyter prints its lists to stderr


def test_labextension_list_shows_nbgrader_enabled_and_ok() -> None:
    from nbgrader import __version__

    listing = jupyter("labextension", "list")
    line = next((x for x in listing.splitlines() if "@jupyter/nbgrader" in x), "")
    assert re.search(rf"@jupyter/nbgrader v{re.escape(__version__)} enabled\s+OK", line), listing


def test_server_extension_list_shows_nbgrader_enabled_and_ok() -> None:
    listing = jupyter("server", "extension", "list")
    for name in NBGRADER_SERVER_EXTENSIONS:
        module = f"nbgrader.server_extensions.{name}"
        assert re.search(rf"^\s*{re.escape(module)} enabled$", listing, re.M), f"{module} not enabled:\n{listing}"
        assert re.search(rf"^\s*{re.escape(module)}\s+OK$", listing, re.M), f"{module} not OK:\n{listing}"


def get(url: str, path: str) -> tuple[int, str]:
    parts = urlsplit(url)
    token = dict(p.split("=", 1) for p in parts.query.split("&"))["token"]
    request = urllib.request.Request(f"{parts.scheme}://{parts.netloc}{path}",
                                     headers={"Authorization": f"token {token}"})
    with urllib.request.urlopen(request, timeout=30) as response:
        return response.status, response.read().decode()


def lab_extensions(url: str) -> dict[str, bool]:
    status, body = get(url, "/lab/api/extensions")
    assert status == 200
    return {e["name"]: e["enabled"] for e in json.loads(body)}


def test_the_course_server_loads_the_formgrader_for_instructors(course_server: Callable[..., str]) -> None:
    url = course_server("--instructor", port=18890)
    assert lab_extensions(url).get("jupyter-nbgrader") is True
    status, body = get(url, "/formgrader/api/assignments")
    assert status == 200
    assert {a["name"] for a in json.loads(body)} >= {"01-introduction", "03-clustering"}


def test_the_course_server_lists_assignments_for_students(course_server: Callable[..., str]) -> None:
    url = course_server(port=18891)
    assert lab_extensions(url).get("jupyter-nbgrader") is True
    status, body = get(url, "/assignments?course_id=halab")
    answer = json.loads(body)
    assert status == 200 and answer["success"], answer  # the assignment list works: the exchange is there
    status, page = get(url, "/lab")
    assert status == 200 and "@jupyter/nbgrader" in page  # the page loads nbgrader's lab extension


def page_config(url: str) -> dict:
    status, page = get(url, "/lab")
    assert status == 200
    data = re.search(r'<script id="jupyter-config-data" type="application/json">(.*?)</script>', page, re.S)
    assert data, "no page config in /lab"
    return json.loads(data.group(1))


def test_students_see_student_tools_only(course_server: Callable[..., str]) -> None:
    url = course_server(port=18892)
    student = page_config(url)
    with pytest.raises(urllib.error.HTTPError) as refused:  # no formgrader behind the hidden panels either
        get(url, "/formgrader/api/assignments")
    assert refused.value.code == 404
    disabled = set(student.get("disabledExtensions", []))
    assert {"@jupyter/nbgrader:create-assignment", "@jupyter/nbgrader:formgrader",
            "@jupyter/nbgrader:course-list", "@jupyterlab/apputils-extension:announcements"} <= disabled
    assert "@jupyter/nbgrader:assignment-list" not in disabled  # fetching and submitting stay
    instructor = page_config(course_server("--instructor", port=18893))
    assert "@jupyter/nbgrader:create-assignment" not in set(instructor.get("disabledExtensions", []))
    assert "@jupyterlab/apputils-extension:announcements" in set(instructor.get("disabledExtensions", []))


def test_the_token_is_on_no_command_line(course_server: Callable[..., str]) -> None:
    url = course_server(port=18894)
    token = dict(p.split("=", 1) for p in urlsplit(url).query.split("&"))["token"]
    lines = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        with contextlib.suppress(OSError):
            lines.append(Path(f"/proc/{pid}/cmdline").read_bytes())
    assert len(lines) > 10 and not any(token.encode() in line for line in lines)
