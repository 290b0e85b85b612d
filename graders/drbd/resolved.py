"""Whether the split brain `halab fault drbd split-brain` made is still there, for `halab fault drbd restore`
(Injection.remains): restore never resolves it (that is the lab's task), but it says so while it lasts, and
once the student resolved it marks the record resolved and stays silent. The record itself stays: the
`split-brain-resolved` check grades from it (which files each side wrote) at every later check; dropping it made
the next check after a fault check's restore say "no split brain has been induced yet" (a walk-through of
notebook 4 lost 10 points so). Live: asks the node's DRBD."""

from __future__ import annotations

from halab.errors import HalabError
from halab.lab import Lab
from halab.runtime.state import update_state

RECORD = "split_brain"  # where the fault keeps {"victim", "survivor", "markers"} in the lab's state


def split_brain_remains(lab: Lab, node: str) -> str | None:
    """A sentence while the split brain the node took part in lasts; None (and the record marked resolved) once
    every DRBD resource of the node is Connected again, or when the node had no part in one."""
    split = lab.state().provider_data.get(RECORD) or {}
    if node not in (split.get("victim"), split.get("survivor")) or split.get("resolved"):
        return None
    if replicating(lab, node):  # the student resolved it: nothing left to say (the check still grades it)
        update_state(lab.name, lambda saved: saved.provider_data.get(RECORD, {}).update(resolved=True))
        return None
    return (f"the split brain between {split['victim']} and {split['survivor']} stays: resolving it is your task "
            "(halab check shows when it is resolved)")


def replicating(lab: Lab, node: str) -> bool:
    """Whether every DRBD resource of the node is Connected again (a resolved split brain); False when the node
    cannot tell (off, still booting, DRBD down)."""
    try:
        result = lab.run(node, "drbdadm cstate all", timeout=20)
    except HalabError:
        return False
    states = result.stdout.split()
    return result.ok and bool(states) and all(state == "Connected" for state in states)
