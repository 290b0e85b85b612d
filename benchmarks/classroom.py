"""What a class costs the hub's side of this host: K students log in to JupyterHub at once, each opens a
notebook (a kernel) and submits it; the instructor grades them all.

    sudo .venv/bin/python benchmarks/classroom.py [--students 1 5 10]

Reports for each K: the time until every student's JupyterLab answers (from K logins at once), the memory of
the hub and its proxy, per student (JupyterLab with one notebook's kernel; RSS and PSS), and the time of
`halab grade` for the K submissions (autograde runs each notebook again: no lab evidence here, so the lab
items score zero in milliseconds; the notebook's own cells are what costs). The labs' side is
benchmarks/capacity.py. The accounts (halab-c<random>i, halab-c<random>s<N>) and the classroom are made for the run and
removed afterwards. Run as root, under the global lock (flock /tmp/halab-labs.lock ...).
"""

from __future__ import annotations

import argparse
import socket
import statistics
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.lab_up import memory_mib  # noqa: E402
from halab.classroom import hubconfig  # noqa: E402
from halab.classroom.model import load_classroom  # noqa: E402
from tests.support.classroom import Room, classroom, server_processes  # noqa: E402
from tests.support.hubclient import HubSession  # noqa: E402

ASSIGNMENT = "03-clustering"
SUBMIT = ("import subprocess, sys\nsubprocess.run([sys.executable, '-m', 'nbgrader', 'submit', '03-clustering'], "
          "cwd='..', check=True, capture_output=True)")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def check(result: object) -> None:
    if getattr(result, "returncode", 1) != 0:
        sys.exit(f"failed: {getattr(result, 'stderr', '')[-2000:]}")


def student_session(room: Room, base: str, user: str) -> HubSession:
    session = HubSession.login(base, user, room.password(user))
    session.wait_for_server()
    kernel = session.kernel(f"{ASSIGNMENT}/{ASSIGNMENT}.ipynb")
    kernel.run("import halab.course.widgets")  # what the notebook's first cell imports
    kernel.close()
    return session


def run(count: int) -> None:
    with classroom(count) as room:
        check(room.halab("classroom", "init", "--instructor", room.instructor))
        check(room.halab("classroom", "add-students", str(room.roster([f"{u},,," for u in room.students]))))
        port = free_port()
        check(room.halab("classroom", "start", "--ip", "127.0.0.1", "--port", str(port)))
        base = f"http://127.0.0.1:{port}"
        instructor = HubSession.login(base, room.instructor, room.password(room.instructor))
        instructor.wait_for_server()
        release = instructor.kernel(f"source/{ASSIGNMENT}/{ASSIGNMENT}.ipynb")
        release.run("import os, subprocess, sys\nfor step in ('generate_assignment', 'release_assignment'):\n"
                    f"    subprocess.run([sys.executable, '-m', 'nbgrader', step, '{ASSIGNMENT}', '--force'], "
                    "check=True, cwd=os.environ['HALAB_COURSE_DIR'], capture_output=True)")
        release.close()
        started = time.monotonic()
        with ThreadPoolExecutor(max_workers=count) as pool:
            sessions = list(pool.map(lambda user: student_session(room, base, user), room.students))
        ready = time.monotonic() - started
        per_student = [memory_mib(server_processes(user)[0]) for user in room.students]
        run_info = hubconfig.read_runtime(load_classroom(room.root))
        # The hub's process tree holds its proxy and every user's server: those servers taken out.
        servers = [memory_mib(server_processes(user)[0]) for user in [*room.students, room.instructor]]
        whole = memory_mib(int(run_info["pid"]))
        hub = (whole[0] - sum(m[0] for m in servers), whole[1] - sum(m[1] for m in servers))
        for session in sessions:
            kernel = session.kernel(f"{ASSIGNMENT}/{ASSIGNMENT}.ipynb")
            kernel.run(SUBMIT)
            kernel.close()
        started = time.monotonic()
        check(room.halab("grade", ASSIGNMENT, "--course-dir", str(room.root / "course"), timeout=3600))
        grading = time.monotonic() - started
    rss = statistics.mean(m[0] for m in per_student)
    pss = statistics.mean(m[1] for m in per_student)
    print(f"K={count:2d}: {count} logins at once, every JupyterLab with a kernel ready after {ready:5.1f} s; hub + "
          f"proxy {hub[0]:4.0f} MiB RSS ({hub[1]:4.0f} PSS); per student {rss:4.0f} MiB RSS ({pss:4.0f} PSS); "
          f"halab grade of {count} submissions {grading:5.1f} s ({grading / count:4.1f} s each)", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, nargs="+", default=[1, 5, 10])
    for count in parser.parse_args().students:
        run(count)


if __name__ == "__main__":
    main()
