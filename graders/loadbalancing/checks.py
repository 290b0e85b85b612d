"""Checks of the load-balancing lab: the web tier and HAProxy (keepalived and traffic: vrrp_checks.py,
traffic_checks.py, which add to the same table).

HAProxy is judged from its own files as its service loads them (any layout: one file, a directory, frontend and
backend or one listen section, settings in defaults) and from its config test, not from one expected text:
every correct configuration passes.
"""

from __future__ import annotations

from dataclasses import dataclass

from graders.checks import CheckTable, Verdict, fail, ok
from graders.collectors.haproxy_cfg import HaproxyConfig, Line, Section, Server, split_address
from graders.facts import FactMissing, LabFacts, NodeFacts
from graders.loadbalancing import views
from graders.loadbalancing.views import BALANCER, WEB

CHECKS = CheckTable()
HTTP_PORT = 80
WILDCARD_HOSTS = ("", "*", "0.0.0.0", "::")
COOKIE_MODES = ("insert", "rewrite", "prefix")


def problems_verdict(problems: list[str]) -> Verdict | None:
    """A failed verdict naming every problem, or None when there is none (then the check says what passed)."""
    return fail("; ".join(problems)) if problems else None


# ---- web tier -------------------------------------------------------------------------------------------

@CHECKS.check("web-app", "Both web servers answer with the application",
              "On each web server: a2enmod cgid && a2enconf halab-app && systemctl restart apache2.")
def web_app(facts: LabFacts) -> Verdict:
    path = facts.spec.settings["app_path"]
    answers, problems = facts.per_node(lambda node: views.replies(node, "app")[0], WEB)
    for name, reply in answers.items():
        if reply.ok and reply.server == name:
            continue
        if reply.ok:
            problems.append(f"http://{name}{path} was answered by {reply.server}, not by {name}")
        elif reply.code == 404:
            problems.append(f"{name} answers 404 for {path}: the application is not enabled "
                            "(a2enconf halab-app, and a2enmod cgid so that Apache can run it)")
        elif reply.code == 200:
            problems.append(f"{name} answers {path} with a file, not with the application (no X-Halab-Server "
                            "header): Apache serves the program's text because its CGI module is off (a2enmod cgid)")
        elif reply.code:
            problems.append(f"the application fails on {name} (HTTP {reply.code}; see /var/log/apache2/error.log)")
        else:
            problems.append(f"nothing answers on {name} port {HTTP_PORT} ({reply.describe()}): is Apache running?")
    return problems_verdict(problems) or ok(f"{', '.join(answers)} each answer {path} with their own name")


@CHECKS.check("web-service", "Apache runs on both web servers and starts at boot",
              "systemctl enable --now apache2 on each web server.")
def web_service(facts: LabFacts) -> Verdict:
    return problems_verdict(views.service_problems(facts, WEB, views.WEB_UNITS)) or ok("apache2 active and enabled")


# ---- HAProxy --------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Site:
    """What serves the lab's virtual IP on one balancer: the frontend (or listen) bound to it, and its backend."""

    node: str
    config: HaproxyConfig
    frontend: Section
    bind: Line
    backend: Section | None


def _ports(text: str) -> set[int]:
    low, _, high = text.partition("-")
    return set(range(int(low), int(high or low) + 1)) if low.isdigit() and (not high or high.isdigit()) else set()


def binds_vip(line: Line, vip: str) -> bool:
    """Whether a `bind` line makes HAProxy accept connections to vip:80 (its own address, or every address)."""
    if len(line.words) < 2:
        return False
    for address in line.words[1].split(","):
        host, port = split_address(address)
        if host in (vip, *WILDCARD_HOSTS) and HTTP_PORT in _ports(port):
            return True
    return False


def site(facts: LabFacts, node: NodeFacts) -> Site:
    vip = facts.spec.settings["virtual_ip"]
    config = views.haproxy_config(node)
    for proxy in config.proxies("frontend", "listen"):
        bind = next((line for line in proxy.own("bind") if binds_vip(line, vip)), None)
        if bind:
            return Site(node.name, config, proxy, bind, config.backend_of(proxy))
    found = [f"{p.kind} {p.name} binds " + ", ".join(line.words[1] for line in p.own("bind") if len(line.words) > 1)
             for p in config.proxies("frontend", "listen") if p.own("bind")]
    raise FactMissing(f"no frontend on {node.name} listens on {vip}:{HTTP_PORT}"
                      + (f" ({'; '.join(found)})" if found else " (the configuration has no frontend or listen yet)"))


def site_backend(facts: LabFacts, node: NodeFacts) -> tuple[Site, Section]:
    found = site(facts, node)
    if found.backend is None:
        raise FactMissing(f"{found.frontend.kind} {found.frontend.name} on {node.name} sends its requests to no "
                          "backend (default_backend names none that exists)")
    return found, found.backend


@CHECKS.check("haproxy-config-valid", "HAProxy accepts its configuration on both balancers (haproxy -c)",
              "Run haproxy -c -f /etc/haproxy/haproxy.cfg on each balancer and fix what it reports.")
def haproxy_config_valid(facts: LabFacts) -> Verdict:
    tests, problems = facts.per_node(views.haproxy_test, BALANCER)
    for name, test in tests.items():
        if not test.valid:
            problems.append(f"HAProxy rejects its configuration on {name}: {test.first_problem()}")
        elif not views.haproxy_config(facts.nodes[name]).proxies():
            problems.append(f"{name} still has Debian's default HAProxy configuration: no frontend, backend or "
                            "listen section yet")
    return problems_verdict(problems) or ok(f"valid on {', '.join(tests)}")


@CHECKS.check("haproxy-frontend", "A frontend listens on {virtual_ip}:80 on both balancers",
              "frontend web / bind {virtual_ip}:80 / default_backend app (the same on both balancers).")
def haproxy_frontend(facts: LabFacts) -> Verdict:
    sites, problems = facts.per_node(lambda node: site(facts, node), BALANCER)
    for name, found in sites.items():
        if found.backend is None:
            problems.append(f"{found.frontend.kind} {found.frontend.name} on {name} has no backend to send requests "
                            "to: its default_backend is missing or names no backend section")
    described = {f"{s.frontend.kind} {s.frontend.name} (bind {s.bind.words[1]})" for s in sites.values()}
    return problems_verdict(problems) or ok(f"{', '.join(sorted(described))} on {', '.join(sites)}")


def _server_for(servers: list[Server], name: str, address: str) -> Server | None:
    """The server line for a web server, given by its address or by its host name."""
    return next((s for s in servers if s.address in (address, name)), None)


@CHECKS.check("haproxy-backend", "The backend has both web servers with health checks and a chosen algorithm",
              "backend app / balance roundrobin / option httpchk GET /app/health / "
              "server web1 10.42.50.21:80 check (and the same for web2).")
def haproxy_backend(facts: LabFacts) -> Verdict:
    backends, problems = facts.per_node(lambda node: site_backend(facts, node), BALANCER)
    algorithms = set()
    for name, (found, backend) in backends.items():
        where = f"{backend.kind} {backend.name} on {name}"
        servers = found.config.servers(backend)
        for web, address in views.web_nodes(facts).items():
            server = _server_for(servers, web, address)
            if server is None:
                problems.append(f"{where} has no server for {web} ({address})")
            elif not server.has("check"):
                problems.append(f"server {server.name} ({web}) in {where} has no 'check': HAProxy would go on sending "
                                f"requests to {web} when it is down")
            elif server.has("backup") or server.has("disabled"):
                flag = "backup" if server.has("backup") else "disabled"
                problems.append(f"server {server.name} ({web}) in {where} is '{flag}': it serves nothing while the "
                                "other is up, so the web tier is not active/active")
            elif server.port not in ("", str(HTTP_PORT)):
                problems.append(f"server {server.name} in {where} points at port {server.port}; Apache listens on "
                                f"{HTTP_PORT}")
        balance = backend.last("balance")
        if balance is None:
            problems.append(f"{where} names no algorithm ('balance', in the backend or its defaults): HAProxy then "
                            "uses roundrobin, but choose one on purpose")
        else:
            algorithms.add(" ".join(balance.words[1:]))
    algorithm = ", ".join(sorted(algorithms))
    return problems_verdict(problems) or ok(f"both web servers with health checks; balance {algorithm}")


def persistence(config: HaproxyConfig, frontend: Section, backend: Section) -> tuple[str, str]:
    """(how the backend keeps a visitor on its server, or "" and why not)."""
    balance = backend.last("balance")
    if balance and balance.words[1:2] == ("source",):
        return "source-address hashing (balance source)", ""
    sticks = [line for proxy in (backend, frontend) for line in proxy.own("stick")
              if len(line.words) > 2 and line.words[1] in ("on", "match", "store-request", "store-response")]
    if sticks:
        tables = backend.own("stick-table") or [line for line in sticks if "table" in line.words]
        if not tables:
            return "", f"'{' '.join(sticks[0].words)}' needs a stick-table in {backend.name}"
        return f"a stick table ({' '.join(sticks[0].words)})", ""
    cookie = backend.last("cookie")
    if cookie is None or len(cookie.words) < 2:
        return "", f"{backend.name} has no cookie, 'balance source' or stick table: each request is balanced anew"
    mode = next((w for w in cookie.words[2:] if w in COOKIE_MODES), "rewrite")
    servers = config.servers(backend)
    if "dynamic" not in cookie.words:
        missing = [s.name for s in servers if s.value("cookie") is None]
        if missing:
            return "", (f"cookie {cookie.words[1]} is set in {backend.name}, but servers {', '.join(missing)} have no "
                        "'cookie <value>': HAProxy has nothing to put in it")
    return f"cookie {cookie.words[1]} ({mode})", ""


@CHECKS.check("haproxy-persistence", "Session persistence: a visitor keeps its web server",
              "In the backend: cookie SERVERID insert indirect nocache, and 'cookie web1' / 'cookie web2' on the "
              "servers (or balance source, or stick-table type ip size 100k + stick on src).")
def haproxy_persistence(facts: LabFacts) -> Verdict:
    backends, problems = facts.per_node(lambda node: site_backend(facts, node), BALANCER)
    kinds = set()
    for name, (found, backend) in backends.items():
        how, why_not = persistence(found.config, found.frontend, backend)
        if how:
            kinds.add(how)
        else:
            problems.append(f"no session persistence on {name}: {why_not}")
    return problems_verdict(problems) or ok(", ".join(sorted(kinds)))


@CHECKS.check("haproxy-service", "HAProxy runs on both balancers and starts at boot",
              "systemctl enable haproxy && systemctl restart haproxy on each balancer.")
def haproxy_service(facts: LabFacts) -> Verdict:
    problems = views.service_problems(facts, BALANCER, views.BALANCER_UNITS, only="haproxy")
    return problems_verdict(problems) or ok("haproxy active and enabled")
