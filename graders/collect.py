"""Run a lab kind's commands on every node of a live lab and keep their raw output.

The raw output is the evidence: checks are computed from it (through the parsers in collectors/), it can
be saved with a student's submission and graded again later without the lab, and recorded runs from real
nodes are the unit tests' fixtures. Nodes are queried in parallel over one reused SSH connection each. The
commands themselves belong to each kind (graders/<kind>/__init__.py).
"""

from __future__ import annotations

import time
import urllib.error
import urllib.request
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from halab.errors import HalabError
from halab.lab import Lab

COMMAND_TIMEOUT = 15.0


def _collect_node(lab: Lab, node: str, commands: dict[str, str]) -> dict[str, Any]:
    entry: dict[str, Any] = {"reachable": False, "error": "", "commands": {}}
    try:
        lab.client(node, timeout=5)
    except HalabError as exc:
        entry["error"] = str(exc)
        return entry
    entry["reachable"] = True
    for key, command in commands.items():
        try:
            result = lab.run(node, command, timeout=COMMAND_TIMEOUT)
            if result.incomplete:  # the answer lacks its end: the commands only read, so ask once more
                lab.drop_connection(node)
                result = lab.run(node, command, timeout=COMMAND_TIMEOUT)
        except HalabError as exc:
            entry["reachable"], entry["error"] = False, str(exc)
            break
        entry["commands"][key] = {"command": command, "exit": result.exit_status,
                                  "stdout": result.stdout, "stderr": result.stderr}
        if result.truncated:  # the rest was never read: a check must not judge half an output
            entry["commands"][key]["truncated"] = True
        if result.incomplete:  # twice: the node could not be read, which says nothing of the student's work
            entry["commands"][key]["incomplete"] = result.incomplete
    return entry


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    """A redirect is an answer, not an instruction: following it would let a student's page make the grader
    fetch any URL the host reaches (its own services) and put the reply into the evidence."""

    def redirect_request(self, *_args: Any, **_kwargs: Any) -> None:
        return None


_OPENER = urllib.request.build_opener(_NoRedirects, urllib.request.ProxyHandler({}))


def probe_http(url: str, timeout: float = 3.0) -> dict[str, Any]:
    """What a client of the service sees: the host asks the floating IP for the page (no proxy, and no
    redirect followed: a 3xx is reported as its status)."""
    try:
        with _OPENER.open(url, timeout=timeout) as reply:
            return {"url": url, "status": reply.status, "body": reply.read(2000).decode(errors="replace"),
                    "error": ""}
    except urllib.error.HTTPError as exc:
        return {"url": url, "status": exc.code, "body": "", "error": f"HTTP {exc.code}"}
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        return {"url": url, "status": None, "body": "", "error": str(reason) or type(exc).__name__}


def _collected(name: str, future: Future[Any]) -> Any:
    """A kind collector's facts; if it failed, the reason, for its checks to report (never a traceback)."""
    try:
        return future.result()
    except Exception as exc:  # noqa: BLE001 - a collector bug or a lab in a state it did not foresee
        return {"collector_error": f"collecting {name} failed: {type(exc).__name__}: {exc}"}


def collect_raw(lab: Lab, commands: dict[str, str] | None = None) -> dict[str, Any]:
    """Raw facts of every node: {"lab", "kind", "collected_at", "nodes": {name: {reachable, error, commands}},
    "probes": {...}}, plus what the kind's collectors gather (e.g. "libvirt") and the lab-state records the kind
    keeps in its evidence (e.g. "split_brain")."""
    spec = lab.spec
    kind = spec.kind_def
    names = spec.node_names
    wanted = {node.name: commands or kind.commands_for(spec.settings, node.role) for node in spec.nodes}
    urls = kind.probes_for(spec.settings)
    collectors = kind.collector_functions()
    with ThreadPoolExecutor(max_workers=len(names) + len(urls) + len(collectors)) as pool:
        results = pool.map(lambda node: _collect_node(lab, node, wanted[node]), names)
        probes = {name: pool.submit(probe_http, url) for name, url in urls.items()}
        gathered = {name: pool.submit(function, lab) for name, function in collectors.items()}
        nodes = dict(zip(names, results, strict=True))
        probed = {name: future.result() for name, future in probes.items()}
        extra = {name: _collected(name, future) for name, future in gathered.items()}
    raw = {"lab": lab.name, "kind": spec.kind, "collected_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
           "nodes": nodes, "probes": probed, **extra}
    state = lab.state()
    for record in kind.evidence_records:
        if state.provider_data.get(record):
            raw[record] = state.provider_data[record]
    return raw
