"""`halab break` on real nodes (issue 24): every clustering scenario broken, graded, repaired by its documented
repair and graded again on one lab; the masking repairs must not pass; the first scenario goes through the
CLI, where neither `halab break` nor `halab check --json` may name it, and `halab solve` repairs it; at the end
one full check, fault checks included, whose failover carries its timeline into the report and the evidence.

One lab for all scenarios: the documented repair brings it back to solved, which the next scenario starts
from. About 6 minutes on a 2-core machine (see the report of the branch for the measured time).

The load-balancing lab's scenarios walk the same way (graders/loadbalancing/scenarios.py), then one full check
whose fault checks carry keepalived's and HAProxy's events: a long test (`pytest -m long`), 155 s here (2 cores,
nspawn; the six scenarios 107 s, the full check 36 s)."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest

from graders.clustering.scenarios import SCENARIOS
from graders.scenario import ROOT_CAUSE_ID
from halab.lab import Lab
from solutions import solve
from tests.integration.conftest import halab, leftovers, slow_misses
from tests.support.breakwalk import judge, walk

pytestmark = pytest.mark.integration
FIRST = "authkey-differs"  # through the CLI; the rest through the API, each a minute or less


def check_json(lab: str) -> tuple[int, str, dict[str, Any]]:
    result = halab("check", lab, "--json", "--no-faults", timeout=300)
    assert "Traceback" not in result.stderr, result.stderr
    return result.returncode, result.stdout, json.loads(result.stdout)


def timelines(lab: str, tmp_path: Path, timeout: float) -> dict[str, list[str]]:
    """A full `halab check` of the repaired lab (it is whole: fault checks included, but for a slow machine's
    time): each fault check's timeline as its events' words, after proving the evidence saved the same."""
    result = halab("check", lab, "--json", "--evidence", str(tmp_path / "evidence.json"), timeout=timeout)
    report = json.loads(result.stdout)
    slow_misses(report)
    saved = json.loads((tmp_path / "evidence.json").read_text())["payload"]["raw"]["faults"]
    told = {}
    for entry in (c for c in report["checks"] if c["fault"]):
        assert saved[entry["id"]]["timeline"] == entry["timeline"], entry["id"]
        told[entry["id"]] = [event["event"] for event in entry["timeline"]]
    return told


def test_every_scenario_breaks_and_its_documented_repair_mends_it(tmp_path: Path) -> None:
    started = time.monotonic()
    lab = Lab("clustering")
    lab.up()
    try:
        first = next(s for s in SCENARIOS if s.name == FIRST)
        broke = halab("break", "clustering", "--scenario", FIRST, timeout=600, check=True)
        assert "(seed " in broke.stdout + broke.stderr
        code, text, report = check_json("clustering")
        failed = {c["id"] for c in report["checks"] if not c["passed"]}
        assert code == 1 and set(first.expected_failures) | {ROOT_CAUSE_ID} <= failed, failed
        for secret in (first.name, first.summary):  # the student sees symptoms, never the diagnosis
            assert secret not in text and secret not in broke.stdout + broke.stderr
        halab("solve", "clustering", timeout=600, check=True)
        code, _, report = check_json("clustering")
        assert code == 0 and ROOT_CAUSE_ID not in {c["id"] for c in report["checks"]}, report
        print(f"\n{FIRST} through the CLI: {time.monotonic() - started:.0f} s since up")
        for scenario in (s for s in SCENARIOS if s.name != FIRST):
            began = time.monotonic()
            walk(lab, scenario, judge(scenario))
            print(f"{scenario.name}: {time.monotonic() - began:.0f} s")
        began = time.monotonic()
        told = timelines("clustering", tmp_path, 600)["failover"]
        assert told[0].startswith("fault injected: powering off"), told
        assert any("fenced" in line for line in told) and any(" started on " in line for line in told), told
        assert "client requests answered again" in told, told
        print(f"check with the failover and its timeline: {time.monotonic() - began:.0f} s")
    finally:
        lab.down()
    print(f"total: {time.monotonic() - started:.0f} s")
    assert leftovers("clustering") == []


@pytest.mark.long
def test_every_loadbalancing_scenario_breaks_and_its_documented_repair_mends_it(tmp_path: Path) -> None:
    started = time.monotonic()
    lab = Lab("loadbalancing")
    lab.up()
    try:
        solve(lab)
        print(f"\nsolved: {time.monotonic() - started:.0f} s since up")
        for scenario in lab.spec.kind_def.scenario_list():
            began = time.monotonic()
            walk(lab, scenario, judge(scenario))
            print(f"{scenario.name}: {time.monotonic() - began:.0f} s")
        began = time.monotonic()
        told = timelines("loadbalancing", tmp_path, 900)
        killed = told["haproxy-failure"]  # the second before the fault shows too (an earlier check's last events)
        injected = next(i for i, line in enumerate(killed) if line.startswith("fault injected: killing HAProxy on"))
        after = killed[injected:]
        assert any(": FAULT" in line for line in after) and any(": MASTER" in line for line in after), killed
        assert "client requests answered again" in after, killed
        assert any(line.startswith("HAProxy: server ") for line in told["web-server-failure"]), told
        print(f"check with the fault checks and their timelines: {time.monotonic() - began:.0f} s")
    finally:
        lab.down()
    print(f"total: {time.monotonic() - started:.0f} s")
    assert leftovers("loadbalancing") == []
