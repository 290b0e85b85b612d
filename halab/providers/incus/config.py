"""Where the Incus engine is, for the `incus` provider: /etc/halab/incus.toml ($HALAB_INCUS_CONFIG).

    endpoints = ["https://192.0.2.11:8443", "https://192.0.2.12:8443"]   # any members; tried in order
    client_cert = "/etc/halab/incus/client.crt"   # a client certificate the cluster trusts
    client_key = "/etc/halab/incus/client.key"
    server_fingerprint = "3f0c..."                # SHA-256 of the cluster certificate (pinned)
    front_address = "192.0.2.1"                   # this host's address, as the members reach it
    storage_pool = "halab"                        # where nodes' disks go (btrfs: nodes are snapshots)

An engine on this host alone needs only ``endpoints = ["unix:///var/lib/incus/unix.socket"]`` and
``front_address``. `halab cluster init/join` (or the test cluster, localcluster.py) writes this file.
"""

from __future__ import annotations

import ipaddress
import os
import tomllib
from dataclasses import dataclass
from pathlib import Path

from halab.errors import SpecError
from halab.providers.incus.api import Client

KEYS = {"endpoints", "client_cert", "client_key", "server_fingerprint", "front_address", "storage_pool"}


def config_path() -> Path:
    return Path(os.environ.get("HALAB_INCUS_CONFIG", "/etc/halab/incus.toml"))


@dataclass(frozen=True)
class EngineConfig:
    endpoints: list[str]
    front_address: str
    storage_pool: str = "halab"
    client_cert: str = ""
    client_key: str = ""
    server_fingerprint: str = ""

    def client(self) -> Client:
        cert = (self.client_cert, self.client_key) if self.client_cert else None
        return Client(list(self.endpoints), cert, self.server_fingerprint)


def parse_config(path: Path, text: str) -> EngineConfig:
    """The engine config from the file's text; a SpecError names the file, the field and the problem."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise SpecError(str(path), "(file)", f"cannot be read as TOML: {exc}") from None
    unknown = sorted(set(data) - KEYS)
    if unknown:
        raise SpecError(str(path), unknown[0], f"unknown field (allowed: {', '.join(sorted(KEYS))})")
    endpoints = data.get("endpoints")
    if not isinstance(endpoints, list) or not endpoints or not all(isinstance(e, str) for e in endpoints):
        raise SpecError(str(path), "endpoints", "must be a non-empty list of unix:// or https:// addresses")
    for endpoint in endpoints:
        if not endpoint.startswith(("unix:///", "https://")):
            raise SpecError(str(path), "endpoints", f"{endpoint!r} is neither unix:///PATH nor https://HOST:PORT")
    strings = {}
    for key in KEYS - {"endpoints"}:
        value = data.get(key, "")
        if not isinstance(value, str):
            raise SpecError(str(path), key, f"must be a string, not {value!r}")
        strings[key] = value
    try:
        ipaddress.IPv4Address(strings["front_address"])
    except ValueError:
        raise SpecError(str(path), "front_address", "must be this host's IPv4 address as the members reach it "
                        f"(got {strings['front_address']!r})") from None
    if any(e.startswith("https://") for e in endpoints):
        for key in ("client_cert", "client_key", "server_fingerprint"):
            if not strings[key]:
                raise SpecError(str(path), key, "is needed for an https:// endpoint")
    fingerprint = strings["server_fingerprint"].replace(":", "").lower()
    if fingerprint and (len(fingerprint) != 64 or any(c not in "0123456789abcdef" for c in fingerprint)):
        raise SpecError(str(path), "server_fingerprint", "must be a SHA-256 fingerprint (64 hex digits)")
    return EngineConfig(endpoints=list(endpoints), front_address=strings["front_address"],
                        storage_pool=strings["storage_pool"] or "halab", client_cert=strings["client_cert"],
                        client_key=strings["client_key"], server_fingerprint=fingerprint)


def load_config(path: Path | None = None) -> EngineConfig:
    path = path or config_path()
    try:
        text = path.read_text()
    except FileNotFoundError:
        raise SpecError(str(path), "(file)", "does not exist: the incus provider needs to know where the engine is "
                        "(halab cluster init, or see README 'Lab nodes on an Incus cluster')") from None
    except OSError as exc:
        raise SpecError(str(path), "(file)", f"cannot be read: {exc.strerror}") from None
    return parse_config(path, text)


def render_config(config: EngineConfig) -> str:
    """The file's text for ``config`` (what localcluster.py and `halab cluster` write)."""
    lines = [f"endpoints = [{', '.join(repr(e).replace(chr(39), chr(34)) for e in config.endpoints)}]",
             f'front_address = "{config.front_address}"', f'storage_pool = "{config.storage_pool}"']
    for key in ("client_cert", "client_key", "server_fingerprint"):
        value = getattr(config, key)
        if value:
            lines.append(f'{key} = "{value}"')
    return "\n".join(lines) + "\n"
