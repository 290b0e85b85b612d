"""One door to a lab for the CLI, the notebooks and the lab service, whoever is asking.

Root works on the host itself (``LocalAccess``, local.py: halab.lab, the graders, the solutions, as always).
Anyone else goes through the lab service (``ServiceAccess``, service.py): a root daemon that does the
same on the caller's own instance of the lab (halab/spec/instances.py), and hands the caller what it may use
itself, its lab's inventory and SSH key, so that shells and read-only commands run as the caller.

Both offer the same operations (base.py: LabAccess): up, down, status, nodes, run, check, fault, solve. The
service's wire (protocol.py) is here too: the daemon (halab/service/) stands on the doors, not the other way.
"""

from __future__ import annotations

import os

from halab.access import service
from halab.access.base import FAULT_OPTIONS, Checked, LabAccess, check_fault_options, is_root
from halab.access.local import LocalAccess
from halab.errors import HalabError
from halab.lab import running_labs
from halab.runtime.slots import slot_held
from halab.runtime.state import labs_with_state
from halab.spec import LabSpec, load_spec, load_spec_file

__all__ = ["FAULT_OPTIONS", "Checked", "LabAccess", "LocalAccess", "check_fault_options", "is_root",
           "lab_names", "open_lab", "own_slot", "own_spec"]


def open_lab(name: str) -> LabAccess:
    """The lab as the caller may use it: root's own lab, or the caller's instance through the lab service."""
    return LocalAccess(name) if is_root() else service.ServiceAccess(name)


def own_slot() -> int | None:
    """The caller's slot, so that a lab's values are theirs even before it is up: 0 for root; a user's from
    the lab service (which gives one on first use), else from the slot table; None if neither can say."""
    if is_root():
        return 0
    try:
        return int(service.request("whoami", None, {})["slot"])
    except (HalabError, KeyError, TypeError, ValueError):
        return slot_held(os.geteuid())


def own_spec(name: str) -> tuple[LabSpec, int | None]:
    """The lab's spec with the caller's own values (moved into their slot), and that slot (None: unknown, so
    the spec as written)."""
    base = load_spec(name)
    slot = own_slot()
    return (load_spec_file(base.path, slot) if slot else base), slot


def lab_names(up_only: bool = False) -> list[str]:
    """The caller's labs that have state (only those that are up, with ``up_only``), by the names the caller
    uses: root sees every lab on the host, users' instances included."""
    if is_root():
        return running_labs() if up_only else labs_with_state()
    return [lab["lab"] for lab in service.request("labs", None, {})["labs"] if not up_only or lab["phase"] == "up"]
