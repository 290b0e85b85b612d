"""The incus provider's pure parts: its engine config, the projects' limits, node files and names. The engine
itself is exercised in tests/integration/test_incus.py."""

from __future__ import annotations

from pathlib import Path

import pytest

from halab.errors import SpecError
from halab.image.build import Image
from halab.providers.incus.config import EngineConfig, parse_config, render_config
from halab.providers.incus.image import metadata_yaml
from halab.providers.incus.network import TUNNEL, network_name, vni
from halab.providers.incus.projects import project_config, project_name
from halab.providers.incus.provider import hwaddr, networkd_files, slot_of
from halab.runtime.quotas import Quota
from halab.runtime.state import LabState
from halab.spec import load_spec

HTTPS = """endpoints = ["https://192.0.2.11:8443", "https://192.0.2.12:8443"]
client_cert = "/etc/halab/incus/client.crt"
client_key = "/etc/halab/incus/client.key"
server_fingerprint = "%s"
front_address = "192.0.2.1"
""" % ("ab" * 32)


def test_config_round_trip() -> None:
    config = parse_config(Path("incus.toml"), HTTPS)
    assert config.endpoints == ["https://192.0.2.11:8443", "https://192.0.2.12:8443"]
    assert config.storage_pool == "halab" and config.server_fingerprint == "ab" * 32
    assert parse_config(Path("x"), render_config(config)) == config


@pytest.mark.parametrize(("text", "field"), [
    ('endpoints = []\nfront_address = "192.0.2.1"', "endpoints"),
    ('endpoints = ["http://a:8443"]\nfront_address = "192.0.2.1"', "endpoints"),
    ('endpoints = ["unix:///run/incus.socket"]\nfront_address = "front"', "front_address"),
    ('endpoints = ["https://a:8443"]\nfront_address = "192.0.2.1"', "client_cert"),
    (HTTPS.replace("ab" * 32, "xyz"), "server_fingerprint"),
    ('endpoints = ["unix:///s"]\nfront_address = "192.0.2.1"\npool = "x"', "pool"),
    ("endpoints = [", "(file)"),
])
def test_config_errors_name_the_field(text: str, field: str) -> None:
    with pytest.raises(SpecError) as error:
        parse_config(Path("/etc/halab/incus.toml"), text)
    assert error.value.field == field and "/etc/halab/incus.toml" in str(error.value)


def test_a_local_engine_needs_no_certificates() -> None:
    config = parse_config(Path("x"), 'endpoints = ["unix:///var/lib/incus/unix.socket"]\nfront_address = "10.0.0.1"')
    assert config == EngineConfig(["unix:///var/lib/incus/unix.socket"], "10.0.0.1")


def test_projects_are_restricted_and_limited_by_the_quota() -> None:
    config = project_config(Quota(labs=2, nodes=3), ["hlb0", "hla0"])
    assert config["restricted"] == "true" and config["restricted.containers.privilege"] == "unprivileged"
    assert config["restricted.containers.nesting"] == "block" and config["restricted.devices.proxy"] == "block"
    assert config["restricted.networks.access"] == "hla0,hlb0"
    assert (config["limits.containers"], config["limits.memory"], config["limits.processes"], config["limits.cpu"]) \
        == ("3", "3072MiB", "6000", "3")
    assert config["limits.virtual-machines"] == "0"
    assert "limits.containers" not in project_config(None, [])  # root's labs: restricted, not limited
    assert (project_name(0), project_name(7)) == ("halab", "halab-u7")


def test_node_files_and_names() -> None:
    spec = load_spec("infrastructure")
    node = spec.nodes[0]
    files = networkd_files(spec, node)
    assert len(files) == len(spec.networks_of(node))
    first = files["/etc/systemd/network/10-eth0.network"]
    assert "Name=eth0" in first and f"Address={node.addresses[spec.networks[0].name]}/" in first
    assert hwaddr("lab", "node1", 0) == hwaddr("lab", "node1", 0) != hwaddr("lab", "node1", 1)
    assert hwaddr("lab", "node1", 0).startswith("00:16:3e:")
    # Incus names the tunnel's interface "<network>-<tunnel>", at most 15 characters.
    assert len(f"{network_name('u123-infrastructure', 15)}-{TUNNEL}") <= 15
    assert 0 < vni("clustering", 0) < 2**24 and vni("clustering", 0) != vni("u1-clustering", 0)


def test_slot_from_owner_or_name() -> None:
    owned = LabState("u3-clustering", "incus", "", owner={"uid": 1, "user": "a", "slot": 3})
    assert slot_of("u3-clustering", owned) == 3
    assert slot_of("u12-clustering", LabState("u12-clustering", "incus", "")) == 12
    assert slot_of("clustering", LabState("clustering", "incus", "")) == 0


def test_image_metadata() -> None:
    text = metadata_yaml(Image("abc123", Path("/x"), "", 0), created=1700000000)
    assert text.startswith("architecture: x86_64\ncreation_date: 1700000000\n") and "abc123" in text


def test_cleaning_a_lab_with_no_state_needs_no_engine(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # `halab up` first cleans every provider's leftovers of a lab with no state: on a host with no Incus engine
    # configured that must find nothing to do, not fail every lab's `up` (it did once the provider was added).
    from halab.providers.incus.provider import IncusProvider

    monkeypatch.setenv("HALAB_INCUS_CONFIG", str(tmp_path / "missing.toml"))
    IncusProvider().down(LabState("clustering", "incus", ""), lambda _line: None)
    made = LabState("clustering", "incus", "", provider_data={"project": "halab-root", "instances": ["x"]})
    with pytest.raises(SpecError):
        IncusProvider().down(made, lambda _line: None)
