"""The node image as a Vagrant box for vagrant-libvirt: the same VM disk the libvirt provider boots.

The box holds the disk only. The kernel and initrd stay in halab's cache and are booted directly, as with
the libvirt provider, so that one image recipe really makes every node, whatever runs it. The box is named
after the image's hash (``halab/bookworm-<hash>``) and added to Vagrant once; a new recipe makes a new box.
"""

from __future__ import annotations

import contextlib
import functools
import json
import subprocess
import tarfile
import tempfile
from pathlib import Path
from typing import Any

from halab.errors import HalabError
from halab.image.build import build_lock
from halab.image.vmdisk import DISK_SIZE, VmImage
from halab.paths import cache_dir
from halab.types import Progress

BOX_VAGRANTFILE = """\
# A halab node box: Debian bookworm with the cluster stack. halab's own Vagrantfile boots it with its kernel.
Vagrant.configure("2") do |config|
end
"""


def pool_dir() -> Path:
    """Where halab's libvirt storage pool for Vagrant keeps its volumes (the box's copy, the VMs' disks)."""
    return cache_dir() / "vagrant-pool"


def box_name(image_hash: str) -> str:
    return f"halab/bookworm-{image_hash}"


def _log() -> Path:
    return cache_dir() / "vagrant-box.log"


def box_vagrant() -> Any:  # python-vagrant has no type hints
    """python-vagrant for commands on boxes and plugins. In "/": vagrant reads the Vagrantfile of the directory
    it runs in, and ours (in the repository) stops any command not started by `halab up`."""
    try:
        import vagrant  # python-vagrant warns at import when vagrant is missing: import only when used
    except ImportError:
        raise HalabError("python-vagrant is missing; run (as root): bash scripts/install.sh") from None
    if vagrant.get_vagrant_executable() is None:
        raise HalabError("vagrant is not installed; run: apt-get install vagrant vagrant-libvirt")
    _log().parent.mkdir(parents=True, exist_ok=True)
    return vagrant.Vagrant(root="/", err_cm=functools.partial(open, _log(), "ab"))


def _failed(what: str) -> HalabError:
    try:
        tail = _log().read_text(errors="replace").strip()[-400:]
    except OSError:
        tail = ""
    return HalabError(f"vagrant could not {what}: {tail}")


def installed_boxes() -> set[str]:
    """Names of the boxes Vagrant has for the libvirt provider."""
    try:
        return {box.name for box in box_vagrant().box_list() if box.provider == "libvirt"}
    except subprocess.CalledProcessError:
        raise _failed("list its boxes") from None


def vagrant_box(image_hash: str, vm: VmImage, progress: Progress = lambda _m: None) -> str:
    """Add the image's box to Vagrant unless it is there; returns the box name."""
    name = box_name(image_hash)
    with build_lock():  # two Vagrant labs coming up at once add the box once
        if name not in installed_boxes():
            _add_box(name, vm, progress)
    return name


def _add_box(name: str, vm: VmImage, progress: Progress) -> None:
    progress(f"adding the Vagrant box {name}")
    metadata = {"provider": "libvirt", "format": "qcow2", "virtual_size": int(DISK_SIZE.rstrip("G"))}
    # The box file is only handed to `vagrant box add`, which copies it; tar (not gzip) keeps that quick.
    with tempfile.TemporaryDirectory(dir=vm.disk.parent) as tmp:
        box = Path(tmp) / "halab.box"
        with tarfile.open(box, "w") as archive:
            for member, text in (("metadata.json", json.dumps(metadata)), ("Vagrantfile", BOX_VAGRANTFILE)):
                (Path(tmp) / member).write_text(text)
                archive.add(Path(tmp) / member, arcname=member)
            archive.add(vm.disk, arcname="box.img")
        try:
            box_vagrant().box_add(name, str(box), provider="libvirt", force=True)
        except subprocess.CalledProcessError:
            raise _failed(f"add the box {name}") from None


def remove_box(image_hash: str) -> None:
    """Forget the box of an image that is being removed, and the copy vagrant-libvirt uploaded into halab's
    storage pool; fine when Vagrant or the box is not there."""
    name = box_name(image_hash)
    with contextlib.suppress(HalabError, subprocess.CalledProcessError):
        if name in installed_boxes():
            box_vagrant().box_remove(name, "libvirt")
    pool = pool_dir()
    for volume in pool.glob(f"*{name.replace('/', '-VAGRANTSLASH-')}_vagrant_box_image_*") if pool.is_dir() else ():
        volume.unlink()
