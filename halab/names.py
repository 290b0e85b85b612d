"""Lab names: what may name a lab, checked wherever a name becomes a path or a namespace.

A lab's name becomes a directory under the state directory, network namespaces (``halab-<lab>``), a machine
name and a lock file, so a name like ``../../etc`` must never get that far. Names halab uses for itself
(``libvirt``: libvirtd's namespace is ``halab-libvirt``) cannot name a lab.
"""

from __future__ import annotations

import re

from halab.errors import HalabError

NAME_RE = re.compile(r"^[a-z][a-z0-9-]{0,23}$")
# Lab names that would collide with halab's own namespaces and files.
RESERVED_LAB_NAMES = frozenset({"libvirt"})


def check_lab_name(name: object) -> str:
    """The name itself if it can name a lab; a one-line HalabError saying why not otherwise."""
    if not isinstance(name, str) or not NAME_RE.fullmatch(name):
        raise HalabError(f"{name!r} is not a valid lab name (lower-case letters, digits and '-', at most 24)")
    if name in RESERVED_LAB_NAMES:
        raise HalabError(f"'{name}' cannot name a lab: halab uses it for itself (namespace halab-{name})")
    return name


def is_lab_name(name: object) -> bool:
    try:
        check_lab_name(name)
    except HalabError:
        return False
    return True
