"""Resource-level fencing in the drbd lab, the pure side: what a node's DRBD configuration lacks for it
(DRBD 8.4 syntax: the policy in the disk section, as the lab's kernel module wants it), and the constraint
that crm-fence-peer.sh puts in the CIB (read by the fault check in faults.py)."""

from __future__ import annotations

from dataclasses import dataclass

from graders.collectors import cib as cib_xml
from graders.collectors import drbd_conf

FENCING_POLICIES = ("resource-only", "resource-and-stonith")  # both call fence-peer; the second also freezes I/O
FENCE_SCRIPT, UNFENCE_SCRIPT = "crm-fence-peer.sh", "crm-unfence-peer.sh"


def effective(root: drbd_conf.Block, resource: drbd_conf.Block, section: str, key: str) -> str | None:
    """An option as DRBD applies it to the resource: the resource's own section's, else the common section's
    (/etc/drbd.d/global_common.conf), which `drbdadm dump all` prints beside the resources."""
    for block in (resource, root.find("common")):
        found = block.find(section) if block is not None else None
        if found is not None and found.values.get(key):
            return " ".join(found.values[key])
    return None


def _script(command: str | None) -> str:
    """The script a handler runs: drbdadm finds a bare name in /lib/drbd, so only its base name matters."""
    return command.split()[0].rsplit("/", 1)[-1] if command and command.split() else ""


def configured_policy(root: drbd_conf.Block, resource: drbd_conf.Block) -> str | None:
    return effective(root, resource, "disk", "fencing")


def fencing_problems(root: drbd_conf.Block, resource: drbd_conf.Block) -> list[str]:
    """What keeps DRBD from fencing its peer's disk through Pacemaker, in one node's configuration."""
    problems = []
    policy = configured_policy(root, resource)
    if policy in (None, "dont-care"):
        problems.append("no fencing policy (DRBD then lets an outdated peer be promoted): disk { fencing "
                        "resource-only; }")
    elif policy not in FENCING_POLICIES:
        problems.append(f"fencing {policy}: the resource-level policies are {' and '.join(FENCING_POLICIES)}")
    fence, unfence = (effective(root, resource, "handlers", key) for key in ("fence-peer", "after-resync-target"))
    for handler, command, wanted in (("fence-peer", fence, FENCE_SCRIPT), ("after-resync-target", unfence,
                                                                          UNFENCE_SCRIPT)):
        script = _script(command)
        if script == wanted.replace(".sh", ".9.sh"):
            problems.append(f"{handler} runs {script}, which is for DRBD 9; this lab's kernel module is DRBD 8.4: "
                            f"use /usr/lib/drbd/{wanted}")
        elif command and script != wanted:
            problems.append(f"{handler} runs {command}, not /usr/lib/drbd/{wanted}")
        elif not command and handler == "fence-peer":
            problems.append(f"no fence-peer handler: the fencing policy calls it when the peer is lost; "
                            f"fence-peer \"/usr/lib/drbd/{FENCE_SCRIPT}\" places the Pacemaker constraint")
        elif not command:
            # (Not "8.4 never calls unfence-peer": the lab's DRBD 8.4.11 module was seen calling it, 2026-12-06.)
            problems.append(f"no after-resync-target handler (the DRBD 8.4 user's guide's way to lift the constraint): "
                            f"nothing lifts the constraint after the resync, "
                            f"so the peer could never be promoted again; after-resync-target "
                            f"\"/usr/lib/drbd/{UNFENCE_SCRIPT}\"")
    return problems


FENCE_ID_PREFIX = "drbd-fence-by-handler-"  # crm-fence-peer.sh's default --id-prefix
PROMOTED_ROLES = ("Promoted", "Master")


@dataclass(frozen=True)
class FenceConstraint:
    id: str
    clone: str
    allowed: tuple[str, ...]  # the nodes the rule still lets be promoted (by #uname); empty: another attribute


def fence_constraints(cib: cib_xml.Cib, resource: str) -> list[FenceConstraint]:
    """The constraints a fence-peer handler placed on the DRBD clone of ``resource``: a location rule that
    forbids the Promoted role (-INFINITY) on every node but the ones named."""
    clones = {p.clone for p in cib.by_agent("drbd") if p.clone and p.params.get("drbd_resource") == resource}
    found = []
    for constraint in cib.constraints:
        if (constraint.kind != "rsc_location" or not constraint.id.startswith(FENCE_ID_PREFIX)
                or constraint.attributes.get("rsc") not in clones):
            continue
        for rule in constraint.rules:
            if rule.role in PROMOTED_ROLES and rule.score == "-INFINITY":
                allowed = tuple(e.value for e in rule.expressions if e.attribute == "#uname" and e.operation == "ne")
                found.append(FenceConstraint(constraint.id, constraint.attributes["rsc"], allowed))
    return found
