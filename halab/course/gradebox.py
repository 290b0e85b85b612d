"""Root's side of grading in a sandbox: the course's grader account, and the broker that starts the kernels
which run the students' notebooks, as that account, in bubblewrap (halab/host/sandbox.py).

nbgrader's autograde runs as the course's owner (the instructor, or root on a root course), never in a
sandbox itself: it reads and writes the gradebook and the course. Only the kernels that execute the notebooks
run the students' code, so only they are moved: nbgrader's kernel manager (halab/course/gradekernel.py) starts
a relay (halab/course/graderelay.py) instead of a kernel, and the relay asks this broker for the real one.
The broker is part of root's `halab grade` (or of a root process that autogrades); it listens on a Unix
socket that only the course's owner may open (checked again by SO_PEERCRED), in a small tmpfs of its own.

For each kernel the relay sends the Jupyter connection info (ZeroMQ over ``ipc``: Unix sockets in a folder of
this tmpfs, reachable from both sides although the kernel has no network), the folder the notebook runs in
(``<course>/autograded/<student>/<assignment>``) and two tar archives it made as the owner: that folder's
files, and what the grading cells read (the course's graded quiz banks, the class roster). Root never opens
a file of the owner's or a student's: the archives are unpacked by the grader account, with tar, into
folders of this tmpfs. The kernel then runs in the sandbox as the grader account with:

- the submission's files, writable, at the path nbgrader gave (a copy: the instructor's autograded/ folder
  is never written by the students' code);
- the quiz banks and the roster read-only, at their paths; halab's checkout and venv read-only;
- nothing else of the course: no nbgrader_config.py, gradebook, passwords.csv, other submissions, exchange.

The relay forwards interrupts; when it goes away (nbgrader shut the kernel down or killed it), the sandbox
is killed and its folders removed.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import pwd
import re
import secrets
import shutil
import signal
import socket
import struct
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import IO, Any

from graders.provenance import ROSTER_FILE
from halab import jsonload, paths
from halab.errors import HalabError
from halab.host import fs
from halab.host.sandbox import Limits, Mount, bwrap_argv, system_account, tmpfs

BROKER_ENV = "HALAB_GRADE_BROKER"
RUN_DIR = Path("/run/halab")
GRADER_PREFIX = "halab-grader-"
TMPFS_BYTES, TMPFS_INODES = 320 * 1024 * 1024, 20000
MAX_HEADER, MAX_WORK, MAX_COURSE = 64 * 1024, 64 * 1024 * 1024, 16 * 1024 * 1024
MAX_LOG = 64 * 1024  # of a kernel's own output passed to nbgrader's log
LIMITS = Limits()
KERNEL_NAME = re.compile(r"[0-9a-f]{32}")
PASSED_ENV = {"NBGRADER_EXECUTION": ("autograde", "validate")}
NO_BROKER = ("halab runs students' notebooks only in its grading sandbox, as the course's grader account, which "
             "only root can start: grade with `halab grade ASSIGNMENT` run as root")


def grader_name(course: Path) -> str:
    """The grader account of a course folder: one per course, named from its path."""
    return GRADER_PREFIX + hashlib.sha256(str(course.resolve()).encode()).hexdigest()[:8]


def ensure_grader(course: Path) -> pwd.struct_passwd:
    """The course's grader account, made if missing (root only)."""
    return system_account(grader_name(course), f"halab grader of {course.resolve()}")


@dataclass(frozen=True)
class KernelRequest:
    """A relay's request, checked: where the kernel's sockets go, what it runs in, what it may read."""

    name: str  # 32 hex digits: the kernel's folder in the broker's tmpfs
    connection: dict[str, Any]
    cwd: str  # <course>/autograded/<student>/<assignment>
    quizzes: str  # where the kernel looks for the course's quiz banks (<course dir>/quizzes)
    env: dict[str, str]
    work_bytes: int
    course_bytes: int


def _fail(why: str) -> HalabError:
    return HalabError(f"the grading sandbox refused the kernel: {why}")


def parse_request(header: dict[str, Any], root: Path, course: Path) -> KernelRequest:
    """Check a relay's request field by field (the relay runs as the course's owner, who is not root)."""
    info = header.get("connection")
    if not isinstance(info, dict) or info.get("transport") != "ipc":
        raise _fail("the kernel must use the ipc transport")
    ip = PurePosixPath(str(info.get("ip", "")))
    if ip.name != "kernel" or ip.parent.parent != PurePosixPath(root) or not KERNEL_NAME.fullmatch(ip.parent.name):
        raise _fail(f"its sockets must be in {root}/<32 hex digits>/kernel, not {ip}")
    ports = {key: info.get(key) for key in ("shell_port", "iopub_port", "stdin_port", "control_port", "hb_port")}
    if not all(isinstance(p, int) and not isinstance(p, bool) and 0 < p < 10000 for p in ports.values()):
        raise _fail("bad ports")
    key, scheme = info.get("key"), info.get("signature_scheme")
    if not isinstance(key, str) or not re.fullmatch(r"[0-9a-zA-Z-]{16,128}", key) or scheme != "hmac-sha256":
        raise _fail("bad key")
    cwd, course_path = PurePosixPath(str(header.get("cwd", ""))), PurePosixPath(course)
    if not cwd.is_absolute() or str(cwd) != os.path.normpath(str(cwd)) \
            or len(cwd.parts) != len(course_path.parts) + 3 or cwd.parents[1] != course_path / "autograded":
        raise _fail(f"it must run in {course}/autograded/<student>/<assignment>, not {cwd}")
    quizzes = str(header.get("quizzes", ""))
    if not quizzes.startswith("/") or os.path.normpath(quizzes) != quizzes or PurePosixPath(quizzes).name != "quizzes":
        raise _fail(f"bad quiz folder {quizzes!r}")
    env = {k: v for k, v in (header.get("env") or {}).items() if v in PASSED_ENV.get(k, ())}
    work, data = header.get("work_bytes"), header.get("course_bytes")
    if not (isinstance(work, int) and isinstance(data, int) and 0 <= work <= MAX_WORK and 0 <= data <= MAX_COURSE):
        raise _fail(f"the submission's files may take {MAX_WORK // 2**20} MiB, the course's {MAX_COURSE // 2**20}")
    connection = {"transport": "ipc", "ip": str(ip), "key": key, "signature_scheme": scheme, **ports}
    return KernelRequest(ip.parent.name, connection, str(cwd), quizzes, env, work, data)


class GradingBroker:
    """The broker (see the module docstring) for one course, while the ``with`` block runs."""

    def __init__(self, course: Path, peer_uid: int, grader: pwd.struct_passwd | None = None) -> None:
        self.course = course.resolve()
        self.peer_uid = peer_uid
        self.grader = grader or ensure_grader(self.course)
        self.root = RUN_DIR / f"grading-{secrets.token_hex(8)}"
        self.socket_path = self.root / "broker.sock"
        self._server: socket.socket | None = None
        self._kernels: set[subprocess.Popen[bytes]] = set()
        self._lock = threading.Lock()

    def __enter__(self) -> GradingBroker:
        RUN_DIR.mkdir(parents=True, exist_ok=True)
        tmpfs(self.root, TMPFS_BYTES, TMPFS_INODES, 0o711)
        try:
            server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            server.bind(str(self.socket_path))
            os.chown(self.socket_path, self.peer_uid, -1)
            os.chmod(self.socket_path, 0o600)
            server.listen(8)
        except BaseException:
            fs.unmount_all(self.root)
            raise
        self._server = server
        threading.Thread(target=self._accept, daemon=True, name="grading-broker").start()
        return self

    def __exit__(self, *_exc: object) -> None:
        if self._server is not None:
            with contextlib.suppress(OSError):
                self._server.shutdown(socket.SHUT_RDWR)
            self._server.close()
        with self._lock:
            kernels = list(self._kernels)
        for kernel in kernels:
            _kill(kernel)
        fs.unmount_all(self.root)
        with contextlib.suppress(OSError):
            self.root.rmdir()

    def env(self) -> dict[str, str]:
        return {BROKER_ENV: str(self.socket_path)}

    # -- one connection per kernel ------------------------------------------------------------------------
    def _accept(self) -> None:
        assert self._server is not None
        while True:
            try:
                connection, _ = self._server.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(connection,), daemon=True).start()

    def _serve(self, connection: socket.socket) -> None:
        replies = _Replies(connection)
        reader = connection.makefile("rb")
        made: list[Path] = []
        kernel: subprocess.Popen[bytes] | None = None
        try:
            uid = struct.unpack("3i", connection.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, 12))[1]
            if uid not in (self.peer_uid, 0):
                raise _fail(f"uid {uid} is not the course's owner")
            request = parse_request(_header(reader), self.root, self.course)
            made = [self.root / request.name, *(self.root / f"{request.name}-{n}" for n in ("work", "course"))]
            kernel = self._launch(request, reader, made)
            replies.send(started=kernel.pid)
            threading.Thread(target=self._watch, args=(kernel, replies), daemon=True).start()
            for line in reader:  # until the relay goes away
                with contextlib.suppress(ValueError, TypeError, AttributeError):
                    _signal_kernel(kernel, int(jsonload.loads(line).get("signal")))
        except (HalabError, OSError, ValueError) as exc:
            replies.send(error=str(exc))
        finally:
            if kernel is not None:
                _kill(kernel)
                with self._lock:
                    self._kernels.discard(kernel)
            for folder in made:
                shutil.rmtree(folder, ignore_errors=True)
            with contextlib.suppress(OSError):
                connection.close()

    def _launch(self, request: KernelRequest, reader: IO[bytes], made: list[Path]) -> subprocess.Popen[bytes]:
        ipc, work, data = made
        for folder, mode in ((ipc, 0o711), (work, 0o700), (data, 0o700)):
            folder.mkdir(mode=mode)  # fails if it exists: a kernel's folders are new
            os.chown(folder, self.grader.pw_uid, self.grader.pw_gid)
            folder.chmod(mode)
        self._unpack(reader.read(request.work_bytes), request.work_bytes, work)
        self._unpack(reader.read(request.course_bytes), request.course_bytes, data)
        connection_file = ipc / "connection.json"
        descriptor = os.open(connection_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
        with os.fdopen(descriptor, "w") as handle:
            json.dump(request.connection, handle)
        os.chown(connection_file, self.grader.pw_uid, self.grader.pw_gid)
        mounts = [Mount(str(paths.PROJECT_ROOT), str(paths.PROJECT_ROOT))]
        if not Path(sys.prefix).is_relative_to(paths.PROJECT_ROOT):
            mounts.append(Mount(sys.prefix, sys.prefix))
        course = str(Path(request.cwd).parents[2])
        # The course folder is an empty, read-only folder holding the submission's copy and the roster.
        mounts += [Mount(str(ipc), str(ipc), writable=True), Mount("", course),
                   Mount(str(work), request.cwd, writable=True)]
        if (data / ROSTER_FILE).is_file():
            mounts.append(Mount(str(data / ROSTER_FILE), f"{course}/{ROSTER_FILE}"))
        if (data / "quizzes").is_dir():
            mounts.append(Mount(str(data / "quizzes"), request.quizzes))
        mounts.append(Mount("", course, seal=True))
        env = {"PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin", "HOME": "/tmp", "TMPDIR": "/tmp",
               "LANG": "C.UTF-8", "HALAB_COURSE_DIR": str(Path(request.quizzes).parent),
               "HALAB_PROGRESS_FILE": "/tmp/halab-progress.json", "MPLCONFIGDIR": "/tmp/matplotlib",
               "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "PYDEVD_DISABLE_FILE_VALIDATION": "1",
               **request.env}
        argv = [sys.executable, "-I", "-m", "ipykernel_launcher", "-f", str(connection_file),
                "--HistoryManager.hist_file=:memory:"]
        # umask 0: the kernel's sockets must be writable by the owner's nbgrader to connect (they are in a folder
        # with an unguessable name that nobody may list, and every message is signed with the connection's key).
        kernel = subprocess.Popen(bwrap_argv(argv, mounts, request.cwd, env, LIMITS), cwd="/",
                                  env={"PATH": "/usr/bin:/bin"}, user=self.grader.pw_uid, group=self.grader.pw_gid,
                                  extra_groups=[], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                  stderr=subprocess.STDOUT, start_new_session=True, umask=0)
        with self._lock:
            self._kernels.add(kernel)
        return kernel

    def _unpack(self, archive: bytes, expected: int, folder: Path) -> None:
        """A tar archive unpacked into the folder by the grader account (tar refuses absolute and ../ names)."""
        if len(archive) != expected:
            raise _fail("the relay's archive was cut short")
        if not archive:
            return
        done = subprocess.run(["tar", "-x", "-f", "-", "-C", str(folder), "--no-same-owner", "--no-same-permissions",
                               "--no-overwrite-dir"], input=archive, capture_output=True, timeout=120, cwd="/",
                              env={"PATH": "/usr/bin:/bin"}, user=self.grader.pw_uid, group=self.grader.pw_gid,
                              extra_groups=[], start_new_session=True)
        if done.returncode != 0:
            raise _fail(f"its files could not be unpacked: {done.stderr.decode(errors='replace').strip()[-300:]}")

    def _watch(self, kernel: subprocess.Popen[bytes], replies: _Replies) -> None:
        """The kernel's output to the relay (up to MAX_LOG), then its exit status."""
        assert kernel.stdout is not None
        passed = 0
        for line in kernel.stdout:
            if passed < MAX_LOG:
                replies.send(log=line.decode(errors="replace")[: MAX_LOG - passed])
                passed += len(line)
        replies.send(exited=kernel.wait())


class _Replies:
    """JSON lines to the relay, from several threads."""

    def __init__(self, connection: socket.socket) -> None:
        self.connection = connection
        self.lock = threading.Lock()

    def send(self, **message: Any) -> None:
        with self.lock, contextlib.suppress(OSError):
            self.connection.sendall(json.dumps(message).encode() + b"\n")


def _header(reader: IO[bytes]) -> dict[str, Any]:
    line = reader.readline(MAX_HEADER + 1)
    if not line.endswith(b"\n"):
        raise _fail("no request (or one longer than 64 KiB)")
    header = jsonload.loads(line)
    if not isinstance(header, dict):
        raise _fail("the request is not a JSON object")
    return header


def _kernel_pid(sandbox: subprocess.Popen[bytes]) -> int | None:
    """The kernel's PID: bwrap's pid-1 reaper is the child of bwrap, the kernel the child of that."""
    pid = sandbox.pid
    for _ in range(2):
        try:
            children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        except OSError:
            return None
        if not children:
            return None
        pid = int(children[0])
    return pid


def _signal_kernel(sandbox: subprocess.Popen[bytes], number: int) -> None:
    """An interrupt goes to the kernel itself; anything else the relay passes on ends the sandbox."""
    if number != signal.SIGINT:
        _kill(sandbox)
    elif (target := _kernel_pid(sandbox)) is not None:
        with contextlib.suppress(ProcessLookupError):
            os.kill(target, number)


def _kill(sandbox: subprocess.Popen[bytes]) -> None:
    """The whole sandbox: bwrap dies, and its --die-with-parent takes the sandbox's PID namespace with it."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(sandbox.pid, signal.SIGKILL)
    with contextlib.suppress(subprocess.TimeoutExpired):
        sandbox.wait(10)


@contextlib.contextmanager
def broker_for(course: Path, owner: int) -> Iterator[GradingBroker]:
    """A broker for the course (root only), its grader account made if missing."""
    if os.geteuid() != 0:
        raise HalabError("only root can start the grading sandbox (it runs the notebooks as the course's grader "
                         "account)")
    with GradingBroker(course, owner) as broker:
        yield broker
