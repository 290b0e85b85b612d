"""The node image as a VM disk: the cached rootfs made into an ext4 qcow2, plus its kernel and initrd for
direct kernel boot. Built once per image (next to it in the cache), in a staging directory, under the image
cache's build lock."""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from halab.errors import HalabError
from halab.host.fs import remove_tree
from halab.image.build import Image, build_lock
from halab.types import Progress

DISK_SIZE = "4G"  # sparse; the rootfs uses about 0.7 GiB


@dataclass(frozen=True)
class VmImage:
    disk: Path
    kernel: Path
    initrd: Path


def _run(command: list[str]) -> None:
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode != 0:
        raise HalabError(f"'{' '.join(command[:3])} ...' failed: {result.stderr.strip()[-300:]}")


def vm_image(image: Image, progress: Progress = lambda _m: None) -> VmImage:
    final = image.path / "vm"
    with build_lock():  # a second lab coming up meanwhile waits here, then finds the disk made
        if not (final / "disk.qcow2").exists():
            progress("making the VM disk from the node image")
            _build(image, final)
    return VmImage(final / "disk.qcow2", final / "vmlinuz", final / "initrd.img")


def _build(image: Image, final: Path) -> None:
    staging = image.path / ".vm-build"
    remove_tree(staging)
    staging.mkdir()
    try:
        _run(["mkfs.ext4", "-q", "-F", "-L", "halabroot", "-d", str(image.rootfs), str(staging / "disk.raw"),
              DISK_SIZE])
        _run(["qemu-img", "convert", "-O", "qcow2", str(staging / "disk.raw"), str(staging / "disk.qcow2")])
        (staging / "disk.raw").unlink()
        boot = image.rootfs / "boot"
        kernels = sorted(boot.glob("vmlinuz-*"))
        if not kernels:
            raise HalabError("the node image has no kernel (linux-image-cloud-amd64 missing from the recipe?)")
        version = kernels[-1].name.removeprefix("vmlinuz-")
        shutil.copy(kernels[-1], staging / "vmlinuz")
        shutil.copy(boot / f"initrd.img-{version}", staging / "initrd.img")
        for name in ("disk.qcow2", "vmlinuz", "initrd.img"):
            (staging / name).chmod(0o644)  # libvirt's qemu runs as libvirt-qemu and must read them
        staging.rename(final)
    except BaseException:
        remove_tree(staging)
        raise
