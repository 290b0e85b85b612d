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
  the notebook's lab facts), and pcsd enabled and started.
"""

from __future__ import annotations

import os
import secrets
import shlex
import string
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING

from halab.errors import HalabError
from halab.ssh import new_keypair
from halab.state import lab_dir

if TYPE_CHECKING:
    from halab.lab import Lab
    from halab.spec import LabSpec
    from halab.state import NodeInfo

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
    path = password_file(lab)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC | os.O_NOFOLLOW, 0o600)
    with open(fd, "w") as handle:
        os.fchmod(fd, 0o600)
        handle.write(password)
    return password


def cluster_password(lab: str) -> str | None:
    """The lab's ``hacluster`` password, or None (a lab without cluster members, or made before halab set one)."""
    try:
        return password_file(lab).read_text().strip() or None
    except OSError:
        return None


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
                     # --no-block: pcsd takes a few seconds to start, which `up` need not wait for
                     "systemctl enable --quiet pcsd && systemctl start --no-block pcsd"]
    return " && ".join(commands)


def setup(lab: Lab, spec: LabSpec, nodes: list[NodeInfo]) -> None:
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
        result = lab.run(node.name, node_commands(public, password if node.name in members else None), timeout=60)
        if not result.ok:
            raise HalabError(f"{node.name}: setting up SSH between the nodes failed: "
                             f"{(result.stderr or result.stdout).strip()[-300:]}")

    with ThreadPoolExecutor(max_workers=len(nodes)) as pool:
        list(pool.map(one, nodes))
