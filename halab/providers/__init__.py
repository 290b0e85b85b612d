"""Providers bring a lab's nodes up and down behind one small interface (see base.py)."""

from __future__ import annotations

from halab.errors import HalabError
from halab.providers.base import Provider


def get_provider(name: str) -> Provider:
    # Imported lazily: each provider pulls in its own libraries (libvirt, vagrant) only when used.
    if name == "nspawn":
        from halab.providers.nspawn import NspawnProvider

        return NspawnProvider()
    if name == "libvirt":
        from halab.providers.libvirt import LibvirtProvider

        return LibvirtProvider()
    if name == "vagrant":
        from halab.providers.vagrant import VagrantProvider

        return VagrantProvider()
    if name == "incus":
        from halab.providers.incus import IncusProvider

        return IncusProvider()
    raise HalabError(f"unknown provider '{name}' (available: nspawn, libvirt, vagrant, incus)")
