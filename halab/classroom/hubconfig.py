"""JupyterHub's configuration for a classroom: hub/jupyterhub_config.py calls configure(c, root).

- Log in: JupyterHub's PAMAuthenticator, with the students' and the instructor's Unix passwords; only the
  class may log in (allowed_users), the instructor is the hub's admin. PAM because it is JupyterHub's own
  default and the accounts exist anyway: no second password store, and PAM's account checks (a locked or
  expired account is refused) apply.
- Servers: LocalProcessSpawner, each JupyterLab a process of its user (uid, groups, home), never root. A
  student's serves their workspace with the student tools (halab/course/jupyter/student: no Create
  Assignment, no formgrader); the instructor's serves the course folder with nbgrader's formgrader.
- Their environment: this Python's bin/ first on PATH (`halab` in the terminals), the lab service's socket,
  the exchange, and the HALAB_* and PYTHONPATH settings the hub was started with (hub/runtime.json); nothing
  else of root's (JupyterHub passes no other variable on).
- A service token for `halab classroom status` (read the users and their servers, nothing more).
"""

from __future__ import annotations

import json
import os
import secrets
from pathlib import Path
from typing import Any

from halab import paths
from halab.classroom.model import Classroom, load_classroom
from halab.errors import HalabError

STATUS_SERVICE = "halab-classroom-status"
CONFIG = '''"""JupyterHub for the halab classroom in {root} (written by `halab classroom init`; started by
`halab classroom start`). The settings are made by halab.classroom.hubconfig.configure."""

from pathlib import Path

from halab.classroom.hubconfig import configure

configure(c, Path({root!r}))  # noqa: F821 - c is given by JupyterHub when it loads this file
'''
PASSED_ON = ("PYTHONPATH", "LANG", "HALAB_STATE_DIR", "HALAB_LABS_DIR", "HALAB_CACHE_DIR", "HALAB_COURSE_DIR")
JUPYTER_CONFIGS = Path(__file__).resolve().parents[1] / "course" / "jupyter"
START_TIMEOUT_S = 120  # a first JupyterLab start imports a lot; two cores, several students at once


def proxy_command() -> Path:
    """configurable-http-proxy, installed from npm under the checkout by scripts/install.sh (npm ci)."""
    return paths.PROJECT_ROOT / "node_modules" / ".bin" / "configurable-http-proxy"


def token_file(classroom: Classroom) -> Path:
    return classroom.hub / "status-token"


def runtime_file(classroom: Classroom) -> Path:
    return classroom.hub / "runtime.json"


def write_hub_files(classroom: Classroom) -> None:
    """The config file and the status service's token (root's, 0600)."""
    (classroom.hub / "jupyterhub_config.py").write_text(CONFIG.format(root=str(classroom.root)))
    descriptor = os.open(token_file(classroom), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as handle:
        handle.write(secrets.token_hex(32))


def read_runtime(classroom: Classroom) -> dict[str, Any]:
    try:
        return json.loads(runtime_file(classroom).read_text())
    except (OSError, ValueError):
        return {}


def configure(c: Any, root: Path) -> None:
    """Set the hub's traits on its config object ``c`` (see the module docstring)."""
    classroom = load_classroom(root)
    run = read_runtime(classroom)
    if not run:
        raise HalabError(f"{runtime_file(classroom)} is missing: start the hub with `halab classroom start`")
    hub = classroom.hub
    c.JupyterHub.bind_url = f"{'https' if run.get('ssl_cert') else 'http'}://{run['ip']}:{run['port']}/"
    c.JupyterHub.hub_bind_url = f"http://127.0.0.1:{run['hub_port']}"
    if run.get("ssl_cert"):
        c.JupyterHub.ssl_cert, c.JupyterHub.ssl_key = run["ssl_cert"], run["ssl_key"]
    c.JupyterHub.db_url = f"sqlite:///{hub / 'jupyterhub.sqlite'}"
    c.JupyterHub.cookie_secret_file = str(hub / "jupyterhub_cookie_secret")
    c.JupyterHub.pid_file = str(hub / "jupyterhub.pid")
    c.ConfigurableHTTPProxy.command = [str(proxy_command())]
    c.ConfigurableHTTPProxy.api_url = f"http://127.0.0.1:{run['api_port']}"
    c.ConfigurableHTTPProxy.pid_file = str(hub / "proxy.pid")
    c.JupyterHub.cleanup_servers = True  # `halab classroom stop` stops every JupyterLab with the hub

    c.JupyterHub.authenticator_class = "pam"
    c.PAMAuthenticator.open_sessions = False  # no PAM session per server: nothing here needs one
    c.Authenticator.allowed_users = {s.user for s in classroom.students} | {classroom.instructor}
    c.Authenticator.admin_users = {classroom.instructor}

    c.JupyterHub.spawner_class = "jupyterhub.spawner.LocalProcessSpawner"
    c.Spawner.cmd = [run["python"], "-m", "jupyterhub.singleuser"]
    c.Spawner.default_url = "/lab"
    c.Spawner.start_timeout = START_TIMEOUT_S
    c.Spawner.http_timeout = START_TIMEOUT_S
    c.Spawner.environment = dict(run["environment"])
    c.Spawner.pre_spawn_hook = lambda spawner: prepare_spawn(classroom, spawner)

    c.JupyterHub.services = [{"name": STATUS_SERVICE, "api_token": token_file(classroom).read_text().strip()}]
    c.JupyterHub.load_roles = [{"name": STATUS_SERVICE, "scopes": ["list:users", "read:users", "read:servers"],
                                "services": [STATUS_SERVICE]}]


def prepare_spawn(classroom: Classroom, spawner: Any) -> None:
    """Where a user's JupyterLab starts and what it shows: the instructor's course with formgrader, or the
    student's workspace with the student tools."""
    name = spawner.user.name
    if name == classroom.instructor:
        spawner.notebook_dir = str(classroom.course)
        spawner.environment = {**spawner.environment, "HALAB_COURSE_DIR": str(classroom.course),
                               "JUPYTER_CONFIG_PATH": str(JUPYTER_CONFIGS / "instructor")}
        return
    student = classroom.student(name)
    if student is None:  # allowed_users keeps others out; a student removed since the hub started
        raise HalabError(f"{name} is not a student of this class")
    spawner.notebook_dir = str(student.workspace)
    spawner.environment = {**spawner.environment, "JUPYTER_CONFIG_PATH": str(JUPYTER_CONFIGS / "student")}


def spawn_environment(python: str, service_socket: Path, classroom: Classroom) -> dict[str, str]:
    """What every user's JupyterLab gets (see the module docstring)."""
    bin_dir = str(Path(python).parent)
    env = {"PATH": f"{bin_dir}:/usr/local/bin:/usr/bin:/bin", "HALAB_SERVICE_SOCKET": str(service_socket),
           "HALAB_EXCHANGE_DIR": str(classroom.exchange)}
    env.update({key: os.environ[key] for key in PASSED_ON if key in os.environ})
    return env
