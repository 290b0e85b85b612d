"""The lab service's config file, /etc/halab/service.toml ($HALAB_SERVICE_CONFIG): how many labs and nodes
each user may have up at once, and what users may ask for. Without the file the defaults apply.

    [defaults]
    labs = 2          # labs up at once per user
    nodes = 8         # nodes of those labs together

    [users.alice]     # one user's own limits
    labs = 3

    [policy]
    solve = false     # `halab solve` refused to users (a classroom: `halab classroom init` sets it); root may
                      # still solve any lab

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

DEFAULTS = {"labs": 2, "nodes": 8}
POLICY = {"solve": True}


@dataclass(frozen=True)
class Quota:
    labs: int
    nodes: int


@dataclass(frozen=True)
class Policy:
    solve: bool = True  # users may have halab solve their labs


@dataclass(frozen=True)
class Quotas:
    defaults: Quota
    users: dict[str, Quota]
    policy: Policy = Policy()
    provider: str | None = None  # the service's default provider for users' labs

    def of(self, user: str) -> Quota:
        return self.users.get(user, self.defaults)


def config_path() -> Path:
    return Path(os.environ.get("HALAB_SERVICE_CONFIG", "/etc/halab/service.toml"))


def _quota(path: Path, where: str, table: Any, fallback: dict[str, int]) -> Quota:
    if not isinstance(table, dict):
        raise SpecError(str(path), where, "must be a table")
    unknown = set(table) - set(DEFAULTS)
    if unknown:
        raise SpecError(str(path), f"{where}.{sorted(unknown)[0]}", f"unknown field (allowed: {', '.join(DEFAULTS)})")
    values = {}
    for key in DEFAULTS:
        value = table.get(key, fallback[key])
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 1000:
            raise SpecError(str(path), f"{where}.{key}", f"must be a whole number from 0 to 1000, not {value!r}")
        values[key] = value
    return Quota(**values)


def load_quotas(path: Path | None = None) -> Quotas:
    """The quotas; a malformed file is a SpecError naming the file, the field and the problem."""
    path = path or config_path()
    try:
        data = tomllib.loads(path.read_text()) if path.exists() else {}
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise SpecError(str(path), "(file)", f"cannot be read as TOML: {exc}") from None
    unknown = set(data) - {"defaults", "users", "policy", "provider"}
    if unknown:
        raise SpecError(str(path), sorted(unknown)[0], "unknown section (allowed: provider, defaults, users, policy)")
    provider = data.get("provider")
    if provider is not None and provider not in PROVIDERS:
        raise SpecError(str(path), "provider", f"unknown provider {provider!r} (known: {', '.join(PROVIDERS)})")
    defaults = _quota(path, "defaults", data.get("defaults", {}), DEFAULTS)
    users = data.get("users", {})
    if not isinstance(users, dict):
        raise SpecError(str(path), "users", "must be a table of [users.NAME] tables")
    base = {"labs": defaults.labs, "nodes": defaults.nodes}
    return Quotas(defaults, {name: _quota(path, f"users.{name}", table, base) for name, table in users.items()},
                  _policy(path, data.get("policy", {})), provider)


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
