"""The libvirt provider: each node a VM booted from the node image (provider.py), in a libvirtd that halab
runs in a network namespace of its own (libvirtd.py), with KVM where a probe guest really boots (accel.py)."""

from __future__ import annotations

from typing import Any


def __getattr__(name: str) -> Any:
    """The provider for a halab from before this layout (it was one module, halab/providers/libvirt.py) still
    running (an upgrade while a lab is up); imported on that demand only."""
    if name == "LibvirtProvider":
        from halab.providers.libvirt import provider

        return provider.LibvirtProvider
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
