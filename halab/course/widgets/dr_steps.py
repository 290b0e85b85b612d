"""The dr lab's guided steps in the student's own values (notebook 08): each step's files and commands, made
from the lab's spec as the student's own lab has it (their slot's addresses and cluster names), by the same
functions the reference solution uses, so that the notebook and the graded lab cannot drift apart."""

from __future__ import annotations

import html
from collections.abc import Callable

import ipywidgets as w

from halab.course import labaccess
from halab.course.widgets.common import message_html
from halab.spec import LabSpec


def _block(title: str, text: str) -> str:
    return (f"<p><b>{html.escape(title)}</b></p><pre style='background:#f6f8fa;padding:6px 10px;"
            f"white-space:pre-wrap'>{html.escape(text.rstrip())}</pre>")


def _sites(spec: LabSpec) -> list[str]:
    from graders.dr.sites import site_spec, sites
    from solutions.clustering import corosync_conf

    parts = []
    for site in sites(spec):
        parts.append(_block(f"Site {site.name.upper()}: /etc/corosync/corosync.conf on {' and '.join(site.nodes)}",
                            corosync_conf(site_spec(spec, site))))
    return parts


def _database(spec: LabSpec) -> list[str]:
    from graders.dr.sites import sites
    from solutions.dr import base_backup_commands, pg_hba, postgresql_conf, primary_sql

    nodes = [n for site in sites(spec) for n in site.nodes]
    parts = [_block(f"/etc/postgresql/15/main/conf.d/dr.conf on {node}", postgresql_conf(spec, node))
             for node in nodes]
    parts.append(_block("appended to /etc/postgresql/15/main/pg_hba.conf on every site node", pg_hba(spec)))
    parts.append(_block(f"on {nodes[0]}: the primary's roles and database", primary_sql(spec)))
    parts.append(_block("the other nodes: a base backup of the primary each", base_backup_commands(spec)))
    return parts


def _booth(spec: LabSpec) -> list[str]:
    from graders.dr.sites import sites
    from solutions.dr import booth_conf, site_crm

    parts = [_block("/etc/booth/booth.conf on every site node and on the arbitrator", booth_conf(spec))]
    parts += [_block(f"Site {site.name.upper()}'s resources (crm configure load update FILE, on {site.nodes[0]})",
                     site_crm(spec, site)) for site in sites(spec)]
    return parts


STEPS: dict[str, Callable[[LabSpec], list[str]]] = {"sites": _sites, "database": _database, "booth": _booth}


def dr_step(step: str, lab: str = "dr") -> w.HTML:
    """The files and commands of one step ("sites", "database", "booth") with the student's own values."""
    try:
        spec, slot, problem = labaccess.own_spec(lab)
        parts = STEPS[step](spec)
    except Exception as exc:  # noqa: BLE001 - a broken spec or unknown step is said, never raised in a notebook
        return w.HTML(message_html(f"Could not show step '{step}' of lab '{lab}': {exc}", "warn"))
    whose = (f"Your own lab's values (slot {slot})." if slot else "The lab's values as written." if slot == 0
             else f"The lab's values as written ({problem or 'your own could not be found'}).")
    return w.HTML(message_html(whose, "info") + "".join(parts))
