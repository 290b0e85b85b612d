"""`halab cluster connect|status`: the Incus cluster that runs lab nodes for provider `incus` (README: "Lab
nodes on an Incus cluster"). The work is in halab/providers/incus/connect.py."""

from __future__ import annotations

import click

from halab.command.terminal import console
from halab.lab import require_root


@click.group()
def cluster() -> None:
    """The Incus cluster that runs lab nodes (provider incus)."""


@cluster.command()
@click.argument("member")
@click.argument("token")
@click.option("--front-address", required=True, help="This host's address as the members reach it.")
@click.option("--pool", default="halab", show_default=True, help="The cluster's storage pool for nodes.")
def connect(member: str, token: str, front_address: str, pool: str) -> None:
    """Make this host the cluster's front host: MEMBER is HOST[:PORT] of any member, TOKEN from
    `incus config trust add halab-front` there."""
    from halab.providers.incus.config import config_path
    from halab.providers.incus.connect import connect as do_connect

    require_root()
    config = do_connect(member, token, front_address, pool)
    console.print(f"connected: {len(config.endpoints)} member(s); written to {config_path()}")


@cluster.command()
def status() -> None:
    """The members, their state and how many lab nodes each runs."""
    from halab.providers.incus.config import load_config
    from halab.providers.incus.connect import members

    for member in members(load_config().client()):
        console.print(f"{member['name']:12} {member['status']:10} {member['url']:28} {member['nodes']} node(s)")
