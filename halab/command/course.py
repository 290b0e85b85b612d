"""`halab course`: start JupyterLab on the course notebooks and print the URL to open.

Students get their own copy of each assignment (made by nbgrader: no solutions, no hidden tests) in a
workspace folder that keeps their work; `--instructor` serves the course folder itself: the source notebooks
with solutions, and nbgrader's formgrader."""

from __future__ import annotations

import os
import secrets
import signal
import sys
from pathlib import Path
from typing import TextIO

import click
from rich.console import Console

from halab.course import launcher
from halab.course import workspace as student_copy
from halab.errors import HalabError


@click.command()
@click.option("--port", type=int, default=8888, show_default=True, help="Port to listen on; the next free one if busy.")
@click.option("--ip", default="127.0.0.1", show_default=True, help="Address to listen on (0.0.0.0: all).")
@click.option(
    "--browser/--no-browser",
    default=False,
    show_default=True,
    help="Open a web browser on this machine (off: lab hosts are usually headless).",
)
@click.option("--token-file", type=click.File("r"), default=None,
              help="A file holding the access token for the URL (default: a new random token). Never give a token "
                   "on the command line: every user of the machine sees it in `ps`.")
@click.option(
    "--course-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Course folder (default: the course/ folder of this halab).",
)
@click.option(
    "--workspace",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Your copy of the assignments (default: ~/halab-course, or $HALAB_WORKSPACE).",
)
@click.option("--instructor", is_flag=True, help="Serve the course folder: source notebooks with solutions.")
def course(port: int, ip: str, browser: bool, token_file: TextIO | None, course_dir: Path | None,
           workspace: Path | None, instructor: bool) -> None:
    """Start JupyterLab on the course, with terminals for `halab up`, `halab ssh` and `halab check`.

    Students work in their own copy of the assignments; made on the first start, it is never overwritten.
    Runs until you press Ctrl-C.
    """
    # Imported here so that `halab --help` stays fast.
    console = Console()
    token = token_file.read().strip() if token_file else os.environ.get("HALAB_COURSE_TOKEN", "")
    if token_file and not token:
        raise click.UsageError("the token file is empty: an empty token lets anyone on the network in")
    opts = launcher.LaunchOptions(port=port, ip=ip, open_browser=browser, token=token or secrets.token_hex(24))
    if course_dir is not None:
        opts.course_dir = course_dir
    if os.geteuid() == 0:
        console.print("[yellow]JupyterLab runs as root here (you are root): its terminals are root shells on this "
                      "host, for whoever has the URL. That is fine on a machine of your own; on a shared one, "
                      "start the lab service (halab service start) and let each user run halab course as "
                      "themselves (README, \"Shared machines\").[/yellow]", highlight=False)
    if instructor and workspace is not None:
        raise click.UsageError("--instructor serves the course folder, not a workspace: use one or the other")
    try:
        opts.course_dir = launcher.check_course_dir(opts.course_dir)
        student_copy.ensure_exchange()
        if not instructor:
            opts.root_dir = (workspace or student_copy.default_workspace()).resolve()
            opts.first_notebook = launcher.FIRST_ASSIGNMENT
            with console.status(f"Making your copy of the assignments in {opts.root_dir} (first start only)..."):
                added = student_copy.prepare(opts.course_dir, opts.root_dir)
            if added:
                console.print(f"New in your workspace {opts.root_dir}: {', '.join(added)}", highlight=False)
        with console.status("Starting JupyterLab..."):
            running = launcher.start(opts)
    except HalabError as exc:
        raise click.ClickException(str(exc)) from None
    if running.port != port:
        console.print(f"[yellow]Port {port} is busy; using {running.port}.[/yellow]")
    console.rule("halab course")
    console.print("[bold]Open the course in a web browser:[/bold]")
    # A plain print: rich would wrap or crop the long URL, and scripts (and tests) read this line.
    print(f"URL: {running.url}", flush=True)
    console.print(
        "In JupyterLab, File > New > Terminal gives you a shell for `halab up clustering`, "
        "`halab ssh node1` and `halab check clustering`.\nPress Ctrl-C here to stop JupyterLab.",
        highlight=False,
    )
    # `kill` or a closing terminal must stop JupyterLab too, not leave it running without us.
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(0))
    try:
        running.proc.wait()
    except KeyboardInterrupt:
        console.print("Stopping JupyterLab...")
    finally:
        running.stop()
