"""The clustering kind: a Corosync/Pacemaker failover cluster with fencing and a web service behind a
floating IP (labs clustering and clustering3). Other Pacemaker kinds derive from it."""

from graders.clustering.checks import CHECKS
from halab.spec.kinds import FaultDef, Injection, Kind, register

# What every node of a Pacemaker cluster is asked; the checks read only these (graders/facts.py).
CLUSTER_COMMANDS = {
    "crm_mon": "crm_mon -1 --output-as=xml",
    "cib": "cibadmin --query --local",
    "crm_verify": "crm_verify -L -V",
    "is_active": "systemctl is-active corosync pacemaker",
    "is_enabled": "systemctl is-enabled corosync pacemaker",
    "corosync_conf": "cat /etc/corosync/corosync.conf",
    "authkey": "stat -c '%a %U %G %s' /etc/corosync/authkey && sha256sum /etc/corosync/authkey",
    "addresses": "ip -brief address show",
}

KIND = register(Kind(
    name="clustering",
    settings=("cluster_name", "floating_ip"),
    optional_settings=("recovery_time_objective_s", "ring_networks"),
    tasks=("corosync", "authkey", "services", "fencing", "web", "tidy", "failover", "quorum"),
    commands=CLUSTER_COMMANDS,
    checks=CHECKS.defs,
    faults={"failover": FaultDef(
        "failover", "Power loss of the active node: the web service moves to the other node in time",
        "The survivor must keep quorum (two_node for two nodes), fence the lost node, and start the group.",
        ("membership", "stonith", "floating-ip", "web-server"), "graders.clustering.faults:failover",
    ), "quorum-loss": FaultDef(
        "quorum-loss", "A node cut off from the others: the minority stops, the majority takes over",
        "Three votes: the two connected nodes keep quorum, fence the lost one and start the service; the lost one "
        "has no quorum and stops its resources (no-quorum-policy stop). See notebook 3, section 3.6.",
        ("membership", "stonith", "floating-ip", "web-server", "no-quorum-policy"),
        "graders.clustering.quorum:quorum_loss",
    )},
    injections={"partition": Injection(
        "partition", "drop the cluster traffic between NODE and the other nodes, cables plugged in",
        "graders.clustering.quorum:partition_fault",
    )},
    probes={"http": "http://{floating_ip}/"},
))
