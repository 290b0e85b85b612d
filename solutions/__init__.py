"""Reference solutions: each lab's tasks done on live nodes, the way a student would, with standard tools.

CI uses them to prove the graders: a solved lab must score 100 %.
"""

from __future__ import annotations

import importlib

from halab.errors import HalabError
from halab.lab import Lab
from halab.types import Progress


def solve(lab: Lab, progress: Progress = lambda _m: None) -> None:
    """Solve the lab with its kind's solution (graders/<kind>/__init__.py names it: solutions/<kind>.py)."""
    kind = lab.spec.kind_def
    try:
        module = importlib.import_module(kind.solution)
    except ModuleNotFoundError as exc:
        if exc.name != kind.solution:
            raise
        raise HalabError(f"there is no solution for lab '{lab.name}' yet") from None
    module.solve(lab, progress)
