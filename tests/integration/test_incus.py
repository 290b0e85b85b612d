"""Lab nodes on a three-member Incus cluster (provider ``incus``), made on this host the way Incus' own test suite
makes one (halab/providers/incus/localcluster.py): two users' clustering labs placed on different members,
solved and fully checked (fault check included); the engine itself refuses what the users' projects do not
allow; a member is lost and the lab on another member stays healthy while fencing a node of the lost member
fails honestly; then everything is taken down and nothing is left, in the engine or on the host. The first
user's lab is brought up the way a class's are: a real user's `halab up clustering` through the lab service,
whose service.toml says ``provider = "incus"``; the second through the Python API, as root.

Needs scripts/install-incus.sh. Run it under `/work/bin/labslot --all` (it loads the machine).
"""

from __future__ import annotations

import json
import os
import shutil
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from halab.fence import daemon as fence
from halab.lab import Lab
from halab.providers.incus.api import EngineError
from halab.providers.incus.localcluster import LocalCluster
from halab.providers.incus.provider import IncusProvider, instance_name
from halab.runtime.slots import assign_slot
from halab.runtime.state import lab_dir
from halab.spec.instances import Owner
from solutions import solve
from tests.integration.conftest import check_json, slow_misses
from tests.support.census import incus_leftovers
from tests.support.incus import local_cluster
from tests.support.users import User, lab_service, made_users

pytestmark = [pytest.mark.integration,
              pytest.mark.skipif(shutil.which("incus") is None, reason="needs Incus: bash scripts/install-incus.sh")]
ANN_SLOT = 1  # a real user, whose lab comes through the lab service
BOB = Owner(60002, "bob", 2)  # a lab made through the Python API, as root
QUOTAS = "provider = \"incus\"\n[defaults]\nlabs = 1\nnodes = 2\n"  # nodes: the engine's limit too


@pytest.fixture(scope="module")
def cluster() -> Iterator[LocalCluster]:
    with local_cluster(".incus-test") as local:
        yield local


@pytest.fixture(scope="module")
def ann(cluster: LocalCluster) -> Iterator[User]:
    """A real user of the lab service (started with the cluster's config in its environment), in slot 1."""
    with lab_service(QUOTAS) as socket, made_users(1, socket) as (user,):
        os.environ["HALAB_SERVICE_CONFIG"] = str(socket.parent / "service.toml")  # the provider's limits here too
        assign_slot(user.uid, user.name, ANN_SLOT)
        yield user


@pytest.fixture(scope="module")
def labs(cluster: LocalCluster, ann: User) -> Iterator[list[Lab]]:
    made = [Lab("clustering", Owner(ann.uid, ann.name, ANN_SLOT)), Lab("clustering", BOB)]
    client = IncusProvider().client
    try:
        # One after the other: the engine's scheduler then sees the first lab's nodes. No --provider: the
        # service's default (service.toml) must put the lab on incus, as it would for a class.
        brought = ann.halab("up", "clustering")
        assert brought.returncode == 0, brought.stderr[-2000:]
        made[1].up(provider="incus")
        yield made
    finally:
        for member in cluster.members:  # a member lost by a failed test comes back for the teardown
            cluster.restore(member)
        for lab in made:
            lab.down()
            assert incus_leftovers(lab.name, client) == [], f"{lab.name} left things behind"


def _member(lab: Lab) -> str:
    return str(lab.state().provider_data["member"])


def test_labs_of_two_users_land_on_different_members(labs: list[Lab]) -> None:
    members = [_member(lab) for lab in labs]
    assert members[0] != members[1], members
    # The lab service's user asked for no provider: service.toml's `provider = "incus"` chose it.
    assert [lab.state().provider for lab in labs] == ["incus", "incus"]
    client = IncusProvider().client
    for lab, slot in zip(labs, (ANN_SLOT, BOB.slot), strict=True):
        assert lab.name == f"u{slot}-clustering"
        for node in lab.nodes:
            info = client.get(f"/1.0/instances/{instance_name(lab.name, node.name)}", project=f"halab-u{slot}")
            assert info["location"] == _member(lab) and info["status"] == "Running"
            assert info["config"]["security.idmap.isolated"] == "true" and "security.privileged" not in info["config"]
        assert lab.run("node1", "systemctl is-system-running --wait", timeout=120).stdout.strip() == "running"


def test_both_labs_solved_and_fully_checked(labs: list[Lab]) -> None:
    with ThreadPoolExecutor(len(labs)) as pool:
        list(pool.map(solve, labs))
        results = list(pool.map(lambda lab: check_json(lab.name), labs))
    for code, report in results:
        slow = slow_misses(report)
        assert code == (1 if slow else 0)
        assert report["max_score"] == 120 and report["score"] == 120 - sum(slow.values())
        measured = report["measurements"]
        assert (measured["rto_applies_to"], measured["rto_seconds"]) == ("incus (nspawn)", 30)


def test_the_engine_refuses_what_a_users_project_does_not_allow(labs: list[Lab]) -> None:
    """Not halab's checks: the engine's own, on requests sent to it directly in the user's project."""
    client, project = IncusProvider().client, "halab-u1"
    limits = client.get(f"/1.0/projects/{project}")["config"]
    assert (limits["limits.containers"], limits["limits.memory"], limits["restricted"]) == ("2", "2048MiB", "true")
    image = client.get("/1.0/images/aliases?recursion=1")[0]["name"]
    extra = {"name": "extra", "type": "container", "source": {"type": "image", "alias": image}, "profiles": [],
             "devices": {"root": {"type": "disk", "path": "/", "pool": "halab"}},
             "config": {"limits.memory": "256MiB", "limits.processes": "100", "limits.cpu": "1"}}
    node = f"/1.0/instances/{instance_name(labs[0].name, 'node1')}"
    refusals = {  # what is asked -> a word the engine's refusal must contain
        "a third container (over limits.containers)": (("POST", "/1.0/instances", extra), "container"),
        "a node with more memory than the project has": (("PATCH", node, {"config": {"limits.memory": "4GiB"}}),
                                                         "memory"),
        "a privileged node": (("PATCH", node, {"config": {"security.privileged": "true"}}), "privileged"),
        "a node with nesting": (("PATCH", node, {"config": {"security.nesting": "true"}}), "nesting"),
        "a host device": (("PATCH", node, {"devices": {"kmsg": {"type": "unix-char", "path": "/dev/kmsg"}}}),
                          "unix character"),
    }
    for what, ((method, path, body), word) in refusals.items():
        with pytest.raises(EngineError) as refused:
            client.request(method, path, project=project, body=body)
        print(f"refused, {what}: {refused.value}")
        assert word in str(refused.value).lower(), (what, str(refused.value))
    config = client.get(node, project=project)["config"]
    assert "security.privileged" not in config and config["limits.memory"] == "1024MiB"
    assert not [i for i in client.get("/1.0/instances", project=project) if i.endswith("/extra")]


def _fence(lab: Lab, action: str, plug: str) -> tuple[int, dict[str, Any]]:
    """A request to the lab's power switch, as fence_halab sends it."""
    address = str(lab.spec.management_network.host_address)
    request = urllib.request.Request(f"http://{address}:{fence.PORT}/", method="POST",
                                     data=json.dumps({"action": action, "plug": plug}).encode(),
                                     headers={"Authorization": "Bearer " + fence.password_file(lab.name).read_text()})
    try:
        with urllib.request.urlopen(request, timeout=200) as answer:
            return answer.status, json.loads(answer.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


@pytest.mark.long  # README, 'Long test runs': a member's loss and what the labs on it do (about a minute)
def test_losing_a_member(cluster: LocalCluster, labs: list[Lab]) -> None:
    kept, lost = labs
    member = next(m for m in cluster.members if m.name == _member(lost))
    assert _member(kept) != member.name
    started = time.monotonic()
    cluster.lose(member)
    try:
        # Fencing a node of the lost member: an error, never "off" for a node nobody can reach.
        for action in ("status", "off"):
            code, answer = _fence(lost, action, "node2")
            print(f"fence {action} node2 on the lost member: HTTP {code} {answer} ({time.monotonic() - started:.1f} s)")
            assert code != 200 and "error" in answer and answer.get("status") != "off"
        assert (lab_dir(lost.name) / "fence.log").exists()
        # The lab on another member does not notice.
        code, report = check_json(kept.name, "--no-faults")
        assert code == 0, [c for c in report["checks"] if not c["passed"]]
        status = Lab(lost.name).status()
        assert all(node["running"] is None and "unknown" in node["problem"] for node in status["nodes"])
    finally:
        cluster.restore(member)
