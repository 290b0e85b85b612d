"""What a real cluster's admin has between the nodes: root SSH from node to node, and pcsd with a password.

`crm cluster init/join` and `scp /etc/corosync/authkey node2:` need root SSH between the nodes, and `pcs host
auth` needs pcsd and a password for ``hacluster``. At `halab up`, once the nodes answer, every node of the lab
gets:

- one key pair of the lab's (``/root/.ssh/id_ed25519``), authorized on the lab's nodes only: never on the
  host (whose key to the nodes is another one, kept on the host) and never on another lab's nodes, since every
  lab makes its own;
- every node's pinned host key in ``/etc/ssh/ssh_known_hosts``, under each name and address /etc/hosts gives
  it, so that the first `ssh node2` asks nothing and trusts nothing it has not been told;
- on the cluster's members (role "node"; not a load-balancing lab's balancers, web servers or clients), a
  random password for ``hacluster``, new at every `up` and shown to the lab's owner only (`halab status`,
  the notebook's lab facts), and pcsd on its port (started by the first connection: halab-pcsd.socket);
- a TLS key and certificate for csync2 (with which `crm cluster join` copies the cluster's files): Debian's
  csync2 makes none. Each node its own key; one subject for the whole lab, as GnuTLS sends a client
  certificate only when its issuer is among the names the server asks for (csync2 then pins each peer's
  certificate in its database).
"""

from __future__ import annotations

import datetime
import secrets
import shlex
import string
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from halab.errors import HalabError
from halab.host.fs import write_secret
from halab.runtime.ssh import CommandResult, new_keypair
from halab.runtime.state import lab_dir

if TYPE_CHECKING:
    from halab.runtime.state import NodeInfo
    from halab.spec.model import LabSpec

CLUSTER_USER = "hacluster"
_PASSWORD_CHARACTERS = string.ascii_letters + string.digits  # nothing a shell or `pcs -p` reads specially


def known_hosts(spec: LabSpec, nodes: list[NodeInfo]) -> str:
    """/etc/ssh/ssh_known_hosts: each node's host key under all of its names and addresses."""
    keys = {node.name: " ".join(node.host_key.split()[:2]) for node in nodes}
    lines = []
    for node in spec.nodes:
        if node.name not in keys:
            continue
        names = [node.name] + [name for _, name in spec.host_entries() if name.startswith(f"{node.name}-")]
        addresses = [str(node.addresses[network.name]) for _, network in spec.networks_of(node)]
        lines.append(f"{','.join(dict.fromkeys(names + addresses))} {keys[node.name]}")
    return "# halab: the host keys of this lab's nodes, pinned when the lab was made\n" + "\n".join(lines) + "\n"


def password_file(lab: str) -> Path:
    return lab_dir(lab) / "hacluster.password"


def new_password(lab: str) -> str:
    """A password for ``hacluster`` in this lab instance, kept for its owner (mode 0600, root's)."""
    password = "".join(secrets.choice(_PASSWORD_CHARACTERS) for _ in range(12))
    write_secret(password_file(lab), password)
    return password


def cluster_password(lab: str) -> str | None:
    """The lab's ``hacluster`` password, or None (a lab without cluster members, or made before halab set one)."""
    try:
        return password_file(lab).read_text().strip() or None
    except OSError:
        return None


def csync2_tls(lab: str) -> tuple[bytes, bytes]:
    """A key and a self-signed certificate for one node's csync2 (PEM), under the lab's common subject."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"{lab} csync2")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=3650)).sign(key, hashes.SHA256()))
    return (key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
                              serialization.NoEncryption()), cert.public_bytes(serialization.Encoding.PEM))


def node_commands(public_key: str, password: str | None) -> str:
    """The shell commands that make a node trust the lab's key (and, with a password, set up pcsd): idempotent,
    so that `up` run again on a lab that is up changes nothing."""
    key = shlex.quote(public_key)
    commands = [
        "chmod 600 /root/.ssh/id_ed25519",
        f"grep -qxF {key} /root/.ssh/authorized_keys 2>/dev/null || echo {key} >> /root/.ssh/authorized_keys",
    ]
    if password is not None:
        commands += [f"echo {shlex.quote(f'{CLUSTER_USER}:{password}')} | chpasswd",
                     # pcsd starts at the first connection to its port (halab/image/files/.../halab-pcsd.socket)
                     "systemctl enable --quiet --now halab-pcsd.socket"]
    return " && ".join(commands)


class Nodes(Protocol):
    """What setup needs of a lab (halab.lab.Lab, which calls it: not imported here, it imports this module)."""

    name: str

    def write_file(self, node: str, path: str, content: str | bytes, mode: int = 0o644) -> None: ...
    def run(self, node: str, command: str, timeout: float = 30.0) -> CommandResult: ...


def setup(lab: Nodes, spec: LabSpec, nodes: list[NodeInfo]) -> None:
    """Give the lab's nodes root SSH between them, pinned host keys, and (members) pcsd and its password."""
    private, public = new_keypair()
    public = f"{public} root@{spec.name}-nodes"
    password = new_password(lab.name) if spec.members else None
    members = set(spec.member_names)
    hosts = known_hosts(spec, nodes)

    def one(node: NodeInfo) -> None:
        lab.write_file(node.name, "/etc/ssh/ssh_known_hosts", hosts, 0o644)
        lab.write_file(node.name, "/root/.ssh/id_ed25519", private, 0o600)
        lab.write_file(node.name, "/root/.ssh/id_ed25519.pub", public + "\n", 0o644)
        if node.name in members:
            tls_key, tls_cert = csync2_tls(spec.name)
            lab.write_file(node.name, "/etc/csync2_ssl_key.pem", tls_key, 0o600)
            lab.write_file(node.name, "/etc/csync2_ssl_cert.pem", tls_cert, 0o644)
        result = lab.run(node.name, node_commands(public, password if node.name in members else None), timeout=60)
        if not result.ok:
            raise HalabError(f"{node.name}: setting up SSH between the nodes failed: "
                             f"{(result.stderr or result.stdout).strip()[-300:]}")

    with ThreadPoolExecutor(max_workers=len(nodes)) as pool:
        list(pool.map(one, nodes))
