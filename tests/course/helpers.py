"""Paths the course tests share."""

from __future__ import annotations

import json
import os
import re
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
CHROMIUM = Path("/usr/bin/chromium")  # Debian's, driven by Playwright (no browser download)
# Flags that work as root on a machine without internet; background networking would otherwise flood the
# log with refused connections. A fresh profile directory comes from launch_persistent_context.
CHROMIUM_FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip


class FabricatedLab:
    """Stands in for halab.lab.Lab when writing evidence without a live lab. FABRICATED identity: the raw
    facts written with it come from tests/fixtures (recorded on real nodes), the lab instance does not."""

    def __init__(self, name: str = "clustering", instance: str = "fabricated-instance-0001") -> None:
        from halab.runtime.state import LabState, NodeInfo

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


# Where the clustering lab's recorded facts hold its cluster name (corosync.conf, cmapctl, the CIB).
CLUSTER_NAME = re.compile(r'(cluster_name: |cluster_name \(str\) = |name="cluster-name" value=")halab\b')


def recorded_raw_in_slot(scenario: str, slot: int, cluster_slot: int | None = None,
                         failover_passed: bool | None = None) -> dict[str, Any]:
    """recorded_raw() as a lab in a user's slot shows it, moved the way halab/spec/instances.py moves a lab: every
    10.42.x.y address into 10.(42+slot), the cluster name with -u<slot> appended (that of `cluster_slot`, as
    in a copied corosync.conf and CIB, when given). DERIVED from the recording, not recorded in a slot."""
    from halab.spec.instances import move_address

    def moved(value: Any) -> Any:
        if isinstance(value, str):
            value = re.sub(r"10\.42\.\d+\.\d+", lambda m: move_address(m.group(0), slot), value)
            return CLUSTER_NAME.sub(lambda m: f"{m.group(1)}halab-u{cluster_slot or slot}", value)
        if isinstance(value, list):
            return [moved(v) for v in value]
        if isinstance(value, dict):
            return {k: moved(v) for k, v in value.items()}
        return value

    return moved(recorded_raw(scenario, failover_passed))
