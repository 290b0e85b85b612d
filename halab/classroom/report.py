"""`halab classroom status`: the class at a glance, as JSON-ready data: the hub, the lab service, and each
student's slot (with the values their labs get), JupyterLab server and labs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from halab.classroom import hub, hubconfig
from halab.classroom.model import Classroom
from halab.runtime.state import lab_states
from halab.service import daemon
from halab.spec import load_spec
from halab.spec.instances import move_address


def lab_values(slot: int) -> dict[str, str]:
    """What a student's clustering lab is given in their slot (halab/spec/instances.py), for the instructor."""
    spec = load_spec("clustering")
    return {"subnet": f"10.{42 + slot}.0.0/16", "cluster_name": f"{spec.settings['cluster_name']}-u{slot}",
            "floating_ip": move_address(str(spec.settings["floating_ip"]), slot)}


def server_state(user: dict[str, Any] | None) -> str:
    if user is None:
        return "unknown"
    server = (user.get("servers") or {}).get("")
    if not server:
        return "stopped"
    return "running" if server.get("ready") else "starting" if server.get("pending") == "spawn" else "stopping"


def status(classroom: Classroom) -> dict[str, Any]:
    run = hubconfig.read_runtime(classroom)
    pid = hub.hub_pid(classroom)
    users = hub.hub_users(classroom) if pid else None
    readable, _damaged = lab_states()
    labs: dict[int, list[dict[str, Any]]] = {}
    for state in readable.values():
        if state.owner:
            labs.setdefault(int(state.owner.get("uid", -1)), []).append(
                {"lab": Path(state.spec_path).stem, "instance": state.lab, "phase": state.phase})
    students = []
    for student in classroom.students:
        known = users.get(student.user) if users is not None else None
        students.append({"user": student.user, "uid": student.uid, "slot": student.slot,
                         "name": f"{student.first_name} {student.last_name}".strip(), "email": student.email,
                         "workspace": str(student.workspace), "values": lab_values(student.slot),
                         "server": server_state(known) if users is not None else "unknown",
                         "labs": sorted(labs.get(student.uid, []), key=lambda lab: lab["lab"])})
    instructor = users.get(classroom.instructor) if users is not None else None
    return {"classroom": str(classroom.root), "course_id": classroom.course_id, "course": str(classroom.course),
            "exchange": str(classroom.exchange), "instructor": classroom.instructor,
            "instructor_server": server_state(instructor) if users is not None else "unknown",
            "hub": {"running": pid is not None, "pid": pid, "url": f"{hub.local_url(run)}/" if pid else None,
                    "log": str(hub.log_path(classroom))},
            "lab_service": {"running": daemon.running()}, "students": students}
