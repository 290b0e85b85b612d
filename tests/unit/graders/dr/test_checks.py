"""The dr lab's pure checks on facts recorded from real nodes (tests/fixtures/dr): a solved lab passes every
one, a fresh lab fails every one with an explanation, and each broken variant is caught by its own check with
feedback that names the mistake."""

from __future__ import annotations

import json

import pytest

from graders.grade import evaluate
from graders.report import Report
from halab.spec import load_spec
from tests.support.paths import FIXTURES as ALL_FIXTURES

FIXTURES = ALL_FIXTURES / "dr"


def report(scenario: str) -> Report:
    return evaluate(load_spec("dr"), json.loads((FIXTURES / f"{scenario}.json").read_text()),
                    unrun_faults_count=False)


def failed(scenario: str) -> dict[str, str]:
    return {c.id: c.feedback for c in report(scenario).checks if not c.passed}


def test_the_solved_lab_passes_every_check() -> None:
    assert failed("solved") == {}


def test_a_fresh_lab_fails_every_check_and_says_why() -> None:
    checks = report("fresh").checks
    assert checks and not any(c.passed for c in checks)
    assert all(c.feedback and c.hint for c in checks)


@pytest.mark.parametrize(("scenario", "check", "words"), [
    ("sync-wan", "async-wan", "synchronously across the WAN"),
    ("arbitrator-missing", "arbitrator", "booth does not answer"),
    ("freeze-no-scores", "rsc-ticket", "loss-policy=freeze"),
    ("freeze-no-scores", "promotion-scores", "would not promote"),
    ("both-promoted", "one-primary", "both sites run a primary"),
    ("both-promoted", "rsc-ticket", "no rsc_ticket"),
])
def test_each_broken_variant_is_caught_by_its_own_check(scenario: str, check: str, words: str) -> None:
    problems = failed(scenario)
    assert words in problems.get(check, ""), problems


def _with_booth_conf(edit: str) -> dict[str, object]:
    raw = json.loads((FIXTURES / "solved.json").read_text())
    for commands in (node["commands"] for node in raw["nodes"].values()):
        if "booth_conf" in commands:
            commands["booth_conf"]["stdout"] = commands["booth_conf"]["stdout"].replace("    expire = 30\n", edit)
    return raw


@pytest.mark.parametrize(("ticket_section", "words"), [
    ("    expire = 30\n", "no acquire-after: the other site may be granted the ticket"),  # as recorded
    ("    expire = 30\n    acquire-after = 0\n", "no acquire-after"),
    ("    expire = 30\n    acquire-after = 5\n", "waits acquire-after = 5 s more"),
])
def test_ticket_expiry_says_whether_the_handover_waits_for_the_lost_site(ticket_section: str, words: str) -> None:
    """acquire-after is a note on a passing check (the handover race is the wan-cut check's to catch), with the
    solved lab's booth.conf as recorded (before the reference solution had acquire-after) and edited."""
    raw = _with_booth_conf(ticket_section)
    assert json.dumps(ticket_section)[1:-1] in json.dumps(raw)  # the edit took
    check = next(c for c in evaluate(load_spec("dr"), raw, unrun_faults_count=False).checks if c.id == "ticket-expiry")
    assert check.passed and words in check.feedback, check.feedback


def test_a_broken_variant_fails_little_else() -> None:
    """A mistake is named where it is, not smeared over unrelated checks."""
    assert set(failed("sync-wan")) == {"async-wan"}
    assert set(failed("arbitrator-missing")) <= {"arbitrator", "ticket-expiry", "ticket-granted"}


def _with_pg_enabled(stdout: str) -> dict[str, object]:
    raw = json.loads((FIXTURES / "solved.json").read_text())
    for node in ("a1", "a2", "b1", "b2"):
        raw["nodes"][node]["commands"]["pg_enabled"]["stdout"] = stdout
    return raw


def test_postgresql_enabled_at_boot_is_caught_and_the_hint_says_how_to_tell() -> None:
    """Debian's generator shows the cluster enabled-runtime (tied to postgresql.service, which the lab's image
    disables): that passes; a unit enabled for good fails, and the hint names the command that tells them apart
    and the one that undoes it."""
    spec = load_spec("dr")
    as_shipped = evaluate(spec, _with_pg_enabled("disabled\nenabled-runtime\n"), unrun_faults_count=False)
    assert next(c for c in as_shipped.checks if c.id == "postgresql-by-pacemaker").passed
    enabled = evaluate(spec, _with_pg_enabled("enabled\nenabled-runtime\n"), unrun_faults_count=False)
    check = next(c for c in enabled.checks if c.id == "postgresql-by-pacemaker")
    assert not check.passed and "starts PostgreSQL at boot on a1" in check.feedback
    assert "systemctl is-enabled postgresql postgresql@15-main" in check.hint
    assert "enabled-runtime" in check.hint and "systemctl disable postgresql postgresql@15-main" in check.hint


def test_the_client_writes_hint_names_the_database_and_user_not_a_dict() -> None:
    check = next(c for c in report("fresh").checks if c.id == "client-writes")
    assert "host halab halab <the WAN's subnet> scram-sha-256" in check.hint, check.hint
    assert "{" not in check.hint
