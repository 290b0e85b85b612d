"""How long `halab break` takes per scenario, once the lab is solved: the scenario's steps over SSH plus its
settle time, then until the broken lab shows its symptoms (every expected check failing); and how long the
documented repair takes until the lab is whole again.

    sudo HALAB_STATE_DIR=... .venv/bin/python benchmarks/break.py [--lab LAB | LAB] [SCENARIO ...]

Brings the lab (default: clustering; any lab whose kind has scenarios, e.g. infrastructure, dr,
loadbalancing, virtualization or drbd: a VM slot, `labslot --vm LAB`; drbd's VMs need `halab libvirtd start`) up,
solves it once
(timed too: `halab break` solves first), walks every scenario (tests/support/breakwalk.py, without the masking
repairs) and takes the lab down. Run it under labslot.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from graders.scenario import seed_for  # noqa: E402
from halab import breakfix  # noqa: E402
from halab.lab import Lab  # noqa: E402
from solutions import solve  # noqa: E402
from tests.support.breakwalk import VM_PROVIDERS, failing, lab_and_names, settled  # noqa: E402


def main(args: list[str]) -> None:
    lab_name, names = lab_and_names(args)
    lab = Lab(lab_name)
    lab.up()
    try:
        began = time.monotonic()
        solve(lab)
        print(f"solve (what halab break does first): {time.monotonic() - began:.1f} s", flush=True)
        print(f"{'scenario':<26} {'break':>7} {'symptoms':>9} {'repair':>8}")
        scenarios = breakfix.scenarios(lab)
        slow = 2.5 if lab.state().provider in VM_PROVIDERS else 1.0  # VMs under TCG settle in minutes, not seconds
        for scenario in scenarios:
            if names and scenario.name not in names:
                continue
            began = time.monotonic()
            breakfix.break_lab(lab, seed_for(scenarios, breakfix.lab_key(lab), scenario.name, 0), solve_first=False)
            broke = time.monotonic() - began
            expected = set(scenario.expected_failures) | {"root-cause"}
            _, report = settled(lab, lambda r, e=expected: e <= failing(r), 120 * slow)  # type: ignore[misc]
            shown = time.monotonic() - began
            began = time.monotonic()
            breakfix.run_steps(lab, scenario.repairs(lab.spec), "repairing")
            _, report = settled(lab, lambda r: not failing(r), 180 * slow)
            breakfix.forget(lab)
            whole = "" if not failing(report) else f"  (still failing: {', '.join(sorted(failing(report)))})"
            print(f"{scenario.name:<26} {broke:>6.1f}s {shown:>8.1f}s {time.monotonic() - began:>7.1f}s{whole}",
                  flush=True)
    finally:
        lab.down()


if __name__ == "__main__":
    main(sys.argv[1:])
