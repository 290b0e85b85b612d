"""`halab cluster connect` refuses a front address this host does not have before it asks any member for
anything: the lab tunnels would otherwise fail only at the first `halab up`, far from the mistake."""

from __future__ import annotations

from pathlib import Path

import pytest

from halab.errors import HalabError
from halab.providers.incus import connect


def test_a_front_address_not_of_this_host_is_refused_first(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HALAB_INCUS_CONFIG", str(tmp_path / "incus.toml"))
    asked: list[str] = []
    monkeypatch.setattr(connect, "server_fingerprint", lambda host, port: asked.append(host) or "00")
    with pytest.raises(HalabError, match="front_address 192.0.2.1 .* not an address of this host"):
        connect.connect("192.0.2.11", "TOKEN", "192.0.2.1", directory=tmp_path / "incus")
    assert asked == [] and not (tmp_path / "incus.toml").exists() and not (tmp_path / "incus").exists()
