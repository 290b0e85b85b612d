"""The clustering kind: a Corosync/Pacemaker failover cluster with fencing and a web service behind a
floating IP (labs clustering and clustering3). Other Pacemaker kinds derive from it."""

from graders.clustering.checks import CHECKS
from halab.spec.kinds import FaultDef, Kind, register

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
    tasks=("corosync", "authkey", "services", "fencing", "web", "tidy", "failover"),
    commands=CLUSTER_COMMANDS,
    checks=CHECKS.defs,
    faults={"failover": FaultDef(
        "failover", "Power loss of the active node: the web service moves to the other node in time",
        "The survivor must keep quorum (two_node for two nodes), fence the lost node, and start the group.",
        ("membership", "stonith", "floating-ip", "web-server"), "graders.clustering.faults:failover",
    )},
    probes={"http": "http://{floating_ip}/"},
))
