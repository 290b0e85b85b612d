"""`halab service start|stop|status`: the lab service, which gives users who are not root labs of their own."""

from __future__ import annotations

import json

import click

from halab.command.terminal import console
from halab.lab import require_root
from halab.service import daemon


@click.group()
def service() -> None:
    """The lab service: labs for users who are not root (see README, "Shared machines")."""


@service.command()
def start() -> None:
    """Start the lab service (root)."""
    require_root()
    console.print(daemon.start())


@service.command()
def stop() -> None:
    """Stop the lab service (root); the users' labs stay up."""
    require_root()
    console.print(daemon.stop())


@service.command()
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def status(as_json: bool) -> None:
    """Whether the lab service runs, and whose labs it holds."""
    info = daemon.status()
    if as_json:
        click.echo(json.dumps(info, indent=2))
        return
    if not info["running"]:
        console.print(f"the lab service is not running (start it as root: halab service start); log: {info['log']}")
        return
    console.print(f"the lab service runs (PID {info['pids'][0]}) on {info['socket']}; {info['user_labs']} user "
                  f"lab(s) of {', '.join(info['users']) or 'nobody'}; log: {info['log']}")
    if info["runs_older_code"]:
        console.print("[yellow]it started before halab was last updated here, so it runs the older code: "
                      "restart it with halab service stop && halab service start (the labs stay up)[/yellow]")
