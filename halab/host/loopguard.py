"""Keep a process and everything it starts from using loop device ioctls (a seccomp filter, libseccomp).

A lab's shared disk is a host loop device (halab/providers/nspawn/storage.py), and the kernel lets anyone
who can open a loop device detach it or rebind it: LOOP_CLR_FD and LOOP_SET_FD need no capability, so root in a
node (nobody on the host) could free its lab's loop number for the next lab's disk, and then read that disk
through its own device node. Reads and writes are all a node needs of its disk, so its processes get EPERM for
every ioctl of the loop driver ('L', 0x4C00-0x4CFF: LOOP_SET_FD, LOOP_CLR_FD, LOOP_SET_STATUS*, LOOP_CONFIGURE,
LOOP_CTL_*), on every ABI the host runs (x86-64, i386, x32: libseccomp writes the rule for each). A
seccomp filter is inherited by every child and cannot be removed, so set it in systemd-nspawn's parent
before it starts: nspawn, the container and all its processes keep it. halab's launcher is root, so it may
load the filter without no_new_privs, and setuid programs in the node work as before.
"""

from __future__ import annotations

import errno
from collections.abc import Callable

LOOP_IOCTLS = 0x4C00  # _IO('L', n): linux/loop.h
_MASK = 0xFFFFFF00  # the command's type and number; its upper 32 bits do not reach the driver (an unsigned int)


def loop_filter() -> Callable[[], None]:
    """The filter, made now; the function returned loads it into the calling process (for subprocess's
    preexec_fn: nothing is imported or allocated between fork and exec)."""
    import pyseccomp as seccomp  # here, not at the top: only the launcher needs libseccomp

    rules = seccomp.SyscallFilter(defaction=seccomp.ALLOW)
    for arch in (seccomp.Arch.X86, seccomp.Arch.X32):
        try:
            rules.add_arch(arch)
        except OSError as exc:  # already there (the native one), or a host that has no such ABI
            if exc.errno not in (errno.EEXIST, errno.EINVAL):
                raise
    rules.set_attr(seccomp.Attr.CTL_NNP, 0)
    rules.add_rule(seccomp.ERRNO(errno.EPERM), "ioctl", seccomp.Arg(1, seccomp.MASKED_EQ, _MASK, LOOP_IOCTLS))
    return rules.load
