"""One Incus project per owner of labs: ``halab`` for root's labs, ``halab-u<slot>`` for a lab service user's.

A project is where the engine itself enforces what halab's quota check promises (so that a bug in halab, or a
request that slipped past it, still cannot take more): ``restricted`` (no privileged containers, no nesting,
no raw LXC settings, no host devices, only the lab networks listed for the project) and, for a service user,
limits from /etc/halab/service.toml (halab/runtime/quotas.py): containers = the user's node quota, and memory,
processes and CPUs as that many nodes may have (NODE_* below, which every node gets as its own limits).
Images, storage and networks are the default project's (``features.*=false``): the node image is imported
once for every project, and lab networks are made by halab, never by a project. Profiles are the project's own
(Incus restricts only projects that have their own), and unused: nodes name every device themselves.
"""

from __future__ import annotations

from typing import Any

from halab.errors import HalabError
from halab.providers.incus.api import Client, EngineError
from halab.runtime.quotas import Quota

NODE_PROCESSES = 2000
NODE_CPUS = 1
NODE_MEMORY_MIB = 1024  # the most a node may ask for within a project's memory limit (spec default)


def project_name(slot: int) -> str:
    return "halab" if slot == 0 else f"halab-u{slot}"


def project_config(quota: Quota | None, networks: list[str]) -> dict[str, str]:
    """The project's configuration; ``quota`` None: root's labs, restricted but without limits."""
    config = {
        "features.images": "false", "features.profiles": "true", "features.storage.volumes": "false",
        "features.storage.buckets": "false", "features.networks": "false", "features.networks.zones": "false",
        "restricted": "true",
        "restricted.containers.privilege": "unprivileged", "restricted.containers.nesting": "block",
        "restricted.containers.lowlevel": "block", "restricted.containers.interception": "block",
        "restricted.devices.disk": "managed", "restricted.devices.nic": "managed",
        "restricted.devices.proxy": "block", "restricted.devices.unix-char": "block",
        "restricted.virtual-machines.lowlevel": "block",
        # halab places a lab's nodes on one member (their switches are bridges of that member).
        "restricted.cluster.target": "allow",
        "restricted.networks.access": ",".join(sorted(networks)),
    }
    if quota is not None:
        config.update({
            "limits.containers": str(quota.nodes), "limits.virtual-machines": "0",
            "limits.memory": f"{quota.nodes * NODE_MEMORY_MIB}MiB",
            "limits.processes": str(quota.nodes * NODE_PROCESSES), "limits.cpu": str(quota.nodes * NODE_CPUS),
        })
    return config


def ensure_project(client: Client, name: str, quota: Quota | None, add_networks: list[str]) -> None:
    """Make the project (or bring its limits up to date) and let it use ``add_networks`` besides those it has."""
    try:
        current: dict[str, Any] = client.get(f"/1.0/projects/{name}")
    except EngineError as exc:
        if exc.status != 404:
            raise
        client.request("POST", "/1.0/projects", body={"name": name, "description": "halab labs",
                                                      "config": project_config(quota, add_networks)})
        return
    networks = _networks(current) | set(add_networks)
    client.request("PATCH", f"/1.0/projects/{name}", body={"config": project_config(quota, sorted(networks))})


def release_networks(client: Client, name: str, networks: list[str]) -> None:
    """Take networks of a lab that is going away off the project's list; remove the project once empty."""
    try:
        current: dict[str, Any] = client.get(f"/1.0/projects/{name}")
    except EngineError as exc:
        if exc.status == 404:
            return
        raise
    remaining = sorted(_networks(current) - set(networks))
    used = [u for u in current.get("used_by") or [] if not u.startswith("/1.0/profiles/default")]
    if not remaining and not used:
        try:
            client.request("DELETE", f"/1.0/projects/{name}")
            return
        except EngineError as exc:
            if exc.status not in (400, 409):  # something of the project's appeared meanwhile
                raise
    access = {"restricted.networks.access": ",".join(remaining)}
    client.request("PATCH", f"/1.0/projects/{name}", body={"config": access})


def _networks(project: dict[str, Any]) -> set[str]:
    value = str((project.get("config") or {}).get("restricted.networks.access", ""))
    return {n for n in value.split(",") if n}


def refusal(exc: EngineError, project: str) -> HalabError:
    """The engine's refusal, said as what it is for the user."""
    return HalabError(f"the Incus engine refused this in project {project}: {exc}")
