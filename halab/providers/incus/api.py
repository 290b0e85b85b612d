"""A small client for the Incus REST API (https://linuxcontainers.org/incus/docs/main/rest-api/).

Why the REST API and not the ``incus`` CLI: the power switch calls power_off/power_on while a cluster is in
trouble, and it must tell "the engine said no" from "the member is unreachable" from "the node is off"; the
API answers with a status code and an ``error`` field for each, and background operations are awaited with
``/1.0/operations/<id>/wait``, so nothing is parsed from text meant for people. pylxd is unmaintained, so
this is ``requests`` (with requests-unixsocket2 for a local engine's socket), and nothing more.

Endpoints: ``unix:///var/lib/incus/unix.socket`` (an engine on this host) or ``https://ADDRESS:8443`` with a
client certificate the cluster trusts; the server's certificate is pinned by its SHA-256 fingerprint (an
Incus cluster certificate is self-signed and names no address, so the usual hostname check cannot apply).
Several endpoints may be given (one per member): when one does not answer, the next is tried, so losing the
member halab talked to does not cut halab off from the rest of the cluster.
"""

from __future__ import annotations

import time
import warnings
from dataclasses import dataclass, field
from typing import IO, Any
from urllib.parse import quote

import requests
import requests_unixsocket
import urllib3
from requests.adapters import HTTPAdapter

from halab.errors import HalabError

TIMEOUT = (5.0, 120.0)  # connect, read: creating an instance from an image can take a while


class EngineError(HalabError):
    """The engine answered with an error (``status`` is its HTTP status: 404 for a missing object)."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status


class Unreachable(HalabError):
    """No endpoint of the engine answered."""


class _PinnedAdapter(HTTPAdapter):
    """HTTPS to a server whose certificate is pinned by fingerprint (urllib3's assert_fingerprint)."""

    def __init__(self, fingerprint: str) -> None:
        self.fingerprint = fingerprint
        super().__init__()

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        kwargs.update(assert_fingerprint=self.fingerprint, cert_reqs="CERT_NONE")
        super().init_poolmanager(*args, **kwargs)


@dataclass
class Client:
    endpoints: list[str]
    client_cert: tuple[str, str] | None = None  # (certificate, key) files for https endpoints
    server_fingerprint: str = ""  # SHA-256 of the cluster certificate, hex
    _session: requests.Session = field(init=False, repr=False)

    def __post_init__(self) -> None:
        if not self.endpoints:
            raise HalabError("no Incus endpoint configured")
        self._session = requests_unixsocket.Session()
        if any(e.startswith("https://") for e in self.endpoints):
            if not self.server_fingerprint:
                raise HalabError("an https Incus endpoint needs the cluster certificate's fingerprint")
            self._session.mount("https://", _PinnedAdapter(self.server_fingerprint))
            self._session.cert = self.client_cert

    def _base(self, endpoint: str) -> str:
        if endpoint.startswith("unix://"):
            return "http+unix://" + quote(endpoint.removeprefix("unix://"), safe="")
        return endpoint.rstrip("/")

    def request(self, method: str, path: str, *, project: str | None = None, target: str | None = None,
                body: Any = None, data: bytes | IO[bytes] | None = None, headers: dict[str, str] | None = None,
                raw: bool = False, wait: bool = True) -> Any:
        """One API call; its ``metadata`` (or the raw body with ``raw``); an async operation is awaited
        (``wait``) and its result returned. Raises EngineError for the engine's refusals, Unreachable when no
        endpoint answers."""
        params = {key: value for key, value in (("project", project), ("target", target)) if value}
        last: Exception | None = None
        for endpoint in self.endpoints:
            try:
                with warnings.catch_warnings():  # "unverified HTTPS": verified by fingerprint instead
                    warnings.simplefilter("ignore", urllib3.exceptions.InsecureRequestWarning)
                    response = self._session.request(method, self._base(endpoint) + path, params=params,
                                                     json=body, data=data, headers=headers, timeout=TIMEOUT,
                                                     # No CA chain to check: the pinned fingerprint is the
                                                     # check (urllib3 compares it). Said per request, as
                                                     # $REQUESTS_CA_BUNDLE would override the session's.
                                                     verify=not endpoint.startswith("https://"))
            except (requests.ConnectionError, requests.Timeout) as exc:
                last = exc
                continue
            if raw and response.ok:
                return response.content
            return self._result(method, path, response, endpoint, wait)
        raise Unreachable(f"no Incus endpoint answers ({', '.join(self.endpoints)}): {last}")

    def _result(self, method: str, path: str, response: requests.Response, endpoint: str, wait: bool) -> Any:
        try:
            answer = response.json()
        except ValueError:
            raise EngineError(f"Incus {method} {path}: HTTP {response.status_code}, not JSON",
                              response.status_code) from None
        if answer.get("type") == "error" or not response.ok:
            raise EngineError(f"Incus {method} {path}: {answer.get('error') or response.reason}",
                              int(answer.get("error_code") or response.status_code))
        if answer.get("type") == "async" and wait:
            return self.wait(answer["operation"], endpoint)
        return answer.get("metadata")

    def wait(self, operation: str, endpoint: str | None = None) -> Any:
        """Await an operation (``/1.0/operations/<id>``); its metadata, or EngineError with its error."""
        deadline = time.monotonic() + 600
        while True:
            result = self.request("GET", f"{operation}/wait?timeout=30")
            if result.get("status_code", 0) >= 400 or result.get("status") == "Failure":
                message = result.get("err") or result.get("status")
                raise EngineError(f"Incus: {message}", int(result.get("status_code", 500)))
            if result.get("status") == "Success":
                return result.get("metadata")
            if time.monotonic() > deadline:
                raise EngineError(f"Incus operation {operation} did not finish in 600 s", 504)

    def get(self, path: str, **kwargs: Any) -> Any:
        return self.request("GET", path, **kwargs)

    def exists(self, path: str, **kwargs: Any) -> bool:
        try:
            self.request("GET", path, **kwargs)
        except EngineError as exc:
            if exc.status == 404:
                return False
            raise
        return True

    def push_file(self, instance: str, path: str, content: bytes, project: str, mode: int = 0o644,
                  kind: str = "file") -> None:
        """Write a file (or a symlink: ``kind="symlink"``, ``content`` its target) into an instance, owned by
        the instance's root; works while the instance is stopped, so a node has its keys before it boots."""
        headers = {"X-Incus-uid": "0", "X-Incus-gid": "0", "X-Incus-mode": f"{mode:04o}", "X-Incus-type": kind,
                   "X-Incus-write": "overwrite", "Content-Type": "application/octet-stream"}
        self.request("POST", f"/1.0/instances/{instance}/files?path={quote(path)}", project=project,
                     data=content, headers=headers)

    def close(self) -> None:
        self._session.close()
