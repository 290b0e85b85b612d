"""The image layers' definitions (layers.toml), read without the image builder: the spec loader checks a
node's ``layer`` against them, and must not pull in what builds images (layer.py builds the layers)."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from halab.errors import HalabError

LAYERS = Path(__file__).resolve().parent / "layers.toml"
_KEYS = {"packages", "run", "disable_services", "enable_services"}


def load_layers() -> dict[str, dict[str, Any]]:
    """Every layer definition, checked: a mistake here is a clear error, never a half-built layer."""
    try:
        data = tomllib.loads(LAYERS.read_text())
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise HalabError(f"{LAYERS}: cannot read the image layers: {exc}") from None
    for name, table in data.items():
        if not isinstance(table, dict):
            raise HalabError(f"{LAYERS}: [{name}] must be a table")
        unknown = set(table) - _KEYS
        if unknown:
            raise HalabError(f"{LAYERS}: [{name}] has unknown keys {sorted(unknown)} (allowed: {sorted(_KEYS)})")
        for key in _KEYS & set(table):
            if not isinstance(table[key], list) or not all(isinstance(v, str) for v in table[key]):
                raise HalabError(f"{LAYERS}: [{name}].{key} must be a list of strings")
    return data


def layer_names() -> list[str]:
    return sorted(load_layers())
