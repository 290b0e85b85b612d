"""Paths the course tests share."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[2]
COURSE_DIR = REPO_ROOT / "course"
NOTEBOOKS = sorted((COURSE_DIR / "source").glob("*/*.ipynb"))
ARTIFACTS = REPO_ROOT / "test-artifacts"


def shared_dir() -> Path:
    """The shared reference folder: $HALAB_SHARED_DIR, else ../shared beside the repository (as in CI)."""
    return Path(os.environ.get("HALAB_SHARED_DIR", REPO_ROOT.parent / "shared"))


FIXTURES = REPO_ROOT / "tests" / "fixtures"


class FabricatedLab:
    """Stands in for halab.lab.Lab when writing evidence without a live lab. FABRICATED identity: the raw
    facts written with it come from tests/fixtures (recorded on real nodes), the lab instance does not."""

    def __init__(self, name: str = "clustering", instance: str = "fabricated-instance-0001") -> None:
        from halab.state import LabState, NodeInfo

        self.name = name
        nodes = [NodeInfo(n, f"10.0.0.{i}", 22, "root", "/nonexistent", f"ssh-ed25519 FABRICATED{i}")
                 for i, n in enumerate(("node1", "node2"), 1)]
        self._state = LabState(name, "nspawn", "/nonexistent", phase="up", instance=instance, nodes=nodes)

    def state(self) -> Any:
        return self._state


def recorded_raw(scenario: str, failover_passed: bool | None = None) -> dict[str, Any]:
    """Raw facts recorded on real nodes. The fixtures were recorded without fault checks; failover_passed adds
    a FABRICATED fault-check outcome, as grade_live would record it."""
    raw = json.loads((FIXTURES / "clustering" / f"{scenario}.json").read_text())
    if failover_passed is not None:
        raw["faults"] = {"failover": {"passed": failover_passed, "hint": "", "measurements": {"failover_seconds": 7.1},
                                      "feedback": "fabricated for a test: the page answered from node2 after 7.1 s"}}
    return raw


def write_evidence(folder: Path, raw: dict[str, Any], lab: str = "clustering", **identity: str) -> Path:
    """Evidence as the lab-check cell saves it (graders.evidence.save_evidence), from recorded facts; always
    under the name the clustering notebook reads, whatever lab it claims to be from."""
    from graders.evidence import evidence_name, save_evidence
    from graders.grade import evaluate
    from halab.spec import load_spec

    fake = FabricatedLab(lab, **identity)
    path = folder / evidence_name("clustering")
    save_evidence(path, fake, raw, evaluate(load_spec(fake.name), raw))  # type: ignore[arg-type]
    return path
