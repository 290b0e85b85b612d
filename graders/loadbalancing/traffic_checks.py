"""Checks of the load-balancing lab, from what visitors and HAProxy see: requests through the virtual IP from the
client (several visitors without cookies; one visitor that keeps its cookies) and HAProxy's own statistics."""

from __future__ import annotations

from collections import Counter

from graders.checks import Verdict, fail, ok
from graders.collectors.curl import Reply
from graders.facts import LabFacts
from graders.loadbalancing import views
from graders.loadbalancing.checks import CHECKS, HTTP_PORT, problems_verdict
from graders.loadbalancing.views import BALANCER, CLIENT

MIN_SHARE = 0.2  # each web server's least share of new visitors' requests for the load to count as balanced


def _client_replies(facts: LabFacts, key: str) -> list[Reply]:
    _, replies = facts.cluster_view(lambda node: views.replies(node, key), CLIENT)
    return replies


def _unreachable_vip(facts: LabFacts, replies: list[Reply]) -> str:
    """Why connections to the virtual IP time out although a balancer holds it."""
    holders, _ = facts.per_node(lambda node: views.holds_vip(facts, node), BALANCER)
    if not any("Timeout" in r.error for r in replies) or sum(holders.values()) != 1:
        return ""
    return (". One balancer holds the address, yet connections time out: the client may still send to the other "
            "balancer's MAC address (after a split brain, its ARP entry lives on for a minute; `ip neigh flush all` "
            "on the client forgets it), or HAProxy does not listen on it")


def _failures(replies: list[Reply]) -> str:
    failed = [r for r in replies if not r.ok]
    reasons = Counter(r.describe() for r in failed)
    return f"{len(failed)} of {len(replies)} requests failed (" + "; ".join(
        f"{reason}: {count}" for reason, count in reasons.most_common(3)) + ")"


@CHECKS.check("balancing-split", "Requests of new visitors are spread over both web servers",
              "HAProxy must send new visitors to both servers: check that both are in the backend, UP, not 'backup'.")
def balancing_split(facts: LabFacts) -> Verdict:
    vip = facts.spec.settings["virtual_ip"]
    replies = _client_replies(facts, "visitors")
    visitors = len({r.source for r in replies})
    if not any(r.ok for r in replies):
        return fail(f"no request to http://{vip}{facts.spec.settings['app_path']} got the application's answer: "
                    + _failures(replies) + _unreachable_vip(facts, replies))
    if not all(r.ok for r in replies):
        return fail(_failures(replies))
    split = Counter(r.server for r in replies)
    shares = ", ".join(f"{web} {split.get(web, 0)}" for web in views.web_nodes(facts))
    low = [web for web in views.web_nodes(facts) if split.get(web, 0) < MIN_SHARE * len(replies)]
    if low:
        return fail(f"{len(replies)} requests from {visitors} visitors without cookies: {shares}: "
                    f"{' and '.join(low)} got (almost) none, so the load is not balanced")
    return ok(f"{len(replies)} requests from {visitors} visitors without cookies: {shares}")


@CHECKS.check("session-persistence", "A visitor that keeps its cookies stays on its server, and its session counts",
              "Persistence by cookie (cookie SERVERID insert + a cookie value per server) or by source address "
              "(balance source, or stick on src) keeps a visitor on one server.")
def session_persistence(facts: LabFacts) -> Verdict:
    replies = _client_replies(facts, "session")
    if not all(r.ok for r in replies):
        return fail(_failures(replies))
    servers = [r.server for r in replies]
    counts = [r.count for r in replies]
    if len(set(servers)) > 1:
        return fail(f"one visitor's {len(replies)} requests went to {', '.join(servers)}: without persistence its "
                    f"session starts again on each server (counts {', '.join(map(str, counts))})")
    consecutive = all(b == a + 1 for a, b in zip(counts, counts[1:], strict=False) if a is not None and b is not None)
    if None in counts or not consecutive:
        return fail(f"all on {servers[0]}, but the session's count went {', '.join(map(str, counts))} instead of "
                    "going up by one: the application's HALAB_SESSION cookie does not come back to it")
    return ok(f"{len(replies)} requests, all on {servers[0]}; its count went {counts[0]} to {counts[-1]}")


@CHECKS.check("servers-up", "HAProxy's own statistics show both web servers UP on both balancers",
              "echo 'show stat' | nc -U /run/haproxy/admin.sock on a balancer shows what HAProxy thinks of each "
              "server.")
def servers_up(facts: LabFacts) -> Verdict:
    stats, problems = facts.per_node(views.haproxy_stats, BALANCER)
    for name, found in stats.items():
        for web, address in views.web_nodes(facts).items():
            rows = [r for r in found.servers() if r.address in (f"{address}:{HTTP_PORT}", address)]
            if not rows:
                problems.append(f"HAProxy on {name} has no server at {address}:{HTTP_PORT} ({web})")
            elif not any(r.checked for r in rows):
                problems.append(f"HAProxy on {name} does not health-check {web} (status 'no check'): it would go on "
                                "sending requests to it when it is down")
            elif not any(r.up for r in rows):
                row = rows[0]
                problems.append(f"{web} is {row.status} for HAProxy on {name} "
                                f"({f'{row.check_status} {row.check_description}'.strip()})")
    return problems_verdict(problems) or ok(f"web servers UP with health checks on {', '.join(stats)}")
