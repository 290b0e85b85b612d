"""scripts/install.sh removes the policy-rc.d it made however it ends (apt failing, a kill), and keeps one it
did not make.

The script's real install_debian_packages function runs (the script is sourced, so nothing else of it
runs) in a private mount namespace where /usr/sbin is an empty tmpfs: the policy file it writes lands
there, never on this machine. apt-get and dpkg-query are stand-ins on PATH that log what they are asked and
whether the policy is in place at that moment; "nothing is installed", so the function goes to apt.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

PROJECT = Path(__file__).resolve().parents[2]

FAKE_APT_GET = """#!/bin/sh
if [ -e /usr/sbin/policy-rc.d ]; then policy=present; else policy=absent; fi
echo "apt-get $1 (policy $policy)" >> "$FAKE_LOG"
[ "$1" = update ] && exit 0
if [ "$FAKE_MODE" = hang ]; then echo $$ > "$FAKE_LOG.pid"; exec sleep 30; fi
exit 100
"""

# In the namespace: an empty /usr/sbin, maybe an admin's own policy, then the function; then what is left.
NAMESPACE_SCRIPT = """set -e
mount -t tmpfs tmpfs /usr/sbin
if [ -n "$ADMIN_POLICY" ]; then printf 'admin policy' > /usr/sbin/policy-rc.d; fi
set +e
bash -c 'cd "$PROJECT" && source scripts/install.sh && install_debian_packages' &
installer=$!
if [ "$FAKE_MODE" = hang ]; then
  while [ ! -s "$FAKE_LOG.pid" ]; do sleep 0.05; done
  kill -TERM "$installer"
fi
wait "$installer"
echo "exit=$?"
if [ -s "$FAKE_LOG.pid" ]; then kill "$(cat "$FAKE_LOG.pid")" 2>/dev/null; fi
echo "left: $(ls -A /usr/sbin) $(cat /usr/sbin/policy-rc.d 2>/dev/null)"
"""


def _run(tmp_path: Path, mode: str = "fail", admin_policy: bool = False) -> tuple[str, str]:
    fakes = tmp_path / "bin"
    fakes.mkdir()
    (fakes / "apt-get").write_text(FAKE_APT_GET)
    (fakes / "dpkg-query").write_text("#!/bin/sh\nexit 1\n")  # nothing is installed
    for fake in fakes.iterdir():
        fake.chmod(0o755)
    log = tmp_path / "apt.log"
    env = {**os.environ, "PATH": f"{fakes}:{os.environ['PATH']}", "FAKE_LOG": str(log), "FAKE_MODE": mode,
           "PROJECT": str(PROJECT), "ADMIN_POLICY": "1" if admin_policy else ""}
    result = subprocess.run(["unshare", "--mount", "--propagation", "private", "bash", "-c", NAMESPACE_SCRIPT],
                            env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    return result.stdout, log.read_text() if log.exists() else ""


pytestmark = pytest.mark.skipif(os.geteuid() != 0 or not shutil.which("unshare"),
                                reason="needs root and unshare for a private mount namespace")


def test_a_failing_apt_leaves_no_policy(tmp_path: Path) -> None:
    out, log = _run(tmp_path)
    assert "apt-get install (policy present)" in log, "apt must run with daemons held back"
    assert "exit=100" in out
    assert "left:  \n" in out, f"policy-rc.d was left behind: {out}"


def test_a_killed_install_leaves_no_policy(tmp_path: Path) -> None:
    out, log = _run(tmp_path, mode="hang")
    assert "apt-get install (policy present)" in log
    assert "exit=143" in out  # 128 + SIGTERM
    assert "left:  \n" in out, f"policy-rc.d was left behind: {out}"


def test_an_admins_own_policy_is_kept(tmp_path: Path) -> None:
    out, log = _run(tmp_path, admin_policy=True)
    assert "apt-get install (policy present)" in log
    assert "left: policy-rc.d admin policy" in out
