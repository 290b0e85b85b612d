"""The virtualization lab end to end on real container hypervisors (libvirtd and QEMU inside, the guest under
TCG): fresh, solved by walking notebook 6's guided steps and by an independent solution (pcs, other names, TCP
migration), both fault checks, libvirtd stopped, and nothing left on the host after `down`."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from halab.lab import Lab
from tests.integration import virtualization_pcs
from tests.integration.conftest import halab
from tests.integration.walkthrough import notebook, walk

pytestmark = [pytest.mark.integration]
LAB = "virtualization"


def check(*args: str) -> tuple[int, dict[str, Any]]:
    result = halab("check", LAB, "--json", *args, timeout=600)
    return result.returncode, json.loads(result.stdout)


def by_id(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {c["id"]: c for c in report["checks"]}


def assert_full_score_with_faults(returncode: int, report: dict[str, Any]) -> None:
    assert returncode == 0, [c for c in report["checks"] if not c["passed"]]
    assert report["score"] == report["max_score"] == 100
    measured = report["measurements"]
    assert measured["migrated_to"] != measured["migrated_from"]
    assert measured["migration_downtime_seconds"] <= measured["migration_downtime_objective_s"]
    assert measured["failover_to"] != measured["failover_from"]
    assert measured["failover_seconds"] <= measured["rto_seconds"]


def test_notebook_walk_through_fresh_solved_faults_and_libvirtd_stopped(lab_up: Callable[[str], Lab]) -> None:
    lab = lab_up(LAB)
    _, fresh = check("--no-faults")
    assert fresh["score"] == 0
    assert walk(lab, notebook("06-virtualization")) == {"network", "vm", "cluster", "migration"}
    assert_full_score_with_faults(*check())
    # libvirtd (and its sockets, which would start it again) stopped on one hypervisor: failed checks that
    # say so, never a traceback.
    lab.run("hv2", "systemctl stop libvirtd.socket libvirtd-ro.socket libvirtd-admin.socket libvirtd.service")
    returncode, stopped = check("--no-faults")
    assert returncode != 0
    assert "libvirtd is not running on hv2" in by_id(stopped)["domain-disk"]["feedback"]
    assert all("grader could not evaluate" not in c["feedback"] for c in stopped["checks"])


def test_an_independent_solution_scores_full_marks(lab_up: Callable[[str], Lab]) -> None:
    lab = lab_up(LAB)
    virtualization_pcs.solve(lab)
    returncode, report = check()
    assert_full_score_with_faults(returncode, report)
    assert "tcp works both ways" in by_id(report)["migration-transport"]["feedback"]
