"""A student at a browser, for the classroom tests: log in to JupyterHub over HTTP (its real login form), wait
for their JupyterLab, and run code in a kernel of their own notebook through Jupyter's REST and websocket
APIs, as JupyterLab does when the student runs a cell."""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass
from typing import Any

import requests
import websocket

SPAWN_TIMEOUT_S = 120


@dataclass
class HubSession:
    base: str  # http://127.0.0.1:PORT
    user: str
    session: requests.Session
    token: str = ""

    @classmethod
    def login(cls, base: str, user: str, password: str) -> HubSession:
        """The login form, as a browser posts it (with the _xsrf cookie's value); the hub then spawns the
        user's server. AssertionError if the hub refuses."""
        session = requests.Session()
        session.get(f"{base}/hub/login", timeout=30).raise_for_status()
        answer = session.post(f"{base}/hub/login?next=", timeout=120, allow_redirects=True,
                              data={"username": user, "password": password, "_xsrf": session.cookies.get("_xsrf")})
        assert answer.status_code == 200 and "/hub/login" not in answer.url, (answer.status_code, answer.url)
        return cls(base, user, session)

    def hub_api(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        headers = {"X-XSRFToken": self.session.cookies.get("_xsrf", path="/hub/") or ""}
        return self.session.request(method, f"{self.base}/hub/api{path}", headers=headers, timeout=60, **kwargs)

    def wait_for_server(self) -> dict[str, Any]:
        """The user's server once ready, and an API token of theirs for it."""
        deadline = time.monotonic() + SPAWN_TIMEOUT_S
        while time.monotonic() < deadline:
            server = (self.hub_api("GET", "/user").json().get("servers") or {}).get("")
            if server and server.get("ready"):
                made = self.hub_api("POST", f"/users/{self.user}/tokens", json={"note": "test", "expires_in": 3600})
                made.raise_for_status()
                self.token = made.json()["token"]
                return server
            time.sleep(0.5)
        raise AssertionError(f"{self.user}'s server was not ready within {SPAWN_TIMEOUT_S} s")

    def server_api(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        return requests.request(method, f"{self.base}/user/{self.user}{path}", timeout=60,
                                headers={"Authorization": f"token {self.token}"}, **kwargs)

    def kernel(self, notebook: str) -> NotebookKernel:
        """A kernel of the notebook (its folder is the kernel's working directory), as opening it does."""
        made = self.server_api("POST", "/api/sessions", json={"path": notebook, "type": "notebook", "name": "",
                                                              "kernel": {"name": "python3"}})
        made.raise_for_status()
        kernel_id = made.json()["kernel"]["id"]
        url = f"{self.base.replace('http', 'ws', 1)}/user/{self.user}/api/kernels/{kernel_id}/channels"
        return NotebookKernel(websocket.create_connection(url, header=[f"Authorization: token {self.token}"],
                                                          timeout=30), self.user)


@dataclass
class NotebookKernel:
    connection: websocket.WebSocket
    user: str

    def run(self, code: str, timeout: float = 900) -> str:
        """Run code as a cell; its printed output. AssertionError with the traceback if the cell fails."""
        msg_id = uuid.uuid4().hex
        self.connection.send(json.dumps({
            "header": {"msg_id": msg_id, "username": self.user, "session": uuid.uuid4().hex,
                       "msg_type": "execute_request", "version": "5.3", "date": ""},
            "parent_header": {}, "metadata": {}, "channel": "shell", "buffers": [],
            "content": {"code": code, "silent": False, "store_history": False, "user_expressions": {},
                        "allow_stdin": False, "stop_on_error": True}}))
        output, error = [], []
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.connection.settimeout(max(1.0, deadline - time.monotonic()))
            message = json.loads(self.connection.recv())
            if message.get("parent_header", {}).get("msg_id") != msg_id:
                continue
            kind, content = message["msg_type"], message["content"]
            if kind == "stream":
                output.append(content["text"])
            elif kind == "error":
                error.append("\n".join(content["traceback"]))
            elif kind == "status" and content["execution_state"] == "idle":
                assert not error, "".join(output) + "\n".join(error)
                return "".join(output)
        raise AssertionError(f"the cell did not finish within {timeout:g} s: {''.join(output)}")

    def close(self) -> None:
        self.connection.close()
