"""Resource-level fencing in the drbd lab: the configuration check accepts every configuration that works with
the lab's DRBD 8.4 module and explains the ones that do not; the fence-peer handler's constraint is read from
the CIB. On output recorded from the lab's VMs (tests/fixtures/drbd, tests/fixtures/scenarios_drbd.py):
solved.json has resource fencing configured, fenced.json has the Secondary's replication link cut and the
constraint crm-fence-peer.sh placed. Variants of the configuration are edits of the recorded `drbdadm dump all`
in the form drbdadm prints them (tried on the lab's nodes; a bare script name works too: drbdadm looks in
/lib/drbd)."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from graders.collectors import cib
from graders.drbd.fencing import fence_constraints
from tests.unit.graders.drbd.test_checks import feedback, grade, out, raw, with_config

CHECK = "drbd-resource-fencing"
SOLVED = out("solved", "drbd_dump")
FENCING = "    disk {\n        fencing          resource-only;\n    }\n"
FENCE = "fence-peer       /usr/lib/drbd/crm-fence-peer.sh;"
UNFENCE = "after-resync-target /usr/lib/drbd/crm-unfence-peer.sh;"


def verdict(dump: str) -> tuple[bool, str]:
    report = grade("", with_config(dump))
    check = next(c for c in report.checks if c.id == CHECK)
    return check.passed, check.feedback


def test_the_solution_passes_and_says_what_it_found() -> None:
    assert FENCING in SOLVED and FENCE in SOLVED and UNFENCE in SOLVED  # the recorded dump is what we edit
    passed, message = verdict(SOLVED)
    assert passed and "resource-only" in message and "crm-unfence-peer.sh" in message


@pytest.mark.parametrize("dump", [
    # the policy in the common section (global_common.conf), not in the resource
    SOLVED.replace(FENCING, "").replace("common {\n}", "common {\n" + FENCING + "}"),
    # handlers by bare name (drbdadm finds them in /lib/drbd), with options, and in the common section
    SOLVED.replace("/usr/lib/drbd/crm-fence-peer.sh", "crm-fence-peer.sh"),
    SOLVED.replace("/usr/lib/drbd/crm-fence-peer.sh;", '"/lib/drbd/crm-fence-peer.sh --timeout=60";'),
    SOLVED.replace(f"        {FENCE}\n        {UNFENCE}\n", "").replace(
        "common {\n}", f"common {{\n    handlers {{\n        {FENCE}\n        {UNFENCE}\n    }}\n}}"),
    # the stricter policy, which also freezes I/O until the handler returns
    SOLVED.replace("resource-only", "resource-and-stonith"),
], ids=["common-policy", "bare-name", "options", "common-handlers", "and-stonith"])
def test_any_working_configuration_passes(dump: str) -> None:
    passed, message = verdict(dump)
    assert passed, message


@pytest.mark.parametrize(("dump", "explained"), [
    (SOLVED.replace(FENCING, ""), "no fencing policy"),
    (SOLVED.replace("resource-only", "dont-care"), "no fencing policy"),
    (SOLVED.replace("resource-only", "resource-ony"), "fencing resource-ony"),
    (SOLVED.replace(FENCE, ""), "no fence-peer handler"),
    (SOLVED.replace("crm-fence-peer.sh", "crm-fence-peer.9.sh"), "for DRBD 9"),
    (SOLVED.replace("crm-fence-peer.sh", "stonith_admin-fence-peer.sh"), "not /usr/lib/drbd/crm-fence-peer.sh"),
    (SOLVED.replace(UNFENCE, ""), "nothing lifts the constraint"),
    (SOLVED.replace(UNFENCE, "unfence-peer     /usr/lib/drbd/crm-unfence-peer.9.sh;"), "no after-resync-target"),
], ids=["none", "dont-care", "typo", "no-handler", "drbd9-script", "other-script", "no-unfence", "drbd9-unfence"])
def test_what_does_not_work_is_explained(dump: str, explained: str) -> None:
    passed, message = verdict(dump)
    assert not passed and explained in message and "on every node" in message


def test_one_node_without_fencing_is_named() -> None:
    data = copy.deepcopy(raw("solved"))
    data["nodes"]["node2"]["commands"]["drbd_dump"]["stdout"] = SOLVED.replace(FENCING, "")
    message = feedback(grade("", data), CHECK)
    assert message.startswith("node2: no fencing policy") and "node1" not in message


def test_a_configuration_drbdadm_rejects_gets_its_error() -> None:
    data: dict[str, Any] = copy.deepcopy(raw("solved"))
    data["nodes"]["node1"]["commands"]["drbd_dump"].update(  # DRBD 9's place for fencing, on the 8.4 module
        exit=10, stdout="", stderr="/etc/drbd.d/r0.res:8: Parse error: 'an option keyword' expected,\n\tbut got "
                                   "'fencing'\n")
    assert "but got 'fencing'" in feedback(grade("", data), CHECK)


def test_the_handlers_constraint_is_read_from_the_cib() -> None:
    primary = next(n for n in ("node1", "node2") if "ro:Primary" in out("fenced", "proc_drbd", n))
    (constraint,) = fence_constraints(cib.parse(out("fenced", "cib", primary)), "r0")
    assert constraint.id == "drbd-fence-by-handler-r0-drbd-r0-clone" and constraint.clone == "drbd-r0-clone"
    assert constraint.allowed == (primary,)
    assert fence_constraints(cib.parse(out("solved", "cib")), "r0") == []
    assert fence_constraints(cib.parse(out("fenced", "cib", primary)), "r1") == []  # another resource's clone


# `drbdadm -c FILE dump all` on the lab's node1 of a configuration with everything in the common section.
ALL_IN_COMMON = """common {
    disk {
        fencing          resource-and-stonith;
    }
    handlers {
        fence-peer       "/lib/drbd/crm-fence-peer.sh --timeout=60";
        after-resync-target crm-unfence-peer.sh;
    }
}

resource r0 {
    on node1 {
        device           /dev/drbd0 minor 0;
        disk             /dev/vdb;
        meta-disk        internal;
        address          ipv4 10.42.21.11:7789;
    }
    on node2 {
        device           /dev/drbd0 minor 0;
        disk             /dev/vdb;
        meta-disk        internal;
        address          ipv4 10.42.21.12:7789;
    }
}
"""


def test_everything_in_the_common_section_counts() -> None:
    passed, message = verdict(ALL_IN_COMMON)
    assert passed and "resource-and-stonith" in message, message
