"""Mounts and directory removal on the lab host, done carefully.

A build or container root can still have /proc, /sys, /dev or an overlay mounted below it after a crash;
a plain recursive delete would then walk into the host's /dev. Everything under halab's directories is
therefore unmounted first and only then removed, and removal refuses to cross into a mount it could not
unmount.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
from collections.abc import Iterator, Sequence
from pathlib import Path

from halab.errors import HalabError


def unescape_mount_path(path: str) -> str:
    # /proc/self/mountinfo escapes space, tab, newline and backslash as octal.
    for code, char in (("\\040", " "), ("\\011", "\t"), ("\\012", "\n"), ("\\134", "\\")):
        path = path.replace(code, char)
    return path


def mounts_under(path: Path) -> list[Path]:
    """Mount points at or below ``path``, deepest first."""
    root = str(path.resolve()) if path.exists() else str(path)
    found = []
    with open("/proc/self/mountinfo") as mountinfo:
        for line in mountinfo:
            point = unescape_mount_path(line.split()[4])
            if point == root or point.startswith(root.rstrip("/") + "/"):
                found.append(Path(point))
    return sorted(set(found), key=lambda p: len(p.parts), reverse=True)


def users_of(path: Path, most: int = 3) -> list[str]:
    """What on this host still uses the tree at ``path``, in words (at most ``most``): mounts of a directory in
    it (a container node's idmapped image layers: the mount's root, the fourth field, which is the path when the
    cache is on the host's root file system, as here) and processes with a file
    in it open (a VM's QEMU reading its backing disk). Host-wide on purpose: a lab of another checkout or
    HALAB_STATE_DIR is invisible to this one's lab states, and deleting its image under it breaks it (its
    overlay's lower layers go empty; its VM cannot boot again)."""
    root = str(path.resolve()) if path.exists() else str(path)

    def inside(where: str) -> bool:
        return where == root or where.startswith(root.rstrip("/") + "/")

    found: list[str] = []
    with open("/proc/self/mountinfo") as mountinfo:
        for line in mountinfo:
            fields = line.split()
            if inside(unescape_mount_path(fields[3])):
                found.append(f"mounted on {unescape_mount_path(fields[4])}")
    for proc in Path("/proc").iterdir():
        if len(found) >= most:
            break
        if not proc.name.isdigit():
            continue
        if any(inside(link.removesuffix(" (deleted)")) for link in _open_files(proc)):
            found.append(f"open in process {proc.name}")
    return found[:most]


def _open_files(proc: Path) -> Iterator[str]:
    """The paths a process has open; nothing for one that is gone or not ours to read (each fd may close while
    we look: the listing's own, for one)."""
    try:
        fds = list((proc / "fd").iterdir())
    except OSError:
        return
    for fd in fds:
        with contextlib.suppress(OSError):
            yield os.readlink(fd)


def is_mount_point(path: Path) -> bool:
    """Whether something is mounted right at ``path`` (os.path.ismount misses a bind mount of a directory of
    the same file system: same device, and not its root)."""
    return Path(os.path.realpath(path)) in mounts_under(path)


def unmount_all(path: Path, rounds: int = 8) -> None:
    # Mounts may be stacked on one point, and an overlay must go before the mounts it stands on: go round
    # until nothing is left (each round unmounts the top mount of every point, deepest points first).
    for _ in range(rounds):
        points = mounts_under(path)
        if not points:
            return
        for point in points:
            subprocess.run(["umount", "--lazy", str(point)], capture_output=True, check=False)
    left = mounts_under(path)
    if left:
        raise HalabError(f"cannot unmount {left[0]}; close programs using it and run the command again")


def remove_tree(path: Path) -> None:
    """Unmount everything below ``path`` and delete it; a missing path is fine."""
    if not path.exists() and not path.is_symlink():
        return
    unmount_all(path)
    if path.is_symlink() or path.is_file():
        path.unlink()
        return
    shutil.rmtree(path)


def private_dir(path: Path, group: int | None = None) -> Path:
    """Make ``path`` (and missing parents) and keep it from other users: a lab's folder holds its nodes' disks
    (their fence password, the student's work), its state and console logs. Mode 0700 root, or 0710 with
    ``group`` when a service of that group must reach files below it by name (QEMU as libvirt-qemu opens a
    VM's disks) without listing it. An existing folder loses its bits for others, and keeps a group it was
    given: a lab made before halab kept its folders private is made private at its next state write."""
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    info = path.stat()
    if group is not None:
        if info.st_gid != group:
            os.chown(path, -1, group)
        mode = 0o710
    else:
        mode = info.st_mode & 0o770 if info.st_gid != 0 else 0o700
    if info.st_mode & 0o777 != mode:
        path.chmod(mode)
    return path


def mount_overlay(lower: Path | Sequence[Path], upper: Path, work: Path, merged: Path) -> None:
    """Mount an overlay on ``merged``; ``lower`` may be several directories, the topmost first (an image
    layer over the node image)."""
    for directory in (upper, work, merged):
        directory.mkdir(parents=True, exist_ok=True)
    if os.path.ismount(merged):
        return
    lowers = [lower] if isinstance(lower, Path) else list(lower)
    options = f"lowerdir={':'.join(str(p) for p in lowers)},upperdir={upper},workdir={work}"
    result = subprocess.run(
        ["mount", "-t", "overlay", "overlay", "-o", options, str(merged)], capture_output=True, text=True
    )
    if result.returncode != 0:
        raise HalabError(f"cannot mount the node overlay on {merged}: {result.stderr.strip()}")


def loop_devices() -> list[tuple[str, str]]:
    """(device, backing file) of every loop device of the host (a lab's shared disk is one)."""
    listing = subprocess.run(["losetup", "--list", "--noheadings", "--raw", "--output", "NAME,BACK-FILE"],
                             capture_output=True, text=True).stdout
    return [(line.split(" ", 1)[0], line.split(" ", 1)[1]) for line in listing.splitlines() if " " in line]


def write_secret(path: Path, text: str) -> None:
    """Write a secret of the host's (a lab's password) readable by root only: mode 0600 whatever an older file
    had (O_CREAT's mode applies only to a new file, fchmod to any), never through a symlink."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC | os.O_NOFOLLOW, 0o600)
    with open(fd, "w") as handle:
        os.fchmod(fd, 0o600)
        handle.write(text)
