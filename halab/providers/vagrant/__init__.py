"""The vagrant provider: the libvirt provider's VMs made by Vagrant (provider.py), from a box built from the
node image, with the plan the repository's Vagrantfile reads."""

from __future__ import annotations

from typing import Any


def __getattr__(name: str) -> Any:
    """The provider for a halab from before this layout (it was one module, halab/providers/vagrant.py) still
    running (an upgrade while a lab is up); imported on that demand only."""
    if name == "VagrantProvider":
        from halab.providers.vagrant import provider

        return provider.VagrantProvider
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
