"""Image layers: extra packages for some nodes, stacked on the node image as a second overlay lower directory.

A layer (defined in layers.toml) is built once per node image: the node image is mounted read-only under an
overlay, the layer's packages are installed in it with apt in a throw-away container, and the overlay's upper
directory, which now holds only what changed, is the layer. It is cached in ``<image>/layers/<name>-<hash>/``
(so it goes when its node image is pruned), built in a staging directory and renamed into place only when
complete, like the image itself. A node with ``layer = "<name>"`` in its spec then runs on
``lowerdir=<layer>:<image rootfs>`` with its own upper directory on top.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from halab.errors import HalabError
from halab.host.fs import mount_overlay, remove_tree, unmount_all
from halab.image.build import RECIPE_DIR, Image, build_lock, set_services, size_mib
from halab.image.layerdefs import LAYERS, layer_names, load_layers
from halab.types import Progress

LAYER_FILES = RECIPE_DIR / "layers"  # layers/<name>/: files copied into the layer
# Bump when the build steps below change in a way that changes the layer.
LAYER_BUILDER_VERSION = "1"


@dataclass(frozen=True)
class Layer:
    name: str
    hash: str
    path: Path  # the layer's directory tree, to stack over the node image
    size_mib: int


def layer_hash(image: Image, name: str) -> str:
    definition = load_layers().get(name)
    if definition is None:
        raise HalabError(f"no image layer '{name}' in {LAYERS} (layers: {', '.join(layer_names()) or 'none'})")
    digest = hashlib.sha256(f"{LAYER_BUILDER_VERSION}/{image.hash}/{name}".encode())
    digest.update(json.dumps(definition, sort_keys=True).encode())
    files = LAYER_FILES / name
    for file in sorted(p for p in files.rglob("*") if p.is_file()):
        digest.update(str(file.relative_to(files)).encode())
        digest.update(file.read_bytes())
    return digest.hexdigest()[:16]


def _layers_dir(image: Image) -> Path:
    return image.path / "layers"


def _in_container(root: Path, script: str) -> None:
    """Run a shell script in ``root`` with systemd-nspawn (the host's network, for apt); no services start."""
    command = ["systemd-nspawn", "--quiet", "--register=no", "--keep-unit", f"--directory={root}",
               "--bind-ro=/etc/resolv.conf", "--setenv=DEBIAN_FRONTEND=noninteractive", "/bin/sh", "-ec", script]
    result = subprocess.run(command, capture_output=True, text=True, stdin=subprocess.DEVNULL)
    if result.returncode != 0:
        tail = "\n".join((result.stdout + result.stderr).strip().splitlines()[-15:])
        raise HalabError(f"building the image layer failed:\n{tail}")


def _build(image: Image, name: str, definition: dict[str, Any], staging: Path, progress: Progress) -> None:
    upper, work, merged = staging / "rootfs", staging / "work", staging / "merged"
    mount_overlay(image.rootfs, upper, work, merged)
    try:
        # policy-rc.d: package scripts must not start daemons in the build container.
        policy = merged / "usr/sbin/policy-rc.d"
        policy.write_text("#!/bin/sh\nexit 101\n")
        policy.chmod(0o755)
        packages = " ".join(definition.get("packages", []))
        progress(f"installing {packages}")
        _in_container(merged, f"apt-get -q update >/dev/null\napt-get install -y -q --no-install-recommends {packages}"
                              "\napt-get clean\nrm -rf /var/lib/apt/lists/*")
        for command in definition.get("run", []):
            _in_container(merged, command)
        files = LAYER_FILES / name
        if files.is_dir():
            shutil.copytree(files, merged, dirs_exist_ok=True, symlinks=True)
        set_services(definition, merged)
        policy.unlink()
    finally:
        unmount_all(merged)
    remove_tree(work)
    merged.rmdir()


def build_layer(image: Image, name: str, progress: Progress = lambda _m: None) -> Layer:
    """The layer ``name`` over ``image``, built if it is not cached."""
    digest = layer_hash(image, name)
    final = _layers_dir(image) / f"{name}-{digest}"
    with build_lock():
        meta_file = final / "layer.json"
        if meta_file.exists():
            meta = json.loads(meta_file.read_text())
            return Layer(name, digest, final / "rootfs", meta.get("size_mib", 0))
        staging = _layers_dir(image) / f".build-{name}-{digest}"
        remove_tree(staging)
        staging.mkdir(parents=True)
        progress(f"building the image layer '{name}' (once per node image)")
        started = time.monotonic()
        try:
            _build(image, name, load_layers()[name], staging, progress)
            meta = {"name": name, "hash": digest, "image": image.hash, "built": time.strftime("%Y-%m-%d %H:%M:%S"),
                    "build_seconds": round(time.monotonic() - started, 1), "size_mib": size_mib(staging / "rootfs")}
            (staging / "layer.json").write_text(json.dumps(meta, indent=2))
            staging.rename(final)
        except BaseException:
            remove_tree(staging)
            raise
    return Layer(name, digest, final / "rootfs", meta["size_mib"])
