"""The provider interface: what every way of running lab nodes (containers, VMs, Vagrant) must offer.

`up` produces the same inventory (``NodeInfo``) whatever the provider, so graders, the CLI and notebooks
never need to know how a node is run.
"""

from __future__ import annotations

import importlib
from abc import ABC, abstractmethod

from halab.errors import HalabError
from halab.runtime.state import LabState
from halab.spec import LabSpec
from halab.types import Progress

# Every provider by the name specs and `halab up --provider` use, as "module:class": imported only when a lab
# asks for it, since each pulls in libraries of its own (libvirt-python, Vagrant), as pytest-testinfra's
# BACKENDS table. A provider's package adds its line here, and its name to halab/spec/model.py's PROVIDERS
# (which specs may name; tests/unit/providers/test_base.py holds the two to the same names).
PROVIDERS: dict[str, str] = {
    "nspawn": "halab.providers.nspawn.provider:NspawnProvider",
    "libvirt": "halab.providers.libvirt.provider:LibvirtProvider",
    "vagrant": "halab.providers.vagrant.provider:VagrantProvider",
    "incus": "halab.providers.incus.provider:IncusProvider",
}


class Provider(ABC):
    name: str

    @abstractmethod
    def host_problems(self) -> list[tuple[str, str]]:
        """What this host lacks for the provider: (problem, command that fixes it)."""

    @abstractmethod
    def up(self, spec: LabSpec, state: LabState, progress: Progress) -> None:
        """Create and boot every node, filling ``state.nodes``; save progress to ``state`` as it goes so a
        crash half-way can be undone by `down`. Returns when every node is booting; the caller waits for
        SSH."""

    @abstractmethod
    def down(self, state: LabState, progress: Progress) -> None:
        """Remove everything `up` made, from whatever point `up` reached. Must be safe to run twice."""

    @abstractmethod
    def node_running(self, state: LabState, node: str) -> bool:
        """Whether the node is powered on (not whether its services are healthy)."""

    @abstractmethod
    def power_off(self, state: LabState, node: str) -> None:
        """Cut the node's power: no shutdown, no goodbye to its peers."""

    @abstractmethod
    def power_on(self, state: LabState, node: str) -> None:
        """Boot a powered-off node again, keeping its disk."""

    @abstractmethod
    def set_link(self, state: LabState, node: str, network: str, up: bool) -> None:
        """Unplug (``up=False``) or plug back the node's cable on one lab network."""

    def drop_traffic(self, state: LabState, node: str, peers: list[str], drop: bool) -> None:
        """Drop (``drop=True``) or pass again every packet between the node and ``peers``, with its cables
        plugged in: a partition. Only where halab can filter the node's traffic from outside it."""
        raise HalabError(f"the {self.name} provider cannot filter a node's traffic from outside; cut its cables "
                         "instead (halab fault LAB cut-link NODE --network NET)")

    def console_log(self, state: LabState, node: str) -> str:
        """The tail of the node's console, for error messages when a node never comes up."""
        return ""


def get_provider(name: str) -> Provider:
    """The provider of that name (PROVIDERS), made on demand."""
    if name not in PROVIDERS:
        raise HalabError(f"unknown provider '{name}' (available: {', '.join(PROVIDERS)})")
    module, _, cls = PROVIDERS[name].partition(":")
    provider: Provider = getattr(importlib.import_module(module), cls)()
    return provider
