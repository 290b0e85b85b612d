"""A container node's disk: the overlay's upper layer (the node's own changes to the image) on a filesystem of
the node's own, capped at the spec's ``disk_mib``.

The upper directory used to be a plain directory on the host's filesystem: one student's ``fallocate -l 20G``
filled the host's disk, and every lab and the host with it. Measured on this host: its root filesystem (ext4)
is mounted without ``prjquota`` and halab cannot open its block device to turn the quota feature on, so
project quotas are out; a tmpfs with ``size=`` would cap it but lose the student's work at a host reboot (and
take RAM). So each node gets a sparse ext4 image (``disk.img``) in its folder, loop-mounted on ``disk/``, with
``upper/`` and ``work/`` on it: writes past the cap fail with ENOSPC inside the node, the host's disk never
sees more than the cap, and the image keeps the work across a host reboot (mounted again by the next
`halab up`). A fresh image takes about 180 KiB on disk and ~10 ms to make (``lazy_*_init``: nothing is
zeroed; the sparse file reads back zeros anyway); ``mount -o loop`` marks the loop device autoclear, so
unmounting frees it. The node never sees the loop device, so it cannot detach it.

A shared directory of the lab (a NAS export, storage.py) is capped the same way, with its ``size_mib``.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

from halab.errors import HalabError
from halab.host.fs import is_mount_point

IMAGE = "disk.img"
MOUNT = "disk"


def _run(command: list[str], what: str) -> None:
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode != 0:
        raise HalabError(f"{what}: {' '.join(command[:2])} failed: {result.stderr.strip()[-300:]}")


def capped_dir(image: Path, mount: Path, size_mib: int, what: str) -> Path:
    """``mount``: a filesystem of at most ``size_mib`` in the sparse file ``image``, made on first use and
    mounted (again, after a host reboot) if it is not."""
    image.parent.mkdir(parents=True, exist_ok=True)
    if not image.exists():
        partial = image.with_suffix(".new")
        with open(partial, "wb") as handle:
            handle.truncate(size_mib * 1024 * 1024)
        partial.chmod(0o600)
        _run(["mkfs.ext4", "-q", "-F", "-m", "0", "-i", "65536", "-J", "size=16", "-O", "^resize_inode",
              "-E", "lazy_itable_init=1,lazy_journal_init=1,nodiscard", str(partial)], what)
        partial.rename(image)
    mount.mkdir(exist_ok=True)
    if not is_mount_point(mount):
        _run(["mount", "-o", "loop,noinit_itable", str(image), str(mount)], what)
    return mount


def node_layers(base: Path, size_mib: int) -> tuple[Path, Path]:
    """The node's (upper, work) directories for its overlay: on its capped disk, or, for a node made before
    halab capped disks (a lab up across an upgrade), the plain directories it has."""
    if (base / "upper").is_dir() and not (base / IMAGE).exists():
        return base / "upper", base / "work"
    disk = capped_dir(base / IMAGE, base / MOUNT, size_mib, f"the disk of node {base.name}")
    return disk / "upper", disk / "work"
