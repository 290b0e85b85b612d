"""`halab cluster connect`: make this host the front host of an Incus cluster, with one trust token.

The instructor creates the token on any member (``incus config trust add halab-front``); this makes a client
certificate for halab, fetches the cluster's certificate and pins it by fingerprint, presents the token
(the engine then trusts the certificate), and writes /etc/halab/incus.toml with every member as an endpoint.
"""

from __future__ import annotations

import hashlib
import ssl
import subprocess
from pathlib import Path
from urllib.parse import urlparse

from halab.errors import HalabError
from halab.providers.incus.api import Client
from halab.providers.incus.config import EngineConfig, config_path, render_config
from halab.providers.incus.network import front_device


def server_fingerprint(host: str, port: int) -> str:
    try:
        pem = ssl.get_server_certificate((host, port), timeout=10)
    except OSError as exc:
        raise HalabError(f"cannot reach the Incus member at {host}:{port}: {exc}") from None
    return hashlib.sha256(ssl.PEM_cert_to_DER_cert(pem)).hexdigest()


def client_certificate(directory: Path) -> tuple[str, str]:
    """halab's client certificate (made once; its key readable by root only)."""
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    cert, key = directory / "client.crt", directory / "client.key"
    if not cert.exists() or not key.exists():
        result = subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:secp384r1",
                                 "-nodes", "-days", "3650", "-subj", "/CN=halab-front", "-keyout", str(key), "-out",
                                 str(cert)], capture_output=True, text=True)
        if result.returncode != 0:
            raise HalabError(f"openssl could not make halab's client certificate: {result.stderr.strip()[-300:]}")
        key.chmod(0o600)
    return str(cert), str(key)


def connect(member: str, token: str, front_address: str, pool: str = "halab",
            directory: Path | None = None) -> EngineConfig:
    """Trust this host in the cluster that ``member`` (HOST or HOST:PORT) belongs to; returns the config written."""
    host, _, port = member.partition(":")
    front_device(front_address)  # said now, not at the first `halab up`: an address this host does not have
    endpoint = f"https://{host}:{port or 8443}"
    fingerprint = server_fingerprint(host, int(port or 8443))
    cert = client_certificate(directory or config_path().parent / "incus")
    client = Client([endpoint], cert, fingerprint)
    if client.get("/1.0")["auth"] != "trusted":
        client.request("POST", "/1.0/certificates",
                       body={"type": "client", "name": "halab-front", "trust_token": token})
    if client.get("/1.0")["auth"] != "trusted":
        raise HalabError("the cluster did not accept the trust token (made with: incus config trust add halab-front?)")
    members = client.get("/1.0/cluster/members?recursion=1")
    endpoints = [endpoint] + [m["url"] for m in members if urlparse(m["url"]).hostname != host]
    config = EngineConfig(endpoints, front_address, pool, cert[0], cert[1], fingerprint)
    path = config_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render_config(config))
    return config


def members(client: Client) -> list[dict[str, str]]:
    """Each member's name, address, status and how many of halab's nodes it runs."""
    instances = client.get("/1.0/instances?all-projects=true&recursion=1") or []
    count: dict[str, int] = {}
    for instance in instances:
        if (instance.get("config") or {}).get("user.halab.lab"):
            count[instance["location"]] = count.get(instance["location"], 0) + 1
    return [{"name": m["server_name"], "url": m["url"], "status": m["status"],
             "nodes": str(count.get(m["server_name"], 0))} for m in client.get("/1.0/cluster/members?recursion=1")]
