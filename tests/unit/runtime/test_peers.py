"""Root SSH between a lab's nodes and the pcsd login (halab/runtime/peers.py): what `halab up` writes into the nodes."""

from __future__ import annotations

import stat
import subprocess
from pathlib import Path

import pytest

from halab import paths
from halab.runtime import peers
from halab.runtime.ssh import CommandResult
from halab.runtime.state import NodeInfo
from halab.spec import load_spec


def inventory(lab: str) -> list[NodeInfo]:
    return [NodeInfo(node.name, str(node.addresses[load_spec(lab).management_network.name]), 22, "root", "/k",
                     f"ssh-ed25519 AAAAkey{node.name}") for node in load_spec(lab).nodes]


def test_known_hosts_pin_every_name_and_address_of_every_node() -> None:
    spec = load_spec("infrastructure")
    text = peers.known_hosts(spec, inventory("infrastructure"))
    lines = {line.split()[0]: line.split()[1:] for line in text.splitlines() if not line.startswith("#")}
    node1 = next(names for names in lines if names.startswith("node1,"))
    assert set(node1.split(",")) == {"node1", "node1-ring0", "node1-ring1", *(str(a) for a in
                                     spec.node("node1").addresses.values())}
    assert lines[node1] == ["ssh-ed25519", "AAAAkeynode1"]
    # Every name /etc/hosts gives a node is pinned, so `ssh node2-ring1` asks nothing either.
    assert {name for _, name in spec.host_entries()} <= {n for names in lines for n in names.split(",")}


def test_the_password_is_the_labs_own_and_only_roots(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(paths, "state_dir", lambda: tmp_path)
    first = peers.new_password("clustering")
    assert len(first) == 12 and first.isalnum()
    assert stat.S_IMODE(peers.password_file("clustering").stat().st_mode) == 0o600
    assert peers.cluster_password("clustering") == first
    assert peers.new_password("u3-clustering") != first  # another lab, another password
    assert peers.cluster_password("drbd") is None


def test_node_commands_are_idempotent_and_quote_what_they_write(tmp_path: Path) -> None:
    """The commands run for real against a stand-in root: the key is authorized once, however often `up` runs."""
    home = tmp_path / "root/.ssh"
    home.mkdir(parents=True)
    (home / "authorized_keys").write_text("ssh-ed25519 AAAAhalab halab\n")
    (home / "id_ed25519").write_text("private\n")
    key = "ssh-ed25519 AAAAnodes root@clustering-nodes"
    script = peers.node_commands(key, None).replace("/root/", f"{tmp_path}/root/")
    for _ in range(2):
        subprocess.run(["sh", "-ec", script], check=True)
    assert (home / "authorized_keys").read_text().splitlines() == ["ssh-ed25519 AAAAhalab halab", key]
    assert stat.S_IMODE((home / "id_ed25519").stat().st_mode) == 0o600
    with_password = peers.node_commands(key, "Pa55word")
    assert "echo hacluster:Pa55word | chpasswd" in with_password
    assert "enable --quiet --now halab-pcsd.socket" in with_password


def test_only_cluster_members_get_pcsd(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(paths, "state_dir", lambda: tmp_path)
    ran: dict[str, str] = {}
    written: dict[tuple[str, str], int] = {}

    class FakeLab:
        name = "infrastructure"

        def write_file(self, node: str, path: str, content: str, mode: int) -> None:
            written[(node, path)] = mode

        def run(self, node: str, command: str, timeout: float) -> CommandResult:
            ran[node] = command
            return CommandResult(0, "", "")

    spec = load_spec("infrastructure")
    peers.setup(FakeLab(), spec, inventory("infrastructure"))  # type: ignore[arg-type]
    assert {node for node, command in ran.items() if "pcsd" in command} == set(spec.member_names)
    assert "client" in ran and "chpasswd" not in ran["client"]
    assert written[("client", "/root/.ssh/id_ed25519")] == 0o600
    assert written[("node1", "/etc/ssh/ssh_known_hosts")] == 0o644
    assert written[("node1", "/etc/csync2_ssl_key.pem")] == 0o600 and ("client", "/etc/csync2_ssl_key.pem") \
        not in written
    assert peers.cluster_password("infrastructure")


def test_csync2_certificates_share_the_labs_subject_with_keys_of_their_own() -> None:
    from cryptography import x509

    (key1, cert1), (key2, cert2) = peers.csync2_tls("clustering"), peers.csync2_tls("clustering")
    first, second = x509.load_pem_x509_certificate(cert1), x509.load_pem_x509_certificate(cert2)
    assert first.subject == second.subject == first.issuer  # GnuTLS sends a client cert only for a known issuer
    assert key1 != key2 and first.public_key().public_numbers() != second.public_key().public_numbers()
