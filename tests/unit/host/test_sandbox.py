"""The bubblewrap sandbox (halab/host/sandbox.py): its command line, and a real one run as an unprivileged account:
no network, a read-only system, nothing of the host but what it is given, and its limits."""

from __future__ import annotations

import os
import subprocess
import tempfile
from pathlib import Path

import pytest

from halab.host.sandbox import Limits, Mount, bwrap_argv, userns_problem

PROBE = """
import os, socket, sys
def attempt(what, action):
    try:
        action()
        print("LEAK", what)
    except OSError as exc:
        print("BLOCKED", what, exc.strerror)
attempt("write /etc", lambda: open("/etc/halab-sandbox-test", "w"))
attempt("write the root", lambda: open("/halab-sandbox-test", "w"))
attempt("write the read-only bind", lambda: open(sys.argv[1] + "/x", "w"))
attempt("read /root", lambda: os.listdir("/root"))
attempt("connect out", lambda: socket.create_connection(("127.0.0.1", 22), timeout=2))
attempt("a file over the size limit", lambda: open("/tmp/big", "wb").write(b"x" * (2 * 1024 * 1024)))
open("work/done", "w").write(str(os.getuid()))
print("top", sorted(os.listdir("/")))
"""


def test_the_command_line_limits_first_and_makes_the_root_read_only_last() -> None:
    argv = bwrap_argv(["python3", "-c", "pass"], [Mount("/src", "/dst"), Mount("/w", "/work", writable=True)],
                      "/work", {"A": "1"}, Limits(processes=10))
    assert argv[0] == "prlimit" and "--nproc=10" in argv and argv[argv.index("--") + 1] == "bwrap"
    for option in ("--unshare-all", "--unshare-user", "--disable-userns", "--die-with-parent", "--new-session",
                   "--clearenv"):
        assert option in argv
    binds = argv.index("--ro-bind", argv.index("/etc")), argv.index("/dst"), argv.index("/work")
    assert max(binds) < argv.index("--remount-ro") < argv.index("--chdir")
    assert argv[-4:] == ["--", "python3", "-c", "pass"]


@pytest.mark.skipif(os.geteuid() != 0, reason="runs the sandbox as nobody: needs root")
def test_a_real_sandbox_as_an_unprivileged_account() -> None:
    assert userns_problem() == ""  # this host lets unprivileged users make user namespaces (bwrap needs them)
    with tempfile.TemporaryDirectory(prefix="halab-sandbox-", dir="/tmp") as folder:
        work, readonly = Path(folder) / "work", Path(folder) / "ro"
        for made in (work, readonly):
            made.mkdir()
            os.chown(made, 65534, 65534)
        (readonly / "work").mkdir()  # the mount point of the writable folder, in the read-only one
        Path(folder).chmod(0o755)
        mounts = [Mount(str(readonly), "/data"), Mount(str(work), "/data/work", writable=True)]
        python = "/usr/bin/python3"
        argv = bwrap_argv([python, "-I", "-c", PROBE, "/data"], mounts, "/data", {"PATH": "/usr/bin"},
                          Limits(file_size=1024 * 1024))
        done = subprocess.run(argv, user="nobody", group="nogroup", extra_groups=[], capture_output=True, text=True,
                              timeout=60, cwd="/", env={"PATH": "/usr/bin:/bin"})
        assert done.returncode == 0, done.stderr
        assert "LEAK" not in done.stdout and done.stdout.count("BLOCKED") == 6, done.stdout
        assert (work / "done").read_text() == "65534"
        assert "'root'" not in done.stdout and "'home'" not in done.stdout and "'srv'" not in done.stdout
