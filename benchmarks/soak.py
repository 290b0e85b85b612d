"""Soak and chaos runs of the clustering lab (nspawn), through the CLI a student uses:

- cycles: `halab up`, `halab check --no-faults` (a fresh lab: the report must come, with every node reached),
  `halab down`, and the census of what is left on the host (tests/support/census.py) after each;
- reboots: a solved lab, then `stonith_admin --reboot` in a row (node1 and node2 in turn, from the other):
  the node's power really cycles, nothing of the old container survives, and the cluster forms again;
- kills: `halab up` or `halab down` killed with SIGKILL at a random moment (within the time a whole one takes),
  then a normal `halab up` must work; after the `down` that follows, nothing may be left.

Run as root, no clustering lab up, under the global lock (in chunks if you like):
    flock /tmp/halab-labs.lock .venv/bin/python benchmarks/soak.py --cycles 50 --reboots 20 --kills 20 [--seed 1]
It prints one line per run and a summary: successes, failures (with what failed) and leftovers.
"""

from __future__ import annotations

import argparse
import json
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run as a script: the checkout's tests/ too

from halab.host import cgroups  # noqa: E402
from halab.lab import Lab  # noqa: E402
from halab.runtime.state import load_state  # noqa: E402
from solutions import solve
from solutions.clustering import cluster_formed
from solutions.common import wait_until
from tests.support.census import leftovers

LAB = "clustering"
HALAB = [sys.executable, "-m", "halab"]


@dataclass
class Phase:
    name: str
    runs: int = 0
    failures: list[str] = field(default_factory=list)
    left: Counter[str] = field(default_factory=Counter)
    seconds: list[float] = field(default_factory=list)

    def record(self, index: int, problems: list[str], found: list[str], seconds: float, what: str = "") -> None:
        self.runs += 1
        self.seconds.append(seconds)
        if problems or found:
            self.failures.append(f"#{index} ({what}): " + "; ".join(problems + ([f"left: {', '.join(found)}"]
                                                                                if found else [])))
        for item in found:
            self.left[item.split(" ", 1)[0]] += 1  # netns, link, mount, process, cgroup, state, address
        verdict = "ok" if not problems and not found else "FAILED"
        details = "; ".join(problems + [f"left: {', '.join(found)}"] if found else problems)
        print(f"{self.name} #{index}{' (' + what + ')' if what else ''}: {verdict} in {seconds:.1f} s"
              f"{': ' + details if details else ''}", flush=True)

    def summary(self) -> str:
        ok = self.runs - len(self.failures)  # a run that left something behind failed too
        mean = sum(self.seconds) / len(self.seconds) if self.seconds else 0
        left = ", ".join(f"{kind} x{count}" for kind, count in self.left.items()) or "nothing"
        return f"{self.name}: {ok}/{self.runs} ok (mean {mean:.1f} s per run); left on the host: {left}"


def cli(*args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*HALAB, *args], capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL)


def failed(what: str, result: subprocess.CompletedProcess[str]) -> str:
    lines = (result.stderr or result.stdout).strip().splitlines()
    return f"{what} exited {result.returncode}: {lines[-1][:200] if lines else 'no output'}"


def check_reaches_every_node() -> list[str]:
    result = cli("check", LAB, "--no-faults", "--json")
    if result.returncode not in (0, 1) or "Traceback" in result.stderr:
        return [failed("check", result)]
    try:
        report = json.loads(result.stdout)
    except ValueError:
        return [f"check printed no JSON report: {result.stdout[:200]!r}"]
    return [f"check: {c['id']}: {c['feedback'][:160]}" for c in report["checks"] if "unreachable" in c["feedback"]]


def cycles(count: int, phase: Phase) -> None:
    for index in range(1, count + 1):
        started = time.monotonic()
        problems = []
        up = cli("up", LAB)
        if up.returncode != 0:
            problems.append(failed("up", up))
        else:
            problems += check_reaches_every_node()
        down = cli("down", LAB)
        if down.returncode != 0:
            problems.append(failed("down", down))
        phase.record(index, problems, leftovers(LAB), time.monotonic() - started)


def reboot_once(lab: Lab, target: str) -> list[str]:
    fencer = next(n for n in lab.spec.member_names if n != target)
    pid_before = load_state(LAB).provider_data["pids"][target]
    old = cgroups.node_pids(LAB, target)
    wait_until(f"{fencer}'s fencer to know the fence device",
               lambda: "fence-lab" in lab.run(fencer, "stonith_admin --list-registered").stdout, timeout=90)
    result = lab.run(fencer, f"stonith_admin --reboot {target}", timeout=120)
    problems = [] if result.ok else [f"stonith_admin --reboot {target} exited {result.exit_status}: "
                                     f"{(result.stderr or result.stdout).strip()[-200:]}"]
    if load_state(LAB).provider_data["pids"][target] == pid_before:
        problems.append(f"{target} was not power-cycled")
    survivors = old & cgroups.node_pids(LAB, target)
    if survivors:
        problems.append(f"{len(survivors)} processes of {target}'s old container survived the reboot")
    try:
        wait_until("both nodes back in the cluster", lambda: cluster_formed(lab, 2), timeout=180)
    except Exception as exc:  # noqa: BLE001 - a failed run is reported, the soak goes on
        problems.append(str(exc)[:200])
    return problems


def reboots(count: int, phase: Phase) -> None:
    lab = Lab(LAB)
    up = cli("up", LAB)
    if up.returncode != 0:
        phase.record(0, [failed("up", up)], leftovers(LAB), 0)
        return
    try:
        solve(lab)
        for index in range(1, count + 1):
            started = time.monotonic()
            lab.drop_connection("node1")
            lab.drop_connection("node2")
            target = ("node2", "node1")[index % 2 == 0]
            phase.record(index, reboot_once(lab, target), [], time.monotonic() - started, f"reboot {target}")
    finally:
        lab.close()
        down = cli("down", LAB)
        found = leftovers(LAB)
        if down.returncode != 0 or found:
            phase.record(count + 1, [failed("down", down)] if down.returncode else [], found, 0)


def killed(command: str, after: float) -> int:
    """Run `halab COMMAND clustering` and SIGKILL it after ``after`` seconds; its exit code (-9 if killed)."""
    process = subprocess.Popen([*HALAB, command, LAB], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                               stdin=subprocess.DEVNULL)
    try:
        return process.wait(timeout=after)
    except subprocess.TimeoutExpired:
        process.send_signal(signal.SIGKILL)
        return process.wait(timeout=60)


def timed(action: Callable[[], subprocess.CompletedProcess[str]]) -> float:
    started = time.monotonic()
    result = action()
    if result.returncode != 0:
        raise SystemExit(failed("a normal run before the kills", result))
    return time.monotonic() - started


def kills(count: int, phase: Phase, rng: random.Random) -> None:
    # How long a whole up and down take here: the kill comes at a random moment within that.
    up_seconds = timed(lambda: cli("up", LAB))
    down_seconds = timed(lambda: cli("down", LAB))
    for index in range(1, count + 1):
        started = time.monotonic()
        command = rng.choice(["up", "down"])
        problems = []
        if command == "down":
            prepared = cli("up", LAB)
            if prepared.returncode != 0:
                problems.append(failed("up before the killed down", prepared))
        after = rng.uniform(0, up_seconds if command == "up" else down_seconds)
        code = killed(command, after)
        again = cli("up", LAB)
        if again.returncode != 0:
            problems.append(failed(f"up after {command} was killed at {after:.2f} s", again))
        else:
            problems += check_reaches_every_node()
        down = cli("down", LAB)
        if down.returncode != 0:
            problems.append(failed("down", down))
        label = f"{command} killed at {after:.2f} s" if code == -signal.SIGKILL else f"{command} done before the kill"
        phase.record(index, problems, leftovers(LAB), time.monotonic() - started, label)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cycles", type=int, default=50)
    parser.add_argument("--reboots", type=int, default=20)
    parser.add_argument("--kills", type=int, default=20)
    parser.add_argument("--seed", type=int, default=None, help="the kills' random moments (printed if not given)")
    args = parser.parse_args()
    if Lab(LAB).is_up():
        raise SystemExit(f"lab {LAB} is up: the soak brings up its own (take it down first if it is yours)")
    seed = args.seed if args.seed is not None else random.randrange(1 << 30)
    print(f"soak of lab {LAB}: {args.cycles} cycles, {args.reboots} reboots, {args.kills} kills (seed {seed})")
    phases = []
    for name, count, run in (("cycle", args.cycles, cycles), ("reboot", args.reboots, reboots),
                             ("kill", args.kills, lambda n, p: kills(n, p, random.Random(seed)))):
        if count:
            phase = Phase(name)
            phases.append(phase)
            run(count, phase)
    print("\n".join(["summary:", *(phase.summary() for phase in phases)]))
    for phase in phases:
        for failure in phase.failures:
            print(f"  {phase.name} {failure}")


if __name__ == "__main__":
    main()
