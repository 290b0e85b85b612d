"""The nspawn provider: each node a systemd-nspawn container (provider.py), started by a launcher of its own
(launch.py: cgroups, the POST delay, plugging in), with its shared storage and device binds (storage.py).

Nothing is imported here: the launcher runs with the standard library until its node does.
"""

from __future__ import annotations

from typing import Any


def __getattr__(name: str) -> Any:
    """What a halab from before this layout asks this name for (it was one module, halab/providers/nspawn.py):
    a lab service, power switch or launcher still running that code (an upgrade while a lab is up) finds the
    provider and the plumbing here. Imported on that demand only."""
    if name in ("NspawnProvider", "plumbing_now"):
        from halab.providers.nspawn import provider

        return getattr(provider, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
