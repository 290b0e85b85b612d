"""`halab break LAB`: solve the lab, then break it in one of its kind's realistic ways (issue 24).

What broke is never printed: the student gets the seed (to quote to the instructor) and the symptoms. The
scenarios are the kind's (graders/<kind>/scenarios.py); the work is halab/breakfix/.
"""

from __future__ import annotations

import click

from halab.access import open_lab
from halab.command.terminal import console, lab_argument, progress_status


@click.command(name="break")
@lab_argument()
@click.option("--scenario", metavar="NAME", help="Break it this way (the instructor's choice; default: by the seed).")
@click.option("--seed", type=click.IntRange(0), help="Draw the scenario from this seed (default: your slot and the "
                                                      "assignment in a classroom, else random).")
@click.option("--assignment", metavar="NAME", help="The assignment the seed is drawn for (default: the lab).")
def break_(lab_name: str, scenario: str | None, seed: int | None, assignment: str | None) -> None:
    """Solve LAB, then break it: find what is wrong, repair it, and grade the repair with `halab check LAB`
    (`halab solve LAB` repairs it for you)."""
    with progress_status(f"breaking {lab_name}") as progress:
        chosen = open_lab(lab_name).break_lab(scenario, seed, assignment, progress)
    console.print(f"lab {lab_name} worked a moment ago; now something is wrong with it (seed {chosen}).\n"
                  f"Find the cause, repair it, and grade your repair with: halab check {lab_name}", markup=False,
                  soft_wrap=True)
