"""The sites of a disaster-recovery lab, read from its settings, and a view of one site as a lab of its own.

Each site is a two-node Pacemaker cluster of its own, so the clustering kind's checks and solution steps, which
know one cluster per lab, apply to a site unchanged when they are handed a *site view*: the lab's spec with only
that site's nodes as cluster members, its cluster name (``<cluster_name>-<site>``) and its cluster network as
the only ring. The graders build the same view on recorded facts (site_facts), the solution on the live lab.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, replace
from typing import Any

from halab.errors import HalabError
from halab.spec import MEMBER_ROLE, LabSpec


@dataclass(frozen=True)
class Site:
    name: str  # "a", "b": the site's key in [settings.sites]
    nodes: tuple[str, ...]
    network: str  # the site's own cluster network (Corosync's link)
    booth_ip: str  # the address booth runs on at this site (a floating IP of the site's cluster)
    db_ip: str  # the floating IP that follows the site's PostgreSQL primary
    cluster_name: str

    @property
    def title(self) -> str:
        return f"site {self.name.upper()}"


def sites(spec: LabSpec) -> list[Site]:
    """The lab's sites in the order of its settings; a clear error if the settings do not describe them."""
    table = spec.settings.get("sites")
    if not isinstance(table, dict) or len(table) < 2:
        raise HalabError(f"{spec.path}: settings.sites must be a table of at least two sites")
    found = []
    for name, site in table.items():
        where = f"{spec.path}: settings.sites.{name}"
        if not isinstance(site, dict):
            raise HalabError(f"{where} must be a table")
        nodes = site.get("nodes")
        if not isinstance(nodes, list) or not nodes or any(n not in spec.member_names for n in nodes):
            raise HalabError(f"{where}.nodes must list cluster nodes of the lab ({', '.join(spec.member_names)})")
        for key in ("booth_ip", "db_ip"):
            try:
                ipaddress.IPv4Address(str(site.get(key)))
            except ValueError:
                raise HalabError(f"{where}.{key} must be an IPv4 address, not {site.get(key)!r}") from None
        network = site.get("network")
        if network not in [n.name for n in spec.networks]:
            raise HalabError(f"{where}.network must name one of the lab's networks, not {network!r}")
        found.append(Site(str(name), tuple(nodes), str(network), str(site["booth_ip"]), str(site["db_ip"]),
                          f"{spec.settings['cluster_name']}-{name}"))
    return found


def site_of(spec: LabSpec, node: str) -> Site | None:
    return next((site for site in sites(spec) if node in site.nodes), None)


def arbitrator_address(spec: LabSpec) -> str:
    """The arbitrator's address on the WAN (the management network, which every node is on)."""
    node = spec.node(str(spec.settings.get("arbitrator", "arbitrator")))
    return str(node.addresses[spec.management_network.name])


def wan_address(spec: LabSpec, node: str) -> str:
    return str(spec.node(node).addresses[spec.management_network.name])


def site_spec(spec: LabSpec, site: Site) -> LabSpec:
    """The lab seen as the one cluster of ``site``: its nodes are the members, every other node a bystander
    (role "other"), its cluster name and ring network are the site's."""
    nodes = tuple(replace(node, role=MEMBER_ROLE if node.name in site.nodes else "other") for node in spec.nodes)
    settings: dict[str, Any] = {**spec.settings, "cluster_name": site.cluster_name, "ring_networks": [site.network],
                                "floating_ip": site.db_ip}
    return replace(spec, nodes=nodes, settings=settings)


def database(spec: LabSpec) -> dict[str, str]:
    """The lab's database: name, user and password the client (and the graders' writer) use."""
    value = spec.settings.get("database")
    if not isinstance(value, dict) or not all(isinstance(value.get(k), str) for k in ("name", "user", "password")):
        raise HalabError(f"{spec.path}: settings.database needs name, user and password")
    return {k: str(value[k]) for k in ("name", "user", "password")}


def client_conninfo(spec: LabSpec, timeout: int = 2) -> str:
    """What a client of the service connects with: every site's database IP, and libpq picks the one that takes
    writes (target_session_attrs=read-write), so the client follows the primary from site to site."""
    db = database(spec)
    hosts = ",".join(site.db_ip for site in sites(spec))
    return (f"host={hosts} dbname={db['name']} user={db['user']} password={db['password']} "
            f"target_session_attrs=read-write connect_timeout={timeout}")
