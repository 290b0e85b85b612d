"""Paths the course tests share."""

from __future__ import annotations

import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
COURSE_DIR = REPO_ROOT / "course"
NOTEBOOKS = sorted((COURSE_DIR / "source").glob("*/*.ipynb"))
ARTIFACTS = REPO_ROOT / "test-artifacts"


def shared_dir() -> Path:
    """The shared reference folder: $HALAB_SHARED_DIR, else ../shared beside the repository (as in CI)."""
    return Path(os.environ.get("HALAB_SHARED_DIR", REPO_ROOT.parent / "shared"))
