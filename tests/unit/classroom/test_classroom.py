"""The classroom's pure parts: the roster file (every bad line named), the record, which accounts may take part,
and JupyterHub's configuration as `halab classroom start` gives it (loaded as JupyterHub loads its config file,
into a traitlets Config). The classroom with real accounts and a real hub: tests/integration/test_classroom.py."""

from __future__ import annotations

import json
import os
from pathlib import Path
from types import SimpleNamespace

import pytest
from traitlets.config import Config
from traitlets.config.loader import PyFileConfigLoader

from halab.classroom import accounts, hubconfig
from halab.classroom.model import Classroom, Student, load_classroom
from halab.classroom.roster import parse_roster
from halab.errors import HalabError

ROSTER = "user,first_name,last_name,email\nann,Ann,Archer,ann@example.org\n\nben,Ben,,\n"


def test_a_roster_gives_its_students_in_order() -> None:
    entries = parse_roster(ROSTER, "r.csv")
    assert [(e.user, e.line, e.first_name, e.email) for e in entries] == [("ann", 2, "Ann", "ann@example.org"),
                                                                          ("ben", 4, "Ben", "")]
    assert parse_roster("User\ncid\n")[0].user == "cid"  # column names in any case


@pytest.mark.parametrize(("text", "message"), [
    ("user,first_name\nann,Ann\n,Ben\n", "r.csv line 3: no user name (the 'user' column is empty)"),
    ("first_name\nAnn\n", "r.csv line 1: the first line must name the columns, with 'user' among them"),
    ("user,age\nann,3\n", "r.csv line 1: unknown column 'age'"),
    ("user\nann\nann\n", "r.csv line 3: ann is already on line 2"),
    ("user\nAnn Archer\n", "r.csv line 2: 'Ann Archer' is not a user name this host takes"),
    ("user,first_name\nann,Ann,extra\n", "r.csv line 2: 3 fields, but the header names 2"),
    ("user,home\nann,home/ann\n", "r.csv line 2: the home 'home/ann' of ann must be an absolute path"),
    ("user\n", "r.csv has a header line but no students"),
    ("\n\n", "r.csv has no students in it"),
])  # fmt: skip
def test_every_bad_roster_line_is_named(text: str, message: str) -> None:
    with pytest.raises(HalabError) as raised:
        parse_roster(text, "r.csv")
    assert str(raised.value).startswith(message) and "\n" not in str(raised.value)


def test_only_ordinary_accounts_take_part(tmp_path: Path) -> None:
    for system in ("root", "nobody", "daemon"):
        with pytest.raises(HalabError, match="is a system account"):
            accounts.plan_account(system, f"/home/{system}", "student", "this classroom's accounts have")
    plan = accounts.plan_account("halab-no-such-user", str(tmp_path / "new"), "student", None)
    assert plan.uid is None and plan.home == str(tmp_path / "new")
    with pytest.raises(HalabError, match="has no account, but their home .* exists already"):
        accounts.plan_account("halab-no-such-user", str(tmp_path), "student", None)


def make_classroom(root: Path) -> Classroom:
    root.mkdir()
    classroom = Classroom(root, "halab", "teach", "/home", [Student("ann", 1001, 3, "/home/ann", "Ann"),
                                                            Student("ben", 1002, 4, "/home/ben")])
    classroom.hub.mkdir()
    hubconfig.write_hub_files(classroom)
    classroom.save()
    return classroom


def test_the_record_survives_a_round_trip_and_a_damaged_one_is_named(tmp_path: Path) -> None:
    classroom = make_classroom(tmp_path / "room")
    assert load_classroom(classroom.root) == classroom
    with pytest.raises(HalabError, match="there is no classroom in"):
        load_classroom(tmp_path / "elsewhere")
    classroom.record.write_text(json.dumps({"format": "halab-classroom/1", "students": [{"user": "x"}]}))
    with pytest.raises(HalabError, match="is damaged"):
        load_classroom(classroom.root)
    classroom.record.write_text("{")
    with pytest.raises(HalabError, match="cannot be read"):
        load_classroom(classroom.root)


def test_the_hub_is_configured_for_the_class(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    classroom = make_classroom(tmp_path / "room")
    assert os.stat(hubconfig.token_file(classroom)).st_mode & 0o777 == 0o600
    for key in hubconfig.PASSED_ON:
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("PYTHONPATH", "/somewhere")
    monkeypatch.setenv("HALAB_GRADE_LIVE", "1")  # not one of those passed on
    env = hubconfig.spawn_environment("/opt/venv/bin/python", Path("/run/s.sock"), classroom)
    run = {"ip": "0.0.0.0", "port": 8000, "hub_port": 18081, "api_port": 18082, "python": "/opt/venv/bin/python",
           "environment": env, "ssl_cert": "", "ssl_key": ""}
    hubconfig.runtime_file(classroom).write_text(json.dumps(run))
    config: Config = PyFileConfigLoader("jupyterhub_config.py", path=str(classroom.hub)).load_config()
    hub, spawner = config.JupyterHub, config.Spawner
    assert hub.bind_url == "http://0.0.0.0:8000/" and hub.hub_bind_url == "http://127.0.0.1:18081"
    assert hub.authenticator_class == "pam" and config.PAMAuthenticator.open_sessions is False
    assert config.Authenticator.allowed_users == {"ann", "ben", "teach"}
    assert config.Authenticator.admin_users == {"teach"}
    assert hub.spawner_class == "jupyterhub.spawner.LocalProcessSpawner"
    assert spawner.cmd == ["/opt/venv/bin/python", "-m", "jupyterhub.singleuser"]
    assert spawner.environment == {"PATH": "/opt/venv/bin:/usr/local/bin:/usr/bin:/bin", "PYTHONPATH": "/somewhere",
                                   "HALAB_SERVICE_SOCKET": "/run/s.sock", "HALAB_EXCHANGE_DIR": str(classroom.exchange)}
    assert config.ConfigurableHTTPProxy.command == [str(hubconfig.proxy_command())]
    assert hub.db_url == f"sqlite:///{classroom.hub / 'jupyterhub.sqlite'}"
    service = hub.services[0]
    assert service["api_token"] == hubconfig.token_file(classroom).read_text().strip()
    assert hub.load_roles[0]["scopes"] == ["list:users", "read:users", "read:servers"]

    def spawned(user: str) -> SimpleNamespace:
        server = SimpleNamespace(user=SimpleNamespace(name=user), environment=dict(env), notebook_dir="")
        spawner.pre_spawn_hook(server)
        return server

    ann, teach = spawned("ann"), spawned("teach")
    assert ann.notebook_dir == "/home/ann/halab-course"
    assert ann.environment["JUPYTER_CONFIG_PATH"].endswith("halab/course/jupyter/student")
    assert teach.notebook_dir == str(classroom.course)
    assert teach.environment["HALAB_COURSE_DIR"] == str(classroom.course)
    assert teach.environment["JUPYTER_CONFIG_PATH"].endswith("halab/course/jupyter/instructor")
    with pytest.raises(HalabError, match="not a student of this class"):
        spawned("mallory")


def test_the_hub_does_not_start_without_its_runtime(tmp_path: Path) -> None:
    classroom = make_classroom(tmp_path / "room")
    with pytest.raises(HalabError, match="start the hub with `halab classroom start`"):
        hubconfig.configure(Config(), classroom.root)
