"""keepalived-config-valid with a track script run as a dedicated script_user: Debian 12's keepalived 2.2.7 kills
its own `keepalived -t` (exit 143, "Terminated"; fixed in 2.2.8) although the daemon loads the file. The grader's
command recognises that, tests the file again with script_user root and no `user` lines, and checks that the
users exist.
The command runs for real here, against a stand-in keepalived that behaves as 2.2.7 does."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from graders.collectors import keepalived_check
from graders.grade import evaluate
from halab.spec import load_spec
from halab.spec.kinds import get_kind
from tests.support.paths import FIXTURES

CONFIG = """global_defs {
    enable_script_security
    script_user keepalived_script
}
vrrp_script chk_haproxy {
    script "/usr/bin/killall -0 haproxy"
    user keepalived_script
}
vrrp_instance VI_1 {
    interface eth0
}
"""
# As keepalived 2.2.7: -t kills itself when the file names a script user (here: a vrrp_script's `user`, or a
# script_user other than root: the grader's retest sets script_user root and drops `user` lines); a file
# without one is judged by its content ("priorityy" is the typo that makes a file invalid here).
STAND_IN = """#!/bin/sh
file=/etc/keepalived/keepalived.conf
while [ $# -gt 0 ]; do [ "$1" = -f ] && file=$2; shift; done
named=$(grep -Ec "^[[:space:]]*(user|script_user)[[:space:]]" "$file")
root=$(grep -Ec "^[[:space:]]*script_user[[:space:]]+root$" "$file")
if [ "$named" -gt "$root" ]; then echo Terminated; exit 143; fi
if grep -q priorityy "$file"; then echo "($file: Line 3) Unknown keyword 'priorityy'"; exit 5; fi
exit 0
"""


def run_check(tmp_path: Path, config: str) -> tuple[str, int]:
    conf_dir = tmp_path / "keepalived"
    conf_dir.mkdir(exist_ok=True)
    (conf_dir / "keepalived.conf").write_text(config)
    defaults = tmp_path / "default-keepalived"
    defaults.write_text(f"DAEMON_ARGS='-f {conf_dir}/keepalived.conf'\n")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    (bin_dir / "keepalived").write_text(STAND_IN)
    (bin_dir / "keepalived").chmod(0o755)
    commands = get_kind("loadbalancing").commands_for(load_spec("loadbalancing").settings, "balancer")
    command = commands["keepalived_check"]
    command = command.replace("/etc/default/keepalived", str(defaults))
    result = subprocess.run(["sh", "-c", command], capture_output=True, text=True,
                            env={"PATH": f"{bin_dir}:/usr/bin:/bin"})
    assert not list(conf_dir.glob(".halab-config-test.*")), "the test copy is removed"
    return result.stdout + result.stderr, result.returncode


def test_the_script_user_bug_is_recognised_and_the_file_tested_another_way(tmp_path: Path) -> None:
    text, status = run_check(tmp_path, CONFIG.replace("keepalived_script", "root"))  # a user that exists here
    test = keepalived_check.parse(text, status)
    assert (test.valid, test.script_user_bug) == (True, True), text
    broken, status = run_check(tmp_path, CONFIG.replace("keepalived_script", "root").replace("interface", "priorityy"))
    test = keepalived_check.parse(broken, status)
    assert not test.valid and "Unknown keyword 'priorityy'" in test.first_problem()
    missing_user, status = run_check(tmp_path, CONFIG.replace("keepalived_script", "halab-no-such-user"))
    test = keepalived_check.parse(missing_user, status)
    assert not test.valid and "script user halab-no-such-user does not exist" in test.messages


@pytest.mark.parametrize(("valid", "feedback"), [(True, "a bug fixed in 2.2.8"), (False, "Unknown keyword")])
def test_the_check_passes_a_valid_file_with_a_script_user_and_says_how(tmp_path: Path, valid: bool,
                                                                      feedback: str) -> None:
    config = CONFIG.replace("keepalived_script", "root")
    text, status = run_check(tmp_path, config if valid else config.replace("interface", "priorityy"))
    raw = json.loads((FIXTURES / "loadbalancing/solved.json").read_text())
    for node in ("lb1", "lb2"):
        raw["nodes"][node]["commands"]["keepalived_check"].update(stdout=text, stderr="", exit=status)
    report = evaluate(load_spec("loadbalancing"), raw, unrun_faults_count=False)
    check = next(c for c in report.checks if c.id == "keepalived-config-valid")
    assert check.passed == valid and feedback in check.feedback
    # Before: the first test's "Terminated" was the verdict.
    assert keepalived_check.parse("Terminated\n", 143).valid is False
