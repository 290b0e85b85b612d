"""Evidence: the raw facts and verdicts of a live check, saved so the lab can be graded again without it.

The file carries the lab's identity and a digest of its content. See README.md ("Evidence") for what the
digest protects against and what it does not.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

from graders.report import Report
from halab.lab import Lab

FORMAT = "halab-evidence/1"


def digest(payload: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()


def save_evidence(path: str | Path, lab: Lab, raw: dict[str, Any], report: Report) -> None:
    state = lab.state()
    payload = {"format": FORMAT, "lab": lab.name, "lab_instance": state.instance, "lab_created": state.created,
               "host_keys": {n.name: n.host_key for n in state.nodes}, "raw": raw, "report": report.to_dict()}
    document = {"payload": payload, "sha256": digest(payload)}
    target = Path(path)
    temporary = target.with_suffix(target.suffix + ".tmp")
    temporary.write_text(json.dumps(document, indent=1))
    os.replace(temporary, target)
