"""The dr lab's parsers (booth list, booth peers, booth.conf, crm_ticket, psql --csv), on output recorded from
real nodes (tests/fixtures/dr, made by tests/fixtures/scenarios_dr.py) and on garbage."""

from __future__ import annotations

import json
from functools import cache
from typing import Any

import pytest

from graders.collectors import ParseError, booth_conf, booth_list, booth_peers, crm_ticket, psql
from tests.support.paths import FIXTURES as ALL_FIXTURES

FIXTURES = ALL_FIXTURES / "dr"


@cache
def raw(scenario: str) -> dict[str, Any]:
    return json.loads((FIXTURES / f"{scenario}.json").read_text())


def text(scenario: str, node: str, key: str) -> str:
    return raw(scenario)["nodes"][node]["commands"][key]["stdout"]


def test_booth_list_names_the_leader_and_expiry() -> None:
    listed = booth_list.parse(text("solved", "arbitrator", "booth_list"))
    ticket = listed.tickets["ticket-db"]
    assert ticket.leader == "10.42.70.110" and ticket.expires and not ticket.manual
    assert listed.granted_to_several == {}


def test_booth_list_without_a_leader_and_with_a_double_grant() -> None:
    listed = booth_list.parse("ticket: t1, leader: NONE\nticket: t2, leader: 10.0.0.1, expires: 2026-12-06 10:00:00 "
                              "[manual mode]\n\nWARNING: The ticket t2 is granted to multiple sites: 10.0.0.1, "
                              "10.0.0.2. Revoke the ticket from the faulty sites.\n")
    assert listed.tickets["t1"].leader == "" and listed.tickets["t2"].manual
    assert listed.granted_to_several == {"t2": ["10.0.0.1", "10.0.0.2"]}


def test_booth_peers_counts_what_was_heard() -> None:
    peers = booth_peers.parse(text("solved", "arbitrator", "booth_peers"))
    assert {p.address for p in peers} == {"10.42.70.110", "10.42.70.210"}
    assert all(p.type == "site" and p.heard and p.authfail == 0 for p in peers)


def test_booth_conf_reads_sites_arbitrator_and_ticket_options() -> None:
    conf = booth_conf.parse(text("solved", "a1", "booth_conf"))
    assert conf.sites == ["10.42.70.110", "10.42.70.210"] and conf.arbitrators == ["10.42.70.30"]
    assert conf.ticket_option("ticket-db", "expire") == "30" and conf.options["authfile"] == "/etc/booth/authkey"
    assert booth_conf.parse('expire = 20\nticket = "t"\n').ticket_option("t", "expire") == "20"


@pytest.mark.parametrize("garbage", ["site 10.0.0.1", 'ticket = ""', 'ticket = "t"\n  expiry = 5'])
def test_booth_conf_refuses_what_booth_refuses(garbage: str) -> None:
    with pytest.raises(ParseError):
        booth_conf.parse(garbage)


def test_crm_ticket_granted_at_one_site_revoked_at_the_other() -> None:
    at_a = crm_ticket.parse(text("solved", "a1", "crm_ticket"))["ticket-db"]
    at_b = crm_ticket.parse(text("solved", "b1", "crm_ticket"))["ticket-db"]
    assert at_a.granted and not at_a.standby and not at_b.granted


def test_psql_csv_rows_and_flags() -> None:
    rows = psql.parse(text("solved", "a1", "pg_replication")) or psql.parse(text("solved", "a2", "pg_replication"))
    assert {r["application_name"] for r in rows} >= {"b1", "b2"}
    assert all(r["state"] == "streaming" and r["sync_state"] == "async" for r in rows)
    assert psql.flag("t") is True and psql.flag("f") is False and psql.flag("") is None
    quoted = psql.parse('a,b\n"x, y",1\n')
    assert quoted == [{"a": "x, y", "b": "1"}]


@pytest.mark.parametrize("parser", [booth_list.parse, booth_peers.parse, crm_ticket.parse, psql.parse])
@pytest.mark.parametrize("garbage", ["\x00\x01binary", "<html>error</html>", "a,b\n1,2,3\n"])
def test_garbage_is_a_parse_error(parser: Any, garbage: str) -> None:
    with pytest.raises(ParseError):
        parser(garbage)
