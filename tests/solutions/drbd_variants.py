"""On the solved drbd lab (VMs are slow to make: no second lab here): the split brain that an after-sb policy
resolves by itself, and broken variants of the resource file, each with the check that catches it."""

from __future__ import annotations

import shlex

from halab.lab import Lab
from tests.solutions.broken import Broken

# The policies notebook 04's sample resource once had (Debian's drbd.conf(5) calls them common): with them DRBD
# resolves a split brain with one Primary by discarding the Secondary's changes.
AUTO_RESOLVE = ("        after-sb-0pri discard-zero-changes;\\n        after-sb-1pri discard-secondary;\\n"
                "        after-sb-2pri disconnect;\\n")


def resource_file(lab: Lab) -> str:
    return f"/etc/drbd.d/{lab.spec.settings['drbd_resource']}.res"


def on_both(lab: Lab, command: str) -> str:
    """A command for node1 that runs ``command`` on every member (root SSH between the nodes)."""
    return " && ".join(f"ssh {node} {shlex.quote(command)}" for node in lab.spec.member_names)


def auto_resolving_policy(lab: Lab) -> tuple[str, str]:
    """(add the after-sb policies and adjust, put the file back and adjust), as commands for node1."""
    path, resource = resource_file(lab), lab.spec.settings["drbd_resource"]
    add = on_both(lab, f"cp {path} /root/drbd.res.good && sed -i 's/        protocol C;/        protocol C;\\n"
                       f"{AUTO_RESOLVE}/' {path} && drbdadm adjust {resource}")
    back = on_both(lab, f"cp /root/drbd.res.good {path} && drbdadm adjust {resource}")
    return add, back


def broken(lab: Lab) -> list[Broken]:
    path = resource_file(lab)
    save, restore = f"cp {path} /root/drbd.res.good", f"cp /root/drbd.res.good {path}"
    first = lab.spec.member_names[0]
    return [
        Broken("asynchronous replication (protocol A): a failover may lose acknowledged writes", first,
               on_both(lab, f"{save} && sed -i 's/protocol C;/protocol A;/' {path}"), on_both(lab, restore),
               "drbd-config-content", "protocol"),
        Broken("resource-level fencing left out", first,
               on_both(lab, f"{save} && sed -i '/fencing resource-only;/d' {path}"), on_both(lab, restore),
               "drbd-resource-fencing", "fencing"),
    ]
