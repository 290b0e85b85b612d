"""The pure grading core needs no lab: grading recorded facts or an evidence file imports no SSH, provider,
lab runtime or terminal-output code (nbgrader's autograder runs it on machines with no lab)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from halab.spec import available_labs
from tests.support.paths import FIXTURES, REPO

RUNTIME = ("paramiko", "halab.lab", "halab.providers", "halab.fence", "halab.runtime.ssh", "graders.live",
           "graders.collect", "graders.faults", "rich", "libvirt", "graders.virtualization.collect",
           "graders.virtualization.faults", "graders.virtualization.setup")

PROGRAM = """
import json, sys
from pathlib import Path
from graders.evidence import FORMAT, digest, grade_evidence
from graders.grade import evaluate
from halab.spec import load_spec

lab, fixture, folder = sys.argv[1], sys.argv[2], Path(sys.argv[3])
raw = json.loads(Path(fixture).read_text())
spec = load_spec(lab)
report = evaluate(spec, raw)
payload = {"format": FORMAT, "lab": lab, "lab_instance": "i", "lab_created": "c", "host_keys": {},
           "raw": raw, "report": report.to_dict()}
path = folder / "evidence.json"
path.write_text(json.dumps({"payload": payload, "sha256": digest(payload)}))
graded = grade_evidence(path, spec)
assert graded.problem is None, graded.problem
print(json.dumps({"score": graded.report.score, "modules": sorted(sys.modules)}))
"""


@pytest.mark.parametrize(("lab", "fixture"), [("clustering", "clustering/solved.json"), ("drbd", "drbd/solved.json"),
                                              ("loadbalancing", "loadbalancing/solved.json"),
                                              ("virtualization", "virtualization/solved.json")])
def test_grading_evidence_imports_no_lab_runtime(lab: str, fixture: str, tmp_path: Path) -> None:
    result = subprocess.run([sys.executable, "-c", PROGRAM, lab, str(FIXTURES / fixture), str(tmp_path)],
                            capture_output=True, text=True, cwd=REPO, check=False)
    assert result.returncode == 0, result.stderr
    outcome = json.loads(result.stdout)
    assert outcome["score"] > 0  # it really graded something
    loaded = [m for m in outcome["modules"] if any(m == name or m.startswith(name + ".") for name in RUNTIME)]
    assert loaded == []


def test_every_lab_spec_loads_through_its_kind() -> None:
    # Loading every spec validates its kind's settings, tasks and checks (halab/spec/loader.py asks the registry).
    from halab.spec import load_spec

    assert {load_spec(lab).kind for lab in available_labs()} >= {"clustering", "drbd", "loadbalancing",
                                                                 "virtualization"}
