"""The providers' table (halab/providers/base.py) and the names a halab from before this layout imports the
providers by (a lab service or power switch still running its code after an upgrade)."""

from __future__ import annotations

from halab.providers.base import PROVIDERS as TABLE
from halab.providers.base import Provider, get_provider
from halab.spec import PROVIDERS


def test_the_old_provider_names_still_give_the_providers() -> None:
    """What an older halab's code, still running, imports from the provider modules' old names."""
    from halab.providers.libvirt import LibvirtProvider
    from halab.providers.nspawn import NspawnProvider, plumbing_now
    from halab.providers.vagrant import VagrantProvider

    assert NspawnProvider.name == "nspawn" and LibvirtProvider.name == "libvirt"
    assert VagrantProvider.name == "vagrant" and callable(plumbing_now)


def test_the_providers_table_names_what_a_spec_may_name() -> None:
    """A provider is added in two places: its line in PROVIDERS and its name among the spec's PROVIDERS."""
    assert list(TABLE) == list(PROVIDERS)
    for name in TABLE:
        provider = get_provider(name)
        assert isinstance(provider, Provider) and provider.name == name
