"""User namespaces for container nodes: the ID range a lab's nodes run as, and idmapped mounts of the image.

A node's root runs as an unprivileged range of host IDs (``base`` .. ``base + 65535``; root in the node is
``base`` on the host), so root in a node is nobody on the host. The image on disk stays owned by root: each
node's overlay is stacked on an *idmapped* bind mount of the image (mount_setattr(2) with
MOUNT_ATTR_IDMAP, Linux 5.12 and later), which shows its files owned by the node's range, and the overlay's
upper directory keeps the node's own changes in that range. This host's util-linux (2.38) has no mount
option for it, so the mount is made with the syscalls, through ctypes.

Every node of one lab shares the lab's range, so that storage they share (a SAN disk, a NAS directory) is
theirs alike; two labs never share a range.
"""

from __future__ import annotations

import ctypes
import os
import subprocess
import time
from pathlib import Path

from halab.errors import HalabError
from halab.host.fs import is_mount_point

RANGE = 65536
FIRST_BASE = 0x10000000  # 268435456: far above any real account's IDs
MAX_RANGES = 4096

_SYS_OPEN_TREE, _SYS_MOVE_MOUNT, _SYS_MOUNT_SETATTR = 428, 429, 442  # x86_64
_OPEN_TREE_CLONE, _OPEN_TREE_CLOEXEC = 1, 0o2000000
_AT_FDCWD, _AT_EMPTY_PATH = -100, 0x1000
_MOVE_MOUNT_F_EMPTY_PATH = 0x4
_MOUNT_ATTR_IDMAP = 0x00100000


class _MountAttr(ctypes.Structure):
    _fields_ = [("attr_set", ctypes.c_uint64), ("attr_clr", ctypes.c_uint64), ("propagation", ctypes.c_uint64),
                ("userns_fd", ctypes.c_uint64)]


_libc = ctypes.CDLL(None, use_errno=True)


def _call(number: int, *args: object) -> int:
    result = _libc.syscall(number, *args)
    if result < 0:
        error = ctypes.get_errno()
        raise OSError(error, os.strerror(error))
    return int(result)


def _userns(base: int, count: int) -> int:
    """A file descriptor of a user namespace that maps 0..count-1 to base..base+count-1."""
    holder = subprocess.Popen(["unshare", "--user", "sleep", "60"], stdin=subprocess.DEVNULL)
    try:
        ns = Path(f"/proc/{holder.pid}/ns/user")
        deadline = time.monotonic() + 5
        while os.stat(ns).st_ino == os.stat("/proc/self/ns/user").st_ino:
            if time.monotonic() > deadline:
                raise HalabError("unshare did not make a user namespace")
            time.sleep(0.005)
        for table in ("uid_map", "gid_map"):
            Path(f"/proc/{holder.pid}/{table}").write_text(f"0 {base} {count}\n")
        return os.open(ns, os.O_RDONLY | os.O_CLOEXEC)
    finally:
        holder.kill()
        holder.wait()


def bind_idmapped(source: Path, target: Path, base: int, count: int = RANGE) -> None:
    """Bind ``source`` on ``target`` with its owners shifted by ``base`` (root's files show as ``base``)."""
    if is_mount_point(target):
        return
    target.mkdir(parents=True, exist_ok=True)
    userns = _userns(base, count)
    tree = -1
    try:
        tree = _call(_SYS_OPEN_TREE, _AT_FDCWD, str(source).encode(), _OPEN_TREE_CLONE | _OPEN_TREE_CLOEXEC)
        attr = _MountAttr(_MOUNT_ATTR_IDMAP, 0, 0, userns)
        _call(_SYS_MOUNT_SETATTR, tree, b"", _AT_EMPTY_PATH, ctypes.byref(attr), ctypes.sizeof(attr))
        _call(_SYS_MOVE_MOUNT, tree, b"", _AT_FDCWD, str(target).encode(), _MOVE_MOUNT_F_EMPTY_PATH)
    except OSError as exc:
        raise HalabError(f"cannot make an idmapped mount of {source} ({exc.strerror}); container nodes need "
                         "Linux 5.12 or later and a file system that supports idmapped mounts") from None
    finally:
        if tree >= 0:
            os.close(tree)
        os.close(userns)


def own(path: Path, base: int) -> None:
    """Give a file halab wrote into a node (as host root) to the node's root."""
    os.chown(path, base, base, follow_symlinks=False)


def free_base(in_use: set[int]) -> int:
    """The first range base no lab uses (the caller holds the lock under which bases are given out)."""
    for index in range(MAX_RANGES):
        base = FIRST_BASE + index * RANGE
        if base not in in_use:
            return base
    raise HalabError(f"all {MAX_RANGES} ID ranges for container nodes are in use")
