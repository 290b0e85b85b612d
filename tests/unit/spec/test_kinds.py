"""A new lab kind is only its own files: a copy of the project gets a kind with nothing but
labs/<lab>.toml, graders/<kind>/__init__.py and solutions/<kind>.py, and every shared part (the spec
loader, the grader, `halab fault`, `halab solve`) knows it without a change to any file they share."""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
from pathlib import Path

from tests.support.paths import REPO

ROOT = REPO

KIND_PACKAGE = '''
"""The smallest kind there is: one check on one command."""
from graders.checks import CheckTable, fail, ok
from halab.spec.kinds import Kind, register

CHECKS = CheckTable()


@CHECKS.check("motd", "The node has a message of the day", "echo hello > /etc/motd")
def motd(facts):
    node = facts.each()[0]
    text = node.output("motd")["stdout"].strip()
    return ok(f"motd: {text}") if text else fail(f"/etc/motd is empty on {node.name}")


register(Kind(name="hello", settings=("greeting",), tasks=("motd",), commands={"motd": "cat /etc/motd"},
              checks=CHECKS.defs))
'''

LAB = '''
name = "hello"
title = "Hello"
[settings]
greeting = "hi"
[[networks]]
name = "lan"
subnet = "10.77.0.0/24"
[[nodes]]
name = "node1"
addresses = { lan = "10.77.0.11" }
[[tasks]]
id = "motd"
title = "Write a message of the day"
[[checks]]
id = "motd"
task = "motd"
points = 10
'''

SOLUTION = "def solve(lab, progress):\n    lab.run('node1', 'echo {greeting} > /etc/motd')\n"

PROGRAM = """
import json
from graders.grade import evaluate
from halab.spec.kinds import get_kind, known_kinds
from halab.spec import load_spec
spec = load_spec("hello")
raw = {"nodes": {"node1": {"reachable": True, "error": "", "commands": {
    "motd": {"command": "cat /etc/motd", "exit": 0, "stdout": "hi\\n", "stderr": ""}}}}}
import importlib
print(json.dumps({"kinds": known_kinds(), "score": evaluate(spec, raw).score,
                  "solution": hasattr(importlib.import_module(get_kind("hello").solution), "solve")}))
"""

SHARED = ("halab", "graders", "solutions", "labs")


def _digests(tree: Path) -> dict[str, str]:
    return {str(p.relative_to(tree)): hashlib.sha256(p.read_bytes()).hexdigest()
            for top in SHARED for p in sorted((tree / top).rglob("*")) if p.is_file() and "__pycache__" not in p.parts}


def test_a_new_kind_is_only_its_own_files(tmp_path: Path) -> None:
    copy = tmp_path / "project"
    for top in SHARED:
        shutil.copytree(ROOT / top, copy / top, ignore=shutil.ignore_patterns("__pycache__"))
    before = _digests(copy)
    new_files = {"labs/hello.toml": LAB, "graders/hello/__init__.py": KIND_PACKAGE, "solutions/hello.py": SOLUTION}
    for name, text in new_files.items():
        (copy / name).parent.mkdir(parents=True, exist_ok=True)
        (copy / name).write_text(text)
    after = _digests(copy)
    assert {k: v for k, v in after.items() if before.get(k) != v}.keys() == set(new_files)  # nothing else changed
    result = subprocess.run([sys.executable, "-c", PROGRAM], cwd=copy, capture_output=True, text=True, check=False,
                            env={"PYTHONPATH": str(copy), "PATH": "/usr/bin:/bin"})
    assert result.returncode == 0, result.stderr
    outcome = json.loads(result.stdout)
    assert "hello" in outcome["kinds"] and outcome["score"] == 10 and outcome["solution"]
    fault = subprocess.run([sys.executable, "-m", "halab", "fault", "--help"], cwd=copy, capture_output=True,
                           text=True, check=False, env={"PYTHONPATH": str(copy), "PATH": "/usr/bin:/bin"})
    assert fault.returncode == 0, fault.stderr
