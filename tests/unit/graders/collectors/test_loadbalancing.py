"""The load-balancing lab's parsers, on output recorded from real nodes (tests/fixtures/loadbalancing, made by
tests/fixtures/scenarios_loadbalancing.py) and on garbage."""

from __future__ import annotations

import json
from functools import cache
from typing import Any

import pytest

from graders.collectors import (
    ParseError,
    cat_config,
    curl,
    haproxy_cfg,
    haproxy_check,
    haproxy_stat,
    ip_brief,
    keepalived_check,
    keepalived_data,
    ss,
)
from tests.support.paths import FIXTURES as ALL_FIXTURES

FIXTURES = ALL_FIXTURES / "loadbalancing"
VIP = "10.42.50.100"


@cache
def raw(scenario: str) -> dict[str, Any]:
    return json.loads((FIXTURES / f"{scenario}.json").read_text())


def out(scenario: str, node: str, key: str) -> dict[str, Any]:
    return raw(scenario)["nodes"][node]["commands"][key]


def text(scenario: str, node: str, key: str) -> str:
    return out(scenario, node, key)["stdout"]


def test_haproxy_check_accepts_the_solution_and_quotes_haproxy_on_a_typo() -> None:
    good = out("solved", "lb1", "haproxy_check")
    assert haproxy_check.parse(good["stdout"], good["exit"]).valid
    bad = out("broken-config", "lb2", "haproxy_check")
    result = haproxy_check.parse(bad["stdout"], bad["exit"])
    assert not result.valid and bad["exit"] == 1
    assert result.first_problem().startswith("parsing [/etc/haproxy/haproxy.cfg:")
    assert any("unknown keyword 'chek'" in alert for alert in result.alerts)
    assert not any(a.startswith("Fatal errors") for a in result.alerts)  # the summary lines are dropped


def test_haproxy_check_garbage() -> None:
    with pytest.raises(ParseError):
        haproxy_check.parse("something else entirely\n", 0)
    assert haproxy_check.parse("sh: 1: haproxy: not found\n", 127).alerts == ("sh: 1: haproxy: not found",)


def test_haproxy_cfg_reference_layout() -> None:
    config = haproxy_cfg.parse(text("solved", "lb1", "haproxy_cfg"))
    assert config.files == ["/etc/haproxy/haproxy.cfg"]
    frontend = config.proxies("frontend")[0]
    assert frontend.name == "web" and frontend.own("bind")[0].words[1] == f"{VIP}:80"
    backend = config.backend_of(frontend)
    assert backend is not None and backend.name == "app"
    servers = config.servers(backend)
    assert [(s.name, s.address, s.port, s.has("check"), s.value("cookie")) for s in servers] == [
        ("web1", "10.42.50.21", "80", True, "web1"), ("web2", "10.42.50.22", "80", True, "web2")]
    assert config.global_lines("stats", "socket")[0].words[2] == "/run/haproxy/admin.sock"


def test_haproxy_cfg_directory_listen_and_defaults() -> None:
    config = haproxy_cfg.parse(text("solved-alt", "lb1", "haproxy_cfg"))
    assert config.files == ["/etc/haproxy/conf.d/00-global.cfg", "/etc/haproxy/conf.d/10-site.cfg"]
    site = config.proxies()[0]
    assert site.kind == "listen" and config.backend_of(site) is site
    assert site.last("balance").words == ("balance", "leastconn")  # type: ignore[union-attr] - from defaults
    servers = config.servers(site)
    assert [(s.name, s.address) for s in servers] == [("alpha", "10.42.50.21"), ("beta", "web2")]
    assert all(s.has("check") for s in servers)  # default-server check, in defaults


def test_haproxy_cfg_debian_default_has_no_proxies() -> None:
    config = haproxy_cfg.parse(text("fresh", "lb1", "haproxy_cfg"))
    assert config.proxies() == [] and [s.kind for s in config.sections] == ["global", "defaults"]


@pytest.mark.parametrize("garbage", ["", "\x00\xff binary", "frontend x\n bind :80\n"])
def test_haproxy_cfg_garbage(garbage: str) -> None:
    with pytest.raises(ParseError):
        haproxy_cfg.parse(garbage)


def test_haproxy_cfg_named_defaults_and_unbalanced_quotes() -> None:
    listing = ("### halab-file: /x.cfg\ndefaults base\n    balance source\ndefaults\n    balance first\n"
               "backend b from base\n    server s 1.2.3.4:80 check\n    http-request set-header X \"unclosed\n")
    backend = haproxy_cfg.parse(listing).proxy("b")
    assert backend is not None and backend.last("balance").words[1] == "source"  # type: ignore[union-attr]


def test_haproxy_stat_from_the_runtime_api() -> None:
    stats = haproxy_stat.parse(text("solved", "lb1", "haproxy_stat"))
    servers = stats.servers("app")
    assert {(s.name, s.status, s.check_status, s.address, s.cookie) for s in servers} == {
        ("web1", "UP", "L7OK", "10.42.50.21:80", "web1"), ("web2", "UP", "L7OK", "10.42.50.22:80", "web2")}
    backend = stats.backend("app")
    assert backend is not None and backend.algorithm == "roundrobin" and backend.cookie == "SERVERID"


def test_haproxy_stat_server_down_and_unchecked() -> None:
    down = {s.name: s for s in haproxy_stat.parse(text("web-down", "lb1", "haproxy_stat")).servers()}
    assert down["web2"].status == "DOWN" and down["web2"].check_status == "L4CON" and down["web1"].up
    unchecked = {s.name: s for s in haproxy_stat.parse(text("half-done", "lb1", "haproxy_stat")).servers()}
    assert not unchecked["web2"].checked and unchecked["web1"].checked


@pytest.mark.parametrize("garbage", ["", "Unknown command. Please enter one of the following commands only :\n",
                                     "# pxname,svname\nweb,FRONTEND\n"])
def test_haproxy_stat_garbage(garbage: str) -> None:
    with pytest.raises(ParseError):
        haproxy_stat.parse(garbage)


def test_haproxy_stat_truncated_row() -> None:
    lines = text("solved", "lb1", "haproxy_stat").splitlines()
    with pytest.raises(ParseError, match="fields"):
        haproxy_stat.parse("\n".join([lines[0], lines[2][:40]]))


def test_keepalived_check_missing_valid_and_broken() -> None:
    fresh = out("fresh", "lb1", "keepalived_check")
    assert keepalived_check.parse(fresh["stdout"], fresh["exit"]).missing
    good = out("solved", "lb1", "keepalived_check")
    assert keepalived_check.parse(good["stdout"], good["exit"]).valid
    bad = out("broken-config", "lb1", "keepalived_check")
    result = keepalived_check.parse(bad["stdout"], bad["exit"])
    assert not result.valid and not result.missing
    assert "/etc/keepalived/keepalived.conf:19: Unknown keyword 'advert_intt'" in result.messages
    assert len(result.messages) == len(set(result.messages))


def test_keepalived_data_master_with_a_script() -> None:
    data = keepalived_data.parse(text("solved", "lb1", "keepalived_data"))
    assert data.router_id == "lb1"
    (instance,) = data.instances
    assert (instance.name, instance.state, instance.router_id, instance.priority, instance.preempt) == (
        "VI_WEB", "MASTER", 50, 150, True)
    assert instance.has_address(VIP) and instance.interface == "eth0" and instance.advert_interval == "1 sec"
    assert [(t.name, t.weight) for t in instance.scripts] == [("chk_haproxy", 0)]
    assert data.scripts["chk_haproxy"].status == "GOOD"


def test_keepalived_data_unicast_nopreempt_backup() -> None:
    (instance,) = keepalived_data.parse(text("solved-alt", "lb2", "keepalived_data")).instances
    assert (instance.state, instance.priority, instance.preempt) == ("BACKUP", 110, False)
    assert instance.unicast_peers == ("10.42.50.11",)


def test_keepalived_data_track_process_in_a_container() -> None:
    data = keepalived_data.parse(text("track-process", "lb1", "keepalived_data"))
    assert data.instances[0].state == "FAULT"
    assert [(t.name, t.weight) for t in data.instances[0].processes] == [("haproxy_alive", 0)]
    process = data.processes["haproxy_alive"]
    assert (process.process, process.current, process.quorum) == ("haproxy", 0, False)


@pytest.mark.parametrize("garbage", ["", "garbage\n", " VRRP Instance = x\n"])
def test_keepalived_data_garbage(garbage: str) -> None:
    with pytest.raises(ParseError):
        keepalived_data.parse(garbage)


def test_ip_brief_who_holds_the_address() -> None:
    assert ip_brief.holds(ip_brief.parse(text("solved", "lb1", "addresses")), VIP) == "eth0"
    assert ip_brief.holds(ip_brief.parse(text("solved", "lb2", "addresses")), VIP) is None
    assert all(ip_brief.holds(ip_brief.parse(text("split-brain", node, "addresses")), VIP) for node in ("lb1", "lb2"))
    with pytest.raises(ParseError):
        ip_brief.parse("eth0 UP not-an-address\n")


def test_ss_haproxy_listens_on_the_address_on_the_backup() -> None:
    listeners = ss.parse(text("solved", "lb2", "listening"))
    assert ss.listening(listeners, VIP, 80, "haproxy") is not None
    assert ss.listening(listeners, VIP, 80, "apache2") is None
    assert ss.Listener("*", 80, ("haproxy",)).serves(VIP, 80)
    with pytest.raises(ParseError):
        ss.parse("State Recv-Q Send-Q\n")


def test_cat_config_boot_value() -> None:
    found = cat_config.boot_value(cat_config.parse(text("solved", "lb1", "sysctl_boot")), "net.ipv4.ip_nonlocal_bind")
    assert found is not None and found.value == "1" and found.file == "/etc/sysctl.d/90-nonlocal-bind.conf"
    assert cat_config.boot_value(cat_config.parse(text("half-done", "lb1", "sysctl_boot")),
                                 "net.ipv4.ip_nonlocal_bind") is None
    later = cat_config.parse("# /a.conf\nnet/ipv4/ip_nonlocal_bind = 1\n# /b.conf\n-net.ipv4.ip_nonlocal_bind=0\n")
    assert cat_config.boot_value(later, "net.ipv4.ip_nonlocal_bind").value == "0"  # type: ignore[union-attr]
    with pytest.raises(ParseError):
        cat_config.parse("kernel.x = 1\n")


def test_curl_replies_from_the_client() -> None:
    replies = curl.parse(text("solved", "client", "visitors"))
    assert len(replies) == 16 and all(r.ok for r in replies)
    assert len({r.source for r in replies}) == 8
    session = curl.parse(text("solved", "client", "session"))
    assert [r.count for r in session] == [1, 2, 3, 4, 5, 6] and len({r.server for r in session}) == 1
    failed = curl.parse(text("fresh", "client", "visitors"))
    assert failed and not any(r.ok for r in failed) and failed[0].code == 0 and "after" not in failed[0].describe()


def test_curl_garbled_line() -> None:
    assert curl.parse("sh: noise\n") == []
    with pytest.raises(ParseError):
        curl.parse("halab-request code=2x0 server=web1\n")
