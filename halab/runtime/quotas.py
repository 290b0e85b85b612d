"""The lab service's config file, /etc/halab/service.toml ($HALAB_SERVICE_CONFIG): what each user may have
up at once, and how much of the host the service gives out. Without the file the defaults apply.

    [defaults]            # every user, unless their own table says otherwise
    labs = 2              # labs up at once
    nodes = 8             # nodes of those labs together
    memory_mib = 4096     # memory of all their nodes together (a cgroup over them: halab/host/cglimits.py)
    pids = 16384          # processes of all their nodes together
    cpu_weight = 100      # their share of CPU under contention, all their nodes together (1-10000)
    disk_mib = 32768      # the disk caps of all their nodes together (each node's disk_mib, lab specs)

    [users.alice]         # one user's own limits
    labs = 3

    [policy]
    solve = false     # `halab solve` refused to users (a classroom: `halab classroom init` sets it); root may
                      # still solve any lab

    [service]
    booting_nodes = 4     # nodes booting at once (default: 2 per core); more `up`s wait their turn
    connections = 128     # requests at once, all users together (each holds a thread)
    connections_per_user = 8
    request_seconds = 10  # to send the whole request line, however slowly it trickles in
    log = "/var/log/halab/service.log"
    log_kib = 1024        # rotated at this size,
    log_files = 3         # keeping this many old ones

A top-level ``provider = "incus"`` makes users' labs run on that provider when they name none and the lab
supports it (for a class whose lab nodes run on an Incus cluster).
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from halab.errors import SpecError
from halab.spec import PROVIDERS

# field: (least, most, default)
QUOTA_FIELDS = {"labs": (0, 1000, 2), "nodes": (0, 1000, 8), "memory_mib": (256, 1 << 24, 4096),
                "pids": (64, 1 << 22, 16384), "cpu_weight": (1, 10000, 100), "disk_mib": (256, 1 << 26, 32768)}
DEFAULTS = {key: bounds[2] for key, bounds in QUOTA_FIELDS.items()}
SERVICE_FIELDS = {"booting_nodes": (1, 1024, 0), "connections": (4, 4096, 128), "connections_per_user": (1, 256, 8),
                  "request_seconds": (1, 600, 10), "log_kib": (16, 1 << 20, 1024), "log_files": (1, 100, 3)}
DEFAULT_LOG = "/var/log/halab/service.log"
POLICY = {"solve": True}


@dataclass(frozen=True)
class Quota:
    labs: int
    nodes: int
    memory_mib: int = DEFAULTS["memory_mib"]
    pids: int = DEFAULTS["pids"]
    cpu_weight: int = DEFAULTS["cpu_weight"]
    disk_mib: int = DEFAULTS["disk_mib"]

    def caps(self) -> dict[str, int]:
        """The caps on all of a user's nodes together that their cgroup enforces (halab/host/cglimits.py)."""
        return {"memory_mib": self.memory_mib, "pids": self.pids, "cpu_weight": self.cpu_weight}


@dataclass(frozen=True)
class Settings:
    booting_nodes: int
    connections: int
    connections_per_user: int
    request_seconds: int
    log: Path
    log_kib: int
    log_files: int


@dataclass(frozen=True)
class Policy:
    solve: bool = True  # users may have halab solve their labs


@dataclass(frozen=True)
class Quotas:
    defaults: Quota
    users: dict[str, Quota]
    settings: Settings
    policy: Policy = Policy()
    provider: str | None = None  # the service's default provider for users' labs

    def of(self, user: str) -> Quota:
        return self.users.get(user, self.defaults)


def config_path() -> Path:
    return Path(os.environ.get("HALAB_SERVICE_CONFIG", "/etc/halab/service.toml"))


def _numbers(path: Path, where: str, table: Any, fields: dict[str, tuple[int, int, int]],
             fallback: dict[str, int], extra: frozenset[str] = frozenset()) -> dict[str, int]:
    if not isinstance(table, dict):
        raise SpecError(str(path), where, "must be a table")
    unknown = set(table) - set(fields) - extra
    if unknown:
        raise SpecError(str(path), f"{where}.{sorted(unknown)[0]}",
                        f"unknown field (allowed: {', '.join([*fields, *sorted(extra)])})")
    values = {}
    for key, (least, most, _default) in fields.items():
        value = table.get(key, fallback[key])
        if key in table and (isinstance(value, bool) or not isinstance(value, int) or not least <= value <= most):
            raise SpecError(str(path), f"{where}.{key}",
                            f"must be a whole number from {least} to {most}, not {value!r}")
        values[key] = value
    return values


def default_booting_nodes() -> int:
    """Nodes booting at once when service.toml does not say: two per core (measured here: one clustering lab
    boots in ~1.5 s on its own, ten at once on 2 cores left 3 of 10 labs without SSH after 180 s)."""
    return 2 * (os.cpu_count() or 1)


def _settings(path: Path, table: Any) -> Settings:
    fallback = {key: bounds[2] for key, bounds in SERVICE_FIELDS.items()}
    fallback["booting_nodes"] = default_booting_nodes()
    values = _numbers(path, "service", table, SERVICE_FIELDS, fallback, frozenset({"log"}))
    log = table.get("log", DEFAULT_LOG)
    if not isinstance(log, str) or not log.startswith("/") or "\n" in log:
        raise SpecError(str(path), "service.log", f"must be an absolute file path, not {log!r}")
    return Settings(log=Path(log), **values)


def load_quotas(path: Path | None = None) -> Quotas:
    """The quotas and the service's settings; a malformed file is a SpecError naming the file, the field and
    the problem."""
    path = path or config_path()
    try:
        data = tomllib.loads(path.read_text()) if path.exists() else {}
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise SpecError(str(path), "(file)", f"cannot be read as TOML: {exc}") from None
    unknown = set(data) - {"defaults", "users", "service", "policy", "provider"}
    if unknown:
        raise SpecError(str(path), sorted(unknown)[0],
                        "unknown section (allowed: provider, defaults, users, service, policy)")
    provider = data.get("provider")
    if provider is not None and provider not in PROVIDERS:
        raise SpecError(str(path), "provider", f"unknown provider {provider!r} (known: {', '.join(PROVIDERS)})")
    defaults = Quota(**_numbers(path, "defaults", data.get("defaults", {}), QUOTA_FIELDS, DEFAULTS))
    users = data.get("users", {})
    if not isinstance(users, dict):
        raise SpecError(str(path), "users", "must be a table of [users.NAME] tables")
    base = {key: getattr(defaults, key) for key in QUOTA_FIELDS}
    return Quotas(defaults, {name: Quota(**_numbers(path, f"users.{name}", table, QUOTA_FIELDS, base))
                             for name, table in users.items()},
                  _settings(path, data.get("service", {})), _policy(path, data.get("policy", {})), provider)


def _policy(path: Path, table: Any) -> Policy:
    if not isinstance(table, dict):
        raise SpecError(str(path), "policy", "must be a table")
    for key, value in table.items():
        if key not in POLICY:
            raise SpecError(str(path), f"policy.{key}", f"unknown field (allowed: {', '.join(POLICY)})")
        if not isinstance(value, bool):
            raise SpecError(str(path), f"policy.{key}", f"must be true or false, not {value!r}")
    return Policy(**{**POLICY, **table})


def policy_says(path: Path, key: str) -> bool | None:
    """What the config file sets for a policy field (None: not set, or no file); SpecError if it is malformed."""
    if not path.exists():
        return None
    load_quotas(path)  # the whole file checked
    value = tomllib.loads(path.read_text()).get("policy", {}).get(key)
    return value if isinstance(value, bool) else None
