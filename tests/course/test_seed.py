"""The course seed's three examples are kept verbatim in labs/seed/ and shown verbatim by the notebooks."""

from __future__ import annotations

import json
import re

import pytest

from tests.course.helpers import COURSE_DIR, REPO_ROOT, shared_dir

SEED_FILES = ("corosync.sh", "drbd.sh", "virtualization.sh")  # in the seed's order
SEED_DIR = REPO_ROOT / "labs" / "seed"


def seed_blocks() -> list[str]:
    path = shared_dir() / "seed" / "361.1-ha-concepts.md"
    if not path.is_file():
        pytest.skip(f"the course seed is not here ({path})")
    return re.findall(r"```bash\n(.*?)```", path.read_text(), re.S)


def test_the_seed_files_are_the_seeds_examples_character_for_character() -> None:
    blocks = seed_blocks()
    assert len(blocks) == len(SEED_FILES)
    for name, block in zip(SEED_FILES, blocks, strict=True):
        assert (SEED_DIR / name).read_text() == block, f"labs/seed/{name} differs from the seed's example"


def notebook_text(name: str) -> str:
    cells = json.loads((COURSE_DIR / "source" / name / f"{name}.ipynb").read_text())["cells"]
    return "\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "markdown")


def test_notebook_03_shows_the_seeds_corosync_example_exactly() -> None:
    assert (SEED_DIR / "corosync.sh").read_text() in notebook_text("03-clustering")
