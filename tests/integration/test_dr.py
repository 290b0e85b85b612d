"""The dr lab on real nodes, the part CI runs (7.5 minutes here): one lab, fresh (low), solved by walking notebook
08's guided steps, with the site loss measured (RTO, RPO) and the site's return, three broken variants at once
each caught by its own check, and the second, independent solution (pcs) at full marks on the pure checks, on
the same lab made afresh.

The full fault sequence of both solutions (planned switch, WAN cut, site loss, site return) and the variant
that needs a site rebuilt (two primaries) are the long run, tests/integration/test_dr_long.py (`-m long`);
the broken variants are also caught on recorded facts (tests/unit/graders/dr/test_checks.py)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from graders.dr.live import everyone_streams, primaries
from graders.dr.sites import sites
from graders.live import grade_live
from halab.lab import Lab
from solutions.common import must, wait_until
from tests.integration.alternatives_dr import dr_with_pcs
from tests.integration.conftest import check_json, running_lab, slow_misses
from tests.integration.walkthrough import notebook, walk

pytestmark = pytest.mark.integration
LAB = "dr"
# Fault checks whose verdict is a time against the lab's objective (README, "Tests").
TIMED = {"site-loss": ("rto_seconds", "rto_objective_seconds")}


@pytest.fixture(scope="module")
def lab() -> Iterator[Lab]:
    with running_lab(LAB) as up:
        yield up


def failed(report: dict[str, Any]) -> dict[str, str]:
    return {c["id"]: c["feedback"] for c in report["checks"] if not c["passed"]}


def test_fresh_lab_scores_low_with_explanations(lab: Lab) -> None:
    code, report = check_json(LAB, "--no-faults")
    assert code == 1 and report["percent"] < 10, report["percent"]
    assert all(c["feedback"] and c["hint"] for c in report["checks"] if not c["passed"])


def test_the_notebooks_guided_steps_reach_full_marks_with_a_site_loss_measured(lab: Lab) -> None:
    """The lab solved the way a student following notebook 08 solves it (its guided cells, in order, in this
    lab's values); then every pure check, and the site loss with the site's return: the fault checks that
    measure what DR is for (the planned switch and the WAN cut run in the long run)."""
    tasks = walk(lab, notebook("08-disaster-recovery"))
    assert tasks == {t.id for t in lab.spec.tasks} - {"proof"}  # proof: the graders' own fault checks
    report, _ = grade_live(lab, faults=("site-loss", "site-return"), progress=print)
    assert {c.id for c in report.checks if c.fault} == {"site-loss", "site-return"}
    slow_misses(report.to_dict(), TIMED)
    measured = report.measurements
    assert measured["rto_seconds"] is not None and measured["rpo_commits"] is not None
    assert measured["commits_before_loss"] > 0 and measured["objectives_apply_to"] == "nspawn"
    print(f"site loss: RTO {measured['rto_seconds']} s, RPO {measured['rpo_seconds']} s "
          f"({measured['rpo_commits']} of {measured['commits_before_loss']} commits)")
    assert everyone_streams(lab)  # the failback put the lab back: site A the primary, every other node streaming


def test_broken_variants_are_caught_by_their_own_checks(lab: Lab) -> None:
    """Three mistakes at once, each for another check, none of which needs a site rebuilt afterwards:
    synchronous replication across the WAN, the arbitrator gone, loss-policy=freeze."""
    site_a = sites(lab.spec)[0]
    primary = primaries(lab)[0]
    psql = "runuser -u postgres -- psql -X -c"
    must(lab, primary, f"{psql} \"ALTER SYSTEM SET synchronous_standby_names = 'b1'\" -c 'select pg_reload_conf()'")
    must(lab, "arbitrator", "systemctl disable --now booth-arbitrator")
    constraint = "rsc_ticket db-needs-ticket ticket-db: pgsql-ha:Promoted loss-policy="
    must(lab, site_a.nodes[0], f"crm configure delete db-needs-ticket && crm configure {constraint}freeze")
    try:
        _, report = check_json(LAB, "--no-faults")
        problems = failed(report)
        assert "synchronously across the WAN" in problems["async-wan"], problems
        assert "booth does not answer" in problems["arbitrator"], problems
        assert "loss-policy=freeze" in problems["rsc-ticket"], problems
        assert set(problems) <= {"async-wan", "arbitrator", "rsc-ticket", "ticket-granted"}, problems
    finally:
        must(lab, primary, f"{psql} 'ALTER SYSTEM RESET synchronous_standby_names' -c 'select pg_reload_conf()'")
        must(lab, "arbitrator", "systemctl enable --now booth-arbitrator")
        must(lab, site_a.nodes[0], f"crm configure delete db-needs-ticket && crm configure {constraint}demote")
    code, report = check_json(LAB, "--no-faults")
    assert code == 0, failed(report)


@pytest.mark.long  # README, 'Long test runs': the pcs solution on a fresh lab (3.7 min; the notebook's in CI)
def test_a_second_independent_solution_passes_every_pure_check(lab: Lab) -> None:
    """pcs instead of crmsh, other names, another expiry, synchronous inside each site, Pacemaker's default
    loss-policy (tests/integration/alternatives_dr.py), on the lab made afresh; its fault checks are in the
    long run."""
    lab.down()
    lab.up()
    dr_with_pcs(lab)
    wait_until("every node to stream from site A", lambda: everyone_streams(lab), timeout=60, interval=2)
    code, report = check_json(LAB, "--no-faults")
    assert code == 0 and report["percent"] == 100, failed(report)
