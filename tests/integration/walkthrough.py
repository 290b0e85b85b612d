"""Walk a notebook's guided steps on a live lab, as a student following it would (halab/course/guided.py).

``walk(lab, notebook)`` reads the notebook's ``lab_steps(...)`` cells for the lab in cell order, renders each
with the live lab's own values (the spec the lab was brought up from: a slot's values too), and runs it:
node steps over SSH with ``bash -e`` (so the first failing command fails the step), host steps in a shell on
this machine with ``halab`` meaning this checkout's ``python -m halab``. A step's ``until`` condition is polled
until it holds. Demonstrations (``demo=True``) are not run. Then the test grades the lab and requires full
marks on the tasks the guided steps worked on: a notebook and a grader that drift apart fail it.
"""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from halab.course import guided
from halab.lab import Lab
from halab.runtime import peers

REPO_ROOT = Path(__file__).resolve().parents[2]
STEP_TIMEOUT_S = 300  # a step may start a service or wait for a transition
UNTIL_TIMEOUT_S = 240  # a cluster forming after its first start takes a minute (DC election, fencing)


def notebook(name: str) -> Path:
    """A course notebook by its assignment name ("03-clustering")."""
    return REPO_ROOT / "course" / "source" / name / f"{name}.ipynb"


class StepFailed(AssertionError):
    pass


def _host(script: str, timeout: float) -> tuple[int, str]:
    """A host step: bash with `halab` as this checkout's (never the machine's /usr/local/bin/halab)."""
    prelude = f"halab() {{ {shlex.quote(sys.executable)} -m halab \"$@\"; }}\n"
    result = subprocess.run(["bash", "-e", "-c", prelude + script], capture_output=True, text=True,
                            timeout=timeout, cwd=REPO_ROOT, stdin=subprocess.DEVNULL, env=os.environ.copy())
    return result.returncode, result.stdout + result.stderr


def _node(lab: Lab, node: str, script: str, timeout: float) -> tuple[int, str]:
    result = lab.run(node, f"bash -e -c {shlex.quote(script)}", timeout=timeout)
    return result.exit_status, result.stdout + result.stderr


def run_step(lab: Lab, step: guided.Step, values: dict[str, str], log: Callable[[str], None]) -> None:
    commands = guided.render(step.commands, values)
    missing = guided.unknown_placeholders(step.commands + step.expect + step.until, values)
    if missing:
        raise StepFailed(f"cell {step.cell}: unknown placeholders {missing}")
    nodes = guided.nodes_for(step, lab.spec)
    for node in nodes:
        log(f"cell {step.cell} on {node}: {commands.splitlines()[0] if commands else ''} ...")
        status, output = (_host(commands, STEP_TIMEOUT_S) if node == guided.HOST
                          else _node(lab, node, commands, STEP_TIMEOUT_S))
        log(output.rstrip()[-3000:])
        if status != 0:
            raise StepFailed(f"cell {step.cell} ({step.task or 'no task'}) failed on {node} with exit status "
                             f"{status}:\n{commands}\n--- output ---\n{output[-2000:]}")
    if step.until:  # once the commands ran everywhere (a cluster forms when every node has started)
        _wait(lab, nodes[0], guided.render(step.until, values), step)


def _wait(lab: Lab, node: str, condition: str, step: guided.Step) -> None:
    deadline = time.monotonic() + UNTIL_TIMEOUT_S
    output = ""
    while time.monotonic() < deadline:
        status, output = (_host(condition, 60) if node == guided.HOST else _node(lab, node, condition, 60))
        if status == 0:
            return
        time.sleep(2)
    raise StepFailed(f"cell {step.cell}: waited {UNTIL_TIMEOUT_S} s on {node} for: {condition}\n"
                     f"--- last output ---\n{output[-1500:]}")


def walk(lab: Lab, notebook_path: Path, log: Callable[[str], None] = print) -> set[str]:
    """Run every guided step of the notebook for this lab; returns the tasks they worked on."""
    steps = [s for s in guided.notebook_steps(notebook_path, lab.base) if not s.demo]
    assert steps, f"{notebook_path.name} has no guided steps for lab {lab.base}"
    password = peers.cluster_password(lab.name)
    values = guided.lab_values(lab.spec, {"hacluster_password": password} if password else {})
    for step in steps:
        run_step(lab, step, values, log)
    return {s.task for s in steps if s.task}


def guided_tasks(notebook_path: Path, lab: str) -> set[str]:
    return {s.task for s in guided.notebook_steps(notebook_path, lab) if s.task}
