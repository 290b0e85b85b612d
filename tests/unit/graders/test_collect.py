"""What the graders read is bounded: the HTTP probe never follows a redirect (a student's page must not make
the grader fetch the host's own services into the evidence), and a command output cut off at the SSH cap is
reported as such instead of being judged."""

from __future__ import annotations

import copy
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest

from graders.collect import probe_http
from graders.grade import evaluate
from halab.spec import load_spec
from tests.support.paths import FIXTURES


def _serve(handler: type[BaseHTTPRequestHandler]) -> tuple[HTTPServer, str]:
    server = HTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_port}/"


@pytest.fixture
def secret_and_redirect() -> Iterator[tuple[str, list[str]]]:
    hits: list[str] = []

    class Secret(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802
            hits.append(self.path)
            self.send_response(200)
            self.end_headers()
            self.wfile.write(b"host secret")

        def log_message(self, *_args: object) -> None:
            pass

    secret, secret_url = _serve(Secret)

    class Redirect(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802
            self.send_response(302)
            self.send_header("Location", secret_url)
            self.end_headers()

        def log_message(self, *_args: object) -> None:
            pass

    redirect, redirect_url = _serve(Redirect)
    yield redirect_url, hits
    secret.shutdown()
    redirect.shutdown()


def test_probe_reports_a_redirect_and_does_not_follow_it(secret_and_redirect: tuple[str, list[str]]) -> None:
    url, hits = secret_and_redirect
    probe = probe_http(url, timeout=3)
    assert probe["status"] == 302
    assert "host secret" not in probe["body"]
    assert hits == []


def test_a_cut_off_output_is_not_judged() -> None:
    raw = json.loads((FIXTURES / "clustering" / "solved.json").read_text())
    damaged = copy.deepcopy(raw)
    damaged["nodes"]["node2"]["commands"]["corosync_conf"]["truncated"] = True
    report = evaluate(load_spec("clustering"), damaged, unrun_faults_count=False)
    identical = next(c for c in report.checks if c.id == "corosync-conf-identical")
    assert not identical.passed and "cut off" in identical.feedback and "node2" in identical.feedback
    assert evaluate(load_spec("clustering"), raw, unrun_faults_count=False).score == 100
