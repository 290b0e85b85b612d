"""`halab libvirtd start|stop|status`: libvirtd for VM labs, in a network namespace of halab's."""

from __future__ import annotations

import click

from halab.command.terminal import console
from halab.lab import require_root
from halab.providers.libvirt import libvirtd as daemon


@click.command(name="libvirtd")
@click.argument("action", type=click.Choice(["start", "stop", "status"]))
def libvirtd(action: str) -> None:
    """Start, stop or show libvirtd (needed by the libvirt provider: VM labs such as drbd)."""
    if action == "status":
        where = daemon.switch_namespace() or "the host's namespace"
        console.print(f"libvirtd is running in {where}" if daemon.running() else daemon.not_running_message())
        return
    require_root()
    console.print(daemon.start() if action == "start" else daemon.stop())
