"""The process nbgrader's kernel manager starts in place of a kernel when it grades (halab/course/gradekernel.py):
it asks root's grading broker (halab/course/gradebox.py) for the real kernel, in the sandbox, and stands for it.

    python -I -m halab.course.graderelay CONNECTION_FILE     (in the notebook's folder, as the course's owner)

It packs what the kernel may see (the notebook's folder: regular files and folders only, no link followed;
the course's graded quiz banks and the class roster) into tar archives, sends them with the connection info,
then relays: interrupts (SIGINT) to the kernel, SIGTERM/SIGHUP as the end of it, the kernel's output to
stderr, and at the end exits with the kernel's exit status. If this process is killed, the broker sees its
socket close and kills the sandbox.
"""

from __future__ import annotations

import io
import json
import os
import signal
import socket
import stat
import sys
import tarfile
from pathlib import Path
from types import FrameType
from typing import Any

from graders.provenance import ROSTER_FILE
from halab import paths
from halab.course.gradebox import BROKER_ENV, MAX_COURSE, MAX_WORK, PASSED_ENV


class TooLarge(Exception):
    pass


def pack(entries: list[tuple[Path, str]], limit: int) -> bytes:
    """A tar archive of the paths (each under its name in the archive): regular files and folders only, owned by
    nobody in particular; TooLarge past ``limit`` bytes of content."""
    total = 0

    def keep(member: tarfile.TarInfo) -> tarfile.TarInfo | None:
        nonlocal total
        if not (member.isfile() or member.isdir()):
            return None  # links, devices, pipes: nothing the kernel needs, and a link must not be followed
        total += member.size
        if total > limit:
            raise TooLarge(f"more than {limit // 2**20} MiB")
        member.uid = member.gid = 0
        member.uname = member.gname = ""
        member.mode &= 0o755
        return member

    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as archive:
        for path, name in entries:
            if os.path.lexists(path) and not stat.S_ISLNK(os.lstat(path).st_mode):
                archive.add(str(path), arcname=name, filter=keep)
    return buffer.getvalue()



def request(connection: dict[str, Any], cwd: Path) -> tuple[dict[str, Any], bytes, bytes]:
    """The header and the two archives for the broker."""
    course = cwd.parents[2]
    work = pack([(cwd, ".")], MAX_WORK)
    quizzes = paths.course_dir().resolve() / "quizzes"
    data = pack([(quizzes, "quizzes"), (course / ROSTER_FILE, ROSTER_FILE)], MAX_COURSE)
    header = {"connection": connection, "cwd": str(cwd), "quizzes": str(quizzes),
              "env": {k: os.environ[k] for k in PASSED_ENV if k in os.environ},
              "work_bytes": len(work), "course_bytes": len(data)}
    return header, work, data


def main(argv: list[str]) -> int:
    if len(argv) != 1 or BROKER_ENV not in os.environ:
        print("halab's grading relay: run by nbgrader's kernel manager during `halab grade` (it needs "
              f"{BROKER_ENV})", file=sys.stderr)
        return 2
    connection = json.loads(Path(argv[0]).read_text())
    try:
        header, work, data = request(connection, Path.cwd())
    except (TooLarge, OSError) as exc:
        print(f"halab: the submission cannot be graded in the sandbox: {exc}", file=sys.stderr)
        return 1
    broker = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    broker.connect(os.environ[BROKER_ENV])
    broker.sendall(json.dumps(header).encode() + b"\n" + work + data)

    def relay(number: int, _frame: FrameType | None) -> None:
        broker.sendall(json.dumps({"signal": number}).encode() + b"\n")

    for number in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(number, relay)
    for line in broker.makefile("rb"):
        message = json.loads(line)
        if "log" in message:
            sys.stderr.write(message["log"])
            sys.stderr.flush()
        elif "error" in message:
            print(f"halab: {message['error']}", file=sys.stderr)
            return 1
        elif "exited" in message:
            return int(message["exited"])
    return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
