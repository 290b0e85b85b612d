"""`halab doctor`: what this host lacks for halab, and the command that installs it."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import click

from halab.classroom.hubconfig import proxy_command
from halab.command.terminal import console
from halab.host.facts import all_facts
from halab.image.build import current_image
from halab.image.guest import missing_host_tools
from halab.providers.base import get_provider
from halab.providers.libvirt.accel import kvm_fact
from halab.providers.vagrant.provider import VagrantProvider


def host_problems() -> list[tuple[str, str]]:
    problems: list[tuple[str, str]] = []
    if os.geteuid() != 0:
        problems.append(("not running as root", "run halab from a root shell (or with sudo)"))
    if not shutil.which("mmdebstrap"):
        problems.append(("mmdebstrap (builds the node image) is missing", "apt-get install mmdebstrap"))
    problems += get_provider("nspawn").host_problems()
    problems += [(f"VM labs (drbd): {problem}", fix) for problem, fix in get_provider("libvirt").host_problems()]
    problems += [(f"Vagrant labs: {problem}", fix) for problem, fix in VagrantProvider().vagrant_problems()]
    problems += [(f"the virtualization lab's guest disk: {tool} is missing", f"apt-get install {package}")
                 for tool, package in missing_host_tools()]
    if not Path("/dev/loop-control").exists():
        problems.append(("the virtualization lab's shared disk: no loop devices (/dev/loop-control)", "modprobe loop"))
    if not proxy_command().exists():
        problems.append(("halab classroom: JupyterHub's proxy (configurable-http-proxy) is not installed",
                         f"cd {proxy_command().parents[2]} && npm ci --omit=dev"))
    if current_image() is None:
        problems.append(("the node image is not built yet (halab up builds it too)", "halab image build"))
    return problems


MARKS = {"ok": "[green]✓[/green]", "note": "[yellow]![/yellow]", "problem": "[red]✗[/red]"}


@click.command()
def doctor() -> None:
    """Check that this host can run labs: what it lacks, and every host fact the labs depend on."""
    facts = [*all_facts(), kvm_fact()]
    console.print("[bold]host facts the labs depend on[/bold]")
    for fact in facts:
        fix = f"\n    fix: [bold]{fact.fix}[/bold]" if fact.fix and fact.state != "ok" else ""
        console.print(f"{MARKS[fact.state]} {fact.name}: {fact.found} [dim](labs: {fact.labs})[/dim]{fix}",
                      highlight=False)
    problems = host_problems()
    if not problems and not any(fact.state == "problem" for fact in facts):
        console.print("[green]this host is ready for halab labs[/green]")
        return
    for problem, fix in problems:
        console.print(f"[red]✗[/red] {problem}\n    fix: [bold]{fix}[/bold]")
    raise SystemExit(1)
