"""The infrastructure kind: a two-node Pacemaker cluster on two Corosync links with link monitoring and a
tuned failover, plus a client node (lab infrastructure). A Pacemaker cluster, so it derives from clustering."""

from graders import clustering
from graders.infrastructure import monitoring  # noqa: F401 - registers the link-monitoring check
from graders.infrastructure.checks import CHECKS
from halab.spec.kinds import FaultDef, register

SERVICE = ("membership", "stonith", "floating-ip", "web-server")


def _fault(check_id: str, title: str, hint: str, requires: tuple[str, ...], function: str) -> FaultDef:
    return FaultDef(check_id, title, hint, requires, f"graders.infrastructure.faults:{function}")


KIND = register(clustering.KIND.derive(
    "infrastructure",
    settings=("cluster_name", "floating_ip", "ring_networks", "client_network", "client_address"),
    optional_settings=("recovery_time_objective_s", "failover_target_s", "token_range_ms"),
    tasks=("links", "service", "monitoring", "tuning", "proof"),
    roles=("node", "client"),
    commands={**clustering.CLUSTER_COMMANDS,
              "cfgtool": "corosync-cfgtool -s",
              "cmapctl": "corosync-cmapctl runtime.config.totem",
              # the links that carry data, a second apart: the link_mode knet runs (collectors/knet_traffic.py)
              "knet_traffic": "corosync-cmapctl -g runtime.votequorum.this_node_id && "
                              "corosync-cmapctl -m stats stats.knet | grep '\\.tx_data_packets ' && sleep 1 && "
                              "echo === && corosync-cmapctl -m stats stats.knet | grep '\\.tx_data_packets '"},
    checks=CHECKS.defs,
    faults={f.id: f for f in (
        _fault("ring0-cut", "A cut cluster link: the cluster carries on over the other one",
               "Both links need ringN_addr on every node; the second link must be up before the first fails.",
               (*SERVICE, "links-connected"), "ring0_cut"),
        _fault("lan-cut", "A cut client cable: the service moves to the node the clients still reach",
               "A cloned ping (or ethmonitor) and a location rule on its attribute move the service.",
               (*SERVICE, "link-monitoring"), "lan_cut"),
        _fault("failover-tuned", "Power loss of the active node: the failover beats the lab's target",
               "Lower token and consensus in the totem section; keep the fencing delay short.",
               SERVICE, "failover_tuned"),
        _fault("rings-cut", "Both rings of a node cut: exactly one node is fenced, the service keeps running",
               "Fencing must be on; a fence delay keeps both nodes from shooting each other.",
               (*SERVICE, "links-connected"), "rings_cut"),
    )},  # `halab fault infrastructure partition NODE` comes with the clustering kind
    scenarios="graders.infrastructure.scenarios:SCENARIOS",
))
