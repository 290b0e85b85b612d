"""The load-balancing kind's facts, read from the raw command output of a node (graders/loadbalancing/commands.py)
through the parsers in graders/collectors/. When a fact cannot be had, FactMissing says why in a student's
words: "HAProxy is not running on lb2", not a parser's complaint about empty input."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

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
    systemctl,
)
from graders.facts import FactMissing, LabFacts, NodeFacts

T = TypeVar("T")
BALANCER, WEB, CLIENT = "balancer", "web", "client"
BALANCER_UNITS = ["haproxy", "keepalived"]
WEB_UNITS = ["apache2"]


def _last_line(out: dict[str, Any]) -> str:
    lines = (out["stderr"] or out["stdout"]).strip().splitlines()
    return lines[-1].strip() if lines else f"exit {out['exit']}"


def _read(node: NodeFacts, key: str, parse: Callable[[dict[str, Any]], T], what: str) -> T:
    out = node.output(key)
    try:
        return parse(out)
    except ParseError as exc:
        raise FactMissing(f"{what} on {node.name} cannot be read: {exc}") from None


def haproxy_test(node: NodeFacts) -> haproxy_check.ConfigCheck:
    return _read(node, "haproxy_check", lambda out: haproxy_check.parse(out["stdout"] + out["stderr"], out["exit"]),
                 "HAProxy's config test")


def haproxy_config(node: NodeFacts) -> haproxy_cfg.HaproxyConfig:
    out = node.output("haproxy_cfg")
    if out["exit"] != 0:
        raise FactMissing(f"HAProxy's configuration cannot be read on {node.name} ({_last_line(out)})")
    return _read(node, "haproxy_cfg", lambda o: haproxy_cfg.parse(o["stdout"]), "HAProxy's configuration")


def haproxy_stats(node: NodeFacts) -> haproxy_stat.Stats:
    out = node.output("haproxy_stat")
    if out["exit"] == 2:
        raise FactMissing(f"HAProxy's configuration on {node.name} has no 'stats socket' line, so HAProxy's own view "
                          "cannot be asked (Debian's default global section has one: keep it)")
    if out["exit"] != 0 or not out["stdout"].strip():
        raise FactMissing(f"HAProxy is not running on {node.name} (its stats socket does not answer: "
                          f"{_last_line(out) if out['exit'] else 'no answer'})")
    return _read(node, "haproxy_stat", lambda o: haproxy_stat.parse(o["stdout"]), "HAProxy's statistics")


def keepalived_test(node: NodeFacts) -> keepalived_check.ConfigTest:
    def parse(out: dict[str, Any]) -> keepalived_check.ConfigTest:
        return keepalived_check.parse(out["stdout"] + out["stderr"], out["exit"])

    return _read(node, "keepalived_check", parse, "keepalived's config test")


def keepalived(node: NodeFacts) -> keepalived_data.KeepalivedData:
    out = node.output("keepalived_data")
    if out["exit"] == 3:
        raise FactMissing(f"keepalived is not running on {node.name}")
    if out["exit"] != 0:
        raise FactMissing(f"keepalived on {node.name} did not report its state ({_last_line(out)})")
    return _read(node, "keepalived_data", lambda o: keepalived_data.parse(o["stdout"]), "keepalived's state")


def addresses(node: NodeFacts) -> dict[str, ip_brief.Interface]:
    return _read(node, "addresses", lambda o: ip_brief.parse(o["stdout"]), "The list of addresses")


def listeners(node: NodeFacts) -> list[ss.Listener]:
    return _read(node, "listening", lambda o: ss.parse(o["stdout"]), "The list of listening sockets")


def boot_sysctls(node: NodeFacts) -> list[cat_config.Assignment]:
    return _read(node, "sysctl_boot", lambda o: cat_config.parse(o["stdout"]), "The boot-time sysctl settings")


def runtime_sysctl(node: NodeFacts, key: str = "nonlocal_bind") -> str:
    return node.output(key)["stdout"].strip()


def units(node: NodeFacts, key: str, names: list[str]) -> dict[str, str]:
    return _read(node, key, lambda o: systemctl.parse(o["stdout"], names), "systemctl's answer")


def replies(node: NodeFacts, key: str) -> list[curl.Reply]:
    found = _read(node, key, lambda o: curl.parse(o["stdout"]), "The client's requests")
    if not found:
        out = node.output(key)
        raise FactMissing(f"the client {node.name} sent no request ({_last_line(out)})")
    return found


def holds_vip(facts: LabFacts, node: NodeFacts) -> bool:
    return ip_brief.holds(addresses(node), facts.spec.settings["virtual_ip"]) is not None


def node_address(facts: LabFacts, name: str) -> str:
    return str(facts.spec.node(name).addresses[facts.spec.management_network.name])


def web_nodes(facts: LabFacts) -> dict[str, str]:
    """The web servers by name, with their lab address."""
    return {node.name: node_address(facts, node.name) for node in facts.spec.with_role(WEB)}


def service_problems(facts: LabFacts, role: str, names: list[str], only: str = "") -> list[str]:
    """Units of the role's nodes (``only`` that one of them) that are not active now or not enabled at boot
    ("haproxy is failed on lb2")."""
    problems: list[str] = []
    for key, wanted in (("is_active", "active"), ("is_enabled", "enabled")):
        states, missing = facts.per_node(functools.partial(units, key=key, names=names), role)
        problems += missing
        problems += [f"{unit} is {state} on {node}" for node, found in states.items()
                     for unit, state in found.items() if state != wanted and unit == (only or unit)]
    return list(dict.fromkeys(problems))
