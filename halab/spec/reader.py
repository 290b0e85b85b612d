"""Typed reading of lab spec TOML tables: every error names the file, the field and the problem."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from halab.errors import SpecError
from halab.names import NAME_RE


class Reader:
    """Typed access to one TOML table, with errors that say where in the file the problem is."""

    def __init__(self, path: Path, table: dict[str, Any], where: str = "") -> None:
        self.path, self.table, self.where = path, table, where

    def _field(self, key: str) -> str:
        return f"{self.where}.{key}" if self.where else key

    def fail(self, key: str, problem: str) -> SpecError:
        return SpecError(str(self.path), self._field(key), problem)

    def get(self, key: str, kind: type | tuple[type, ...], default: Any = ...) -> Any:
        if key not in self.table:
            if default is ...:
                raise self.fail(key, "is required")
            return default
        value = self.table[key]
        # bool is a subclass of int in Python, but `points = true` is a spec mistake.
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            names = kind.__name__ if isinstance(kind, type) else " or ".join(k.__name__ for k in kind)
            raise self.fail(key, f"must be a {names}, got {type(value).__name__} {value!r}")
        return value

    def name(self, key: str) -> str:
        value = self.get(key, str)
        if not NAME_RE.fullmatch(value):
            raise self.fail(key, f"{value!r} must be lower-case letters, digits and '-', at most 24 long")
        return value

    def tables(self, key: str, required: bool = True) -> list[Reader]:
        items = self.get(key, list, ... if required else [])
        if required and not items:
            raise self.fail(key, "must list at least one entry")
        readers = []
        for index, item in enumerate(items):
            if not isinstance(item, dict):
                raise SpecError(str(self.path), f"{self._field(key)}[{index}]", "must be a table")
            readers.append(Reader(self.path, item, f"{self._field(key)}[{index}]"))
        return readers

    def sub(self, key: str) -> Reader:
        """The table at ``key`` (empty if it is absent), whose errors name it (``nodes[1].limits.pids``)."""
        return Reader(self.path, self.get(key, dict, {}), self._field(key))

    def unknown_keys(self, allowed: set[str]) -> None:
        for key in self.table:
            if key not in allowed:
                raise self.fail(key, f"unknown field (allowed: {', '.join(sorted(allowed))})")


def unique(readers: list[Reader], values: list[str], key: str) -> None:
    seen: set[str] = set()
    for reader, value in zip(readers, values, strict=True):
        if value in seen:
            raise reader.fail(key, f"duplicate {key} {value!r}")
        seen.add(value)
