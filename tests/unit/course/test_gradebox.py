"""The grading broker's check of a relay's request (halab/course/gradebox.py): the relay runs as the course's
owner, so every field that decides where root puts things, or what the sandbox sees, is checked."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from halab.course.gradebox import MAX_WORK, grader_name, parse_request
from halab.errors import HalabError

ROOT, COURSE = Path("/run/halab/grading-0123"), Path("/srv/halab/classroom/course")
NAME = "0123456789abcdef0123456789abcdef"


def header(**changes: Any) -> dict[str, Any]:
    connection = {"transport": "ipc", "ip": f"{ROOT}/{NAME}/kernel", "key": "a1b2c3d4-e5f6-4711-8899-aabbccddeeff",
                  "signature_scheme": "hmac-sha256", "shell_port": 1, "iopub_port": 2, "stdin_port": 3,
                  "control_port": 4, "hb_port": 5, "kernel_name": "python3"}
    base = {"connection": connection, "cwd": f"{COURSE}/autograded/ann/03-clustering",
            "quizzes": "/opt/halab/course/quizzes", "env": {"NBGRADER_EXECUTION": "autograde", "LD_PRELOAD": "/x.so"},
            "work_bytes": 10240, "course_bytes": 2048}
    for key, value in changes.items():
        if key in connection:
            connection[key] = value
        else:
            base[key] = value
    return base


def test_a_relays_request_is_taken_with_only_what_is_known() -> None:
    request = parse_request(header(), ROOT, COURSE)
    assert request.name == NAME and request.cwd == f"{COURSE}/autograded/ann/03-clustering"
    assert request.env == {"NBGRADER_EXECUTION": "autograde"}  # nothing else of the owner's environment
    assert "kernel_name" not in request.connection and request.connection["ip"] == f"{ROOT}/{NAME}/kernel"


@pytest.mark.parametrize(("changes", "words"), [
    ({"transport": "tcp", "ip": "127.0.0.1"}, "ipc transport"),
    ({"ip": f"/etc/{NAME}/kernel"}, "sockets must be in"),
    ({"ip": f"{ROOT}/../{NAME}/kernel"}, "sockets must be in"),
    ({"ip": f"{ROOT}/x/kernel"}, "sockets must be in"),
    ({"shell_port": "1; rm -rf /"}, "bad ports"),
    ({"key": "a b"}, "bad key"),
    ({"cwd": "/usr"}, "must run in"),
    ({"cwd": f"{COURSE}/autograded/ann/../../../passwords"}, "must run in"),
    ({"cwd": f"{COURSE}/submitted/ann/03-clustering"}, "must run in"),
    ({"cwd": f"{COURSE}/autograded/ann"}, "must run in"),
    ({"quizzes": "relative/quizzes"}, "bad quiz folder"),
    ({"work_bytes": MAX_WORK + 1}, "may take"),
    ({"course_bytes": -1}, "may take"),
])  # fmt: skip
def test_every_bad_field_is_refused_with_its_reason(changes: dict[str, Any], words: str) -> None:
    with pytest.raises(HalabError, match=words):
        parse_request(header(**changes), ROOT, COURSE)


def test_each_course_has_a_grader_account_of_its_own() -> None:
    assert grader_name(COURSE) == grader_name(COURSE / "." ) != grader_name(Path("/srv/other/course"))
    assert len(grader_name(COURSE)) <= 32 and grader_name(COURSE).startswith("halab-grader-")
