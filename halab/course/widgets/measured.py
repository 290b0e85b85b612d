"""The times a student's own lab measured, next to reference figures: so that "I lowered the token" becomes
"my failover took 4.7 s; with the defaults it takes 9 s on this kind of machine"."""

from __future__ import annotations

from pathlib import Path

import ipywidgets as w

from graders.evidence import evidence_name, grade_evidence
from halab.course.widgets.common import message_html, table_html
from halab.errors import HalabError
from halab.spec import load_spec


def measured_vs_reference(lab: str, reference: dict[str, tuple[str, float, float | None]],
                          folder: Path | None = None) -> w.HTML:
    """``reference``: measurement -> (what it is, the reference solution's figure, the defaults' figure or None
    where the defaults make no difference), in seconds. The student's figures come from the lab's evidence
    file next to the notebook (the last lab check with its fault checks)."""
    path = (folder or Path.cwd()) / evidence_name(lab)
    try:
        graded = grade_evidence(path, load_spec(lab))
    except HalabError as exc:
        return w.HTML(message_html(f"Lab '{lab}' cannot be read: {exc}", "warn"))
    measured = graded.report.measurements if graded.problem is None else {}
    rows = []
    for key, (what, tuned, default) in reference.items():
        mine = measured.get(key)
        rows.append((what, f"{mine:g} s" if isinstance(mine, int | float) else "not measured yet",
                     f"{tuned:g} s", "the same" if default is None else f"{default:g} s"))
    parts = [table_html(["", "your lab", "tuned (reference solution)", "Corosync's defaults"], rows)]
    if graded.problem is not None:
        parts.append(message_html(f"No figures of your own lab yet: {graded.problem} Press the lab-check button "
                                  "at the end of this notebook (its fault checks measure these times).", "info"))
    return w.HTML("".join(parts))
