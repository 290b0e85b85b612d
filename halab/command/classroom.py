"""`halab classroom init|add-students|start|stop|status`: a class on one server, on JupyterHub (root only; see
halab/classroom/ and README, "Classroom")."""

from __future__ import annotations

import json
from pathlib import Path

import click
from rich.table import Table

from halab.classroom import hub
from halab.classroom.model import load_classroom
from halab.classroom.report import status as report
from halab.classroom.roster import USER_NAME, read_roster
from halab.classroom.setup import add_students as add
from halab.classroom.setup import init as make
from halab.command.terminal import console
from halab.course.workspace import COURSE_ID
from halab.errors import HalabError
from halab.lab import require_root


def _say(line: str) -> None:
    console.print(line, highlight=False, markup=False, soft_wrap=True)


@click.group()
@click.option("--dir", "root", type=click.Path(file_okay=False, path_type=Path), envvar="HALAB_CLASSROOM_DIR",
              default="/srv/halab/classroom", show_default=True, help="The classroom's folder ($HALAB_CLASSROOM_DIR).")
@click.pass_context
def classroom(ctx: click.Context, root: Path) -> None:
    """A class on this server: JupyterHub, a JupyterLab and labs per student, nbgrader's exchange."""
    ctx.obj = root


@classroom.command()
@click.option("--instructor", required=True, help="The instructor's Unix account (made if missing).")
@click.option("--home-base", default="/home", show_default=True, help="Where the accounts halab makes have their home.")
@click.pass_obj
def init(root: Path, instructor: str, home_base: str) -> None:
    """Make the classroom: the instructor's course (a copy of course/), the exchange and the hub's config."""
    require_root()
    if not USER_NAME.fullmatch(instructor):
        raise HalabError(f"{instructor!r} is not a user name this host takes")
    for line in make(root, instructor, COURSE_ID, home_base, _say):
        _say(line)


@classroom.command("add-students")
@click.argument("roster", type=click.Path(dir_okay=False, path_type=Path))
@click.pass_obj
def add_students(root: Path, roster: Path) -> None:
    """Add the students of ROSTER (CSV: user[,first_name,last_name,email,home]): accounts as needed, each with
    their workspace and a lab slot of their own. Students in the class already are left as they are."""
    require_root()
    entries = read_roster(roster)
    for line in add(load_classroom(root), entries, _say):
        _say(line)
    _say("Students added while the hub runs can log in after `halab classroom stop` and `start`.")


@classroom.command()
@click.option("--port", type=int, default=8000, show_default=True, help="Port of the hub (students open it).")
@click.option("--ip", default="0.0.0.0", show_default=True, help="Address to listen on (0.0.0.0: all).")
@click.option("--ssl-cert", type=click.Path(dir_okay=False, exists=True), default=None, help="TLS certificate.")
@click.option("--ssl-key", type=click.Path(dir_okay=False, exists=True), default=None, help="TLS key.")
@click.pass_obj
def start(root: Path, port: int, ip: str, ssl_cert: str | None, ssl_key: str | None) -> None:
    """Start JupyterHub (with its proxy) and the lab service; returns when the hub answers."""
    require_root()
    if bool(ssl_cert) != bool(ssl_key):
        raise click.UsageError("--ssl-cert and --ssl-key go together")
    classroom_ = load_classroom(root)
    with console.status("Starting JupyterHub..."):
        lines = hub.start(classroom_, ip, port, (str(Path(ssl_cert).resolve()), str(Path(ssl_key).resolve()))
                          if ssl_cert and ssl_key else None)
    for line in lines:
        _say(line)


@classroom.command()
@click.pass_obj
def stop(root: Path) -> None:
    """Stop JupyterHub, every user's JupyterLab, and the lab service if `start` started it."""
    require_root()
    for line in hub.stop(load_classroom(root)):
        _say(line)


@classroom.command()
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.pass_obj
def status(root: Path, as_json: bool) -> None:
    """The students, their slots, servers running and labs up."""
    require_root()
    info = report(load_classroom(root))
    if as_json:
        click.echo(json.dumps(info, indent=2))
        return
    hub_line = f"runs at {info['hub']['url']}" if info["hub"]["running"] else "is not running"
    _say(f"Classroom {info['classroom']}: course {info['course_id']}, instructor {info['instructor']} (server "
         f"{info['instructor_server']}); the hub {hub_line}; the lab service "
         f"{'runs' if info['lab_service']['running'] else 'is not running'}.")
    table = Table(title=f"{len(info['students'])} students", title_justify="left")
    for column in ("student", "slot", "cluster name", "floating IP", "server", "labs"):
        table.add_column(column)
    for s in info["students"]:
        labs = ", ".join(f"{lab['lab']} ({lab['phase']})" for lab in s["labs"]) or "-"
        table.add_row(s["user"], str(s["slot"]), s["values"]["cluster_name"], s["values"]["floating_ip"], s["server"],
                      labs)
    console.print(table)
