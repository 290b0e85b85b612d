"""The dr kind's live fact from the client: what a client of the service gets when it connects to the sites'
database IPs the way the lab's applications should (libpq with both hosts and target_session_attrs=read-write).

Kept raw in the evidence as ``raw["client"]`` (psql's CSV, or the error); the check client-writes reads it.
"""

from __future__ import annotations

import shlex
from typing import Any

from graders.dr.sites import client_conninfo, sites
from halab.errors import HalabError
from halab.lab import Lab

QUERY = ("select inet_server_addr() as server, pg_is_in_recovery() as in_recovery, "
         "current_setting('transaction_read_only') as read_only")


def client_probe(lab: Lab) -> dict[str, Any]:
    client = lab.spec.with_role("client")[0].name
    hosts = ",".join(site.db_ip for site in sites(lab.spec))
    command = f"psql {shlex.quote(client_conninfo(lab.spec))} -X --csv -c {shlex.quote(QUERY)}"
    try:
        result = lab.run(client, command, timeout=20)
    except HalabError as exc:
        return {"conninfo_hosts": hosts, "stdout": "", "error": str(exc)}
    lines = (result.stderr or result.stdout).strip().splitlines()
    error = "" if result.ok else lines[-1] if lines else f"psql exited {result.exit_status}"
    return {"conninfo_hosts": hosts, "stdout": result.stdout, "error": error}
