"""The dr kind: disaster recovery between two sites (lab dr). Each site is a two-node Pacemaker cluster with
fencing and PostgreSQL under PAF; booth with an arbitrator hands one ticket to one site, whose primary replicates
asynchronously across the WAN to the other site; a client writes through the sites' database IPs.

Site nodes are cluster members (role "node") of their own site's cluster (graders/dr/sites.py says which);
the arbitrator runs booth only; the client is where the graders' writer runs.
"""

from graders.clustering import CLUSTER_COMMANDS
from graders.dr import booth_checks  # noqa: F401 - adds the booth checks to CHECKS
from graders.dr.checks import CHECKS
from halab.spec.kinds import FaultDef, Injection, Kind, register

_PSQL = "runuser -u postgres -- psql -X --csv -h /var/run/postgresql"
# booth's authfile as booth.conf names it (booth.conf's own default has none).
_BOOTH_AUTHKEY = ("f=$(sed -n 's/^[[:space:]]*authfile[[:space:]]*=[[:space:]]*\"\\?\\([^\"#]*\\)\"\\?.*/\\1/p' "
                  "/etc/booth/booth.conf | tr -d ' '); if [ -z \"$f\" ]; then echo 'no authfile in booth.conf' >&2; "
                  "exit 2; fi; stat -c '%a %U %G %s' \"$f\" && sha256sum \"$f\"")
BOOTH = {
    "booth_conf": "cat /etc/booth/booth.conf",
    "booth_authkey": _BOOTH_AUTHKEY,
    "booth_list": "booth list",
    "booth_peers": "booth peers",
}
SITE_NODE = {
    **CLUSTER_COMMANDS,
    **BOOTH,
    "crm_ticket": "crm_ticket --details",
    "pg_enabled": "systemctl is-enabled postgresql postgresql@15-main 2>&1; true",
    "pg_node": _PSQL + " -c \"select pg_is_in_recovery() as in_recovery, "
                       "current_setting('synchronous_standby_names') as synchronous_standby_names, "
                       "(select status from pg_stat_wal_receiver) as receiver_status, "
                       "(select sender_host from pg_stat_wal_receiver) as sender_host\"",
    "pg_replication": _PSQL + " -c \"select application_name, client_addr, state, sync_state, "
                              "pg_wal_lsn_diff(sent_lsn, replay_lsn) as replay_lag_bytes from pg_stat_replication\"",
}
ARBITRATOR = {**BOOTH, "booth_enabled": "systemctl is-enabled booth-arbitrator booth@booth 2>/dev/null; true"}

_FAULTS = "graders.dr.faults"
_READY = ("one-primary", "replication", "rsc-ticket", "ticket-granted", "client-writes", "promotion-scores",
          "booth-sites")

KIND = register(Kind(
    name="dr",
    settings=("cluster_name", "sites", "arbitrator", "database", "site_loss_rto_s", "site_loss_rpo_s"),
    optional_settings=("expire_range_s",),
    tasks=("sites", "database", "booth", "proof"),
    roles=("node", "arbitrator", "client"),
    commands=SITE_NODE,
    role_commands={"arbitrator": ARBITRATOR},
    collectors={"client": "graders.dr.collect:client_probe"},
    checks=CHECKS.defs,
    faults={
        "planned-switch": FaultDef(
            "planned-switch", "A planned site switch: revoke, grant, and not one commit lost",
            "The other site needs promotion scores and the same ticket in its rsc_ticket; every standby's "
            "primary_conninfo names both sites' database IPs.", _READY, f"{_FAULTS}:planned_switch"),
        "wan-cut": FaultDef(
            "wan-cut", "The WAN is cut: exactly one site keeps the ticket and the primary",
            "The arbitrator's vote decides: with it in booth.conf and running, only one side can hold the ticket.",
            (*_READY, "arbitrator"), f"{_FAULTS}:wan_cut"),
        "site-loss": FaultDef(
            "site-loss", "The whole active site is lost: the other takes over within the RTO, losing at most the RPO",
            "A short ticket expiry lowers the RTO; the RPO is what asynchronous replication had not shipped yet.",
            (*_READY, "arbitrator", "ticket-expiry"), f"{_FAULTS}:site_loss"),
        "site-return": FaultDef(
            "site-return", "The lost site returns as the replica, never as a second primary",
            "Only the ticket may let a site promote; a crashed primary must be rebuilt before Pacemaker starts on its "
            "node (PAF's advice: keep Pacemaker off at boot).",
            (*_READY, "postgresql-by-pacemaker"), f"{_FAULTS}:site_return"),
    },
    # After a power cut, `halab fault dr restore` powers the node on and leaves the cluster to its boot (off, as the
    # notebook teaches): starting it there, before the crashed primary is rebuilt, got the node fenced by PAF.
    restore_starts_daemons=False,
    scenarios="graders.dr.scenarios:SCENARIOS",
    injections={"isolate-site": Injection(
        "isolate-site", "cut NODE's whole site off the WAN (the other site, the arbitrator, the client)",
        f"{_FAULTS}:isolate_site_fault")},
))
