"""The lab service's config file (halab/runtime/quotas.py): its default provider for users' labs."""

from __future__ import annotations

from pathlib import Path

import pytest

from halab.errors import SpecError
from halab.runtime.quotas import load_quotas


def test_service_default_provider(tmp_path: Path) -> None:
    path = tmp_path / "service.toml"
    path.write_text('provider = "incus"\n[defaults]\nnodes = 4\n')
    assert load_quotas(path).provider == "incus" and load_quotas(path).defaults.nodes == 4
    path.write_text('provider = "docker"\n')
    with pytest.raises(SpecError) as error:
        load_quotas(path)
    assert error.value.field == "provider"
    path.write_text("[defaults]\n")
    assert load_quotas(path).provider is None
