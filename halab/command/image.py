"""`halab image build|list|rm`: the cached node image."""

from __future__ import annotations

import json

import click
from rich.table import Table

from halab.command.terminal import console, progress_status
from halab.errors import HalabError
from halab.image.build import build_image, current_image, list_images, recipe_hash, remove_image
from halab.image.vagrantbox import remove_box
from halab.lab import require_root
from halab.runtime.state import lab_states


def _images_in_use() -> set[str]:
    """Images of labs that have state; a damaged lab's image is unknown, so then none may be removed."""
    readable, damaged = lab_states()
    if damaged:
        lab, problem = next(iter(damaged.items()))
        raise HalabError(f"lab {lab} is damaged, so which images it uses is unknown: {problem}")
    return {state.provider_data.get("image", "") for state in readable.values()}


@click.group()
def image() -> None:
    """Build, list and remove node images."""


@image.command()
@click.option("--force", is_flag=True, help="Rebuild even if the image for this recipe is cached.")
def build(force: bool) -> None:
    """Build the node image for the current recipe (only if it changed)."""
    require_root()
    cached = current_image()
    if force and cached and cached.hash in _images_in_use():
        raise click.UsageError(f"image {cached.hash} is used by a lab that is up; run halab down first")
    if cached and not force:
        built = cached
        console.print(f"image {cached.hash} is up to date ({cached.size_mib} MiB)")
    else:
        with progress_status("building the node image") as progress:
            built = build_image(progress, force=force)
        console.print(f"built image {built.hash} ({built.size_mib} MiB) in {built.path}")
    # Images of older recipes are dead weight (about 650 MiB each) unless a lab that is up still uses them.
    try:
        in_use = _images_in_use()
    except HalabError as exc:
        console.print(f"outdated images are kept: {exc}")
        return
    for old in list_images():
        if old.hash != built.hash and old.hash not in in_use:
            try:
                _remove(old.hash, in_use)
            except HalabError as exc:
                console.print(f"kept the outdated image {old.hash}: {exc}")
                continue
            console.print(f"removed the outdated image {old.hash}")


@image.command(name="list")
@click.option("--json", "as_json", is_flag=True)
def list_(as_json: bool) -> None:
    """List cached images; the current recipe's is marked."""
    wanted = recipe_hash()
    images = list_images()
    if as_json:
        click.echo(json.dumps([{"hash": i.hash, "path": str(i.path), "built": i.built,
                                "size_mib": i.size_mib, "current": i.hash == wanted} for i in images]))
        return
    table = Table()
    for column in ("hash", "built", "size", "current"):
        table.add_column(column)
    for i in images:
        table.add_row(i.hash, i.built, f"{i.size_mib} MiB", "yes" if i.hash == wanted else "")
    console.print(table if images else "no image is cached; build one with: halab image build")


@image.command()
@click.argument("image_hash")
def rm(image_hash: str) -> None:
    """Remove a cached image (not one a running lab uses)."""
    require_root()
    _remove(image_hash, _images_in_use())
    console.print(f"removed image {image_hash}")


def _remove(image_hash: str, in_use: set[str]) -> None:
    """The image and the Vagrant box made from it."""
    remove_box(remove_image(image_hash, in_use))
