"""Start JupyterLab on the course, for `halab course`.

JupyterLab runs as a child process of this Python (the venv that has halab), with:
- a root folder that is its working directory too, so nbgrader finds the nbgrader_config.py there: the
  student's workspace (halab.course.workspace), or for instructors the course folder itself;
- HALAB_COURSE_DIR naming the course folder, where the kernels find the quiz banks;
- terminals enabled and the venv's bin/ first on PATH, so `halab ssh node1` works in a JupyterLab terminal;
- a known port (we pick a free one) and token, so the URL we print is the one that works; the token goes
  to JupyterLab in its environment (JUPYTER_TOKEN), never on a command line, where `ps` shows it to every
  user of the machine;
- the Jupyter config of its audience (halab/course/jupyter/<student|instructor>/, first on
  JUPYTER_CONFIG_PATH): a student's JupyterLab has no instructor tools (nbgrader's Create Assignment panel,
  formgrader, course list), and nobody is asked to fetch Jupyter's news (lab hosts are offline).
"""

from __future__ import annotations

import os
import secrets
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

from halab import paths
from halab.course.workspace import venv_env
from halab.errors import HalabError

FIRST_ASSIGNMENT = "01-introduction/01-introduction.ipynb"  # in a student's workspace
FIRST_NOTEBOOK = f"source/{FIRST_ASSIGNMENT}"  # in the course folder
PORT_TRIES = 50
READY_TIMEOUT_S = 90.0


@dataclass
class LaunchOptions:
    port: int = 8888
    ip: str = "127.0.0.1"
    open_browser: bool = False
    token: str = field(default_factory=lambda: secrets.token_hex(24))
    course_dir: Path = field(default_factory=paths.course_dir)
    extra_args: list[str] = field(default_factory=list)
    root_dir: Path | None = None  # what JupyterLab serves; None: the course folder (the instructor's view)
    first_notebook: str = FIRST_NOTEBOOK

    @property
    def audience(self) -> str:
        return "student" if self.root_dir else "instructor"

    @property
    def served_dir(self) -> Path:
        return self.root_dir or self.course_dir


def _connect_host(ip: str) -> str:
    """Where to reach a server listening on ip: a wildcard address is reachable on loopback."""
    return "127.0.0.1" if ip in ("0.0.0.0", "", "*") else "::1" if ip == "::" else ip


def port_is_free(ip: str, port: int) -> bool:
    family = socket.AF_INET6 if ":" in ip else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        try:
            sock.bind((ip if ip not in ("", "*") else "0.0.0.0", port))
        except OSError:
            return False
    return True


def free_port(ip: str, preferred: int) -> int:
    """The preferred port if free, else the next free one (as Jupyter itself would, but known to us)."""
    if not 1 <= preferred <= 65535:
        raise HalabError(f"port {preferred} is not a TCP port number (1-65535)")
    for port in range(preferred, min(preferred + PORT_TRIES, 65536)):
        if port_is_free(ip, port):
            return port
    raise HalabError(f"no free port between {preferred} and {preferred + PORT_TRIES - 1} on {ip}")


def check_course_dir(course_dir: Path) -> Path:
    course_dir = course_dir.resolve()
    if not (course_dir / "nbgrader_config.py").is_file():
        raise HalabError(f"{course_dir} is not a halab course folder (it has no nbgrader_config.py)")
    return course_dir


def build_command(opts: LaunchOptions, port: int) -> list[str]:
    if not opts.token:
        raise HalabError("the token must not be empty: an empty token lets anyone on the network in")
    args = [
        sys.executable, "-m", "jupyterlab",
        f"--ServerApp.root_dir={opts.served_dir}",
        f"--ServerApp.ip={opts.ip}",
        f"--ServerApp.port={port}",
        "--ServerApp.port_retries=0",  # we chose a free port; a silent switch would make our URL wrong
        f"--ServerApp.open_browser={opts.open_browser}",
        "--ServerApp.terminals_enabled=True",
    ]  # fmt: skip
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        args.append("--allow-root")  # lab hosts often run everything as root; Jupyter refuses otherwise
    return args + list(opts.extra_args)


JUPYTER_CONFIGS = Path(__file__).resolve().parent / "jupyter"


def build_env(opts: LaunchOptions) -> dict[str, str]:
    env = venv_env()
    env["HALAB_COURSE_DIR"] = str(opts.course_dir)  # kernels find the quiz banks of this very course
    env["JUPYTER_TOKEN"] = opts.token  # private to the process and its owner, unlike its command line
    own = str(JUPYTER_CONFIGS / opts.audience)
    env["JUPYTER_CONFIG_PATH"] = os.pathsep.join([own, *filter(None, [env.get("JUPYTER_CONFIG_PATH")])])
    return env


def notebook_url(ip: str, port: int, token: str, notebook: str = FIRST_NOTEBOOK) -> str:
    host = _connect_host(ip)
    host = f"[{host}]" if ":" in host else host
    return f"http://{host}:{port}/lab/tree/{quote(notebook)}?token={quote(token)}"


def wait_ready(proc: subprocess.Popen[bytes], ip: str, port: int, token: str, timeout: float) -> None:
    """Poll the server's status API until it answers; raise HalabError if it dies or takes too long."""
    host = _connect_host(ip)
    host = f"[{host}]" if ":" in host else host
    request = urllib.request.Request(f"http://{host}:{port}/api/status", headers={"Authorization": f"token {token}"})
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise HalabError(f"JupyterLab exited with status {proc.returncode} before it was ready")
        try:
            with urllib.request.urlopen(request, timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.3)
    raise HalabError(f"JupyterLab did not answer on port {port} within {timeout:g} s")


@dataclass
class RunningCourse:
    proc: subprocess.Popen[bytes]
    url: str
    port: int

    def stop(self, timeout: float = 10.0) -> None:
        """Stop JupyterLab (and its kernels and terminals, which it shuts down on SIGTERM)."""
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def start(opts: LaunchOptions, log: Path | None = None, ready_timeout: float = READY_TIMEOUT_S) -> RunningCourse:
    """Start JupyterLab and wait until it serves; the caller must stop() it."""
    course_dir = check_course_dir(opts.course_dir)
    opts.course_dir = course_dir
    port = free_port(opts.ip, opts.port)
    command = build_command(opts, port)
    # Jupyter's own log goes to a file when asked (tests), else to our terminal as usual.
    output = open(log, "ab") if log else None  # noqa: SIM115 - handed to the child, closed below
    try:
        proc = subprocess.Popen(command, cwd=opts.served_dir, env=build_env(opts), stdout=output, stderr=output)
    finally:
        if output:
            output.close()
    running = RunningCourse(proc, notebook_url(opts.ip, port, opts.token, opts.first_notebook), port)
    try:
        wait_ready(proc, opts.ip, port, opts.token, ready_timeout)
    except BaseException:
        running.stop()
        raise
    return running
