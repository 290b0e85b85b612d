"""Where halab keeps its files.

The repository (labs, course, node image recipe) is found from this package's location; state and the
image cache live in system directories so that `status` and `down` work from any shell. Both can be moved
with environment variables (tests use that to stay out of each other's way).
"""

import os
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def code_changed_at() -> float:
    """When halab's code last changed here (the newest of its Python files): a long-running process of halab's
    (a lab's power switch, the lab service) started before then runs older code than the checkout has. The
    files' inode change time, not their modification time: a copy or an unpacked release keeps the times of
    its files (cp -a, tar, rsync -a), but every file it writes is new to this disk."""
    return max((path.stat().st_ctime for package in ("halab", "graders", "solutions")
                for path in (PROJECT_ROOT / package).rglob("*.py")), default=0.0)


def labs_dir() -> Path:
    return Path(os.environ.get("HALAB_LABS_DIR", PROJECT_ROOT / "labs"))


def course_dir() -> Path:
    return Path(os.environ.get("HALAB_COURSE_DIR", PROJECT_ROOT / "course"))


DEFAULT_STATE_DIR = "/var/lib/halab/labs"


def state_dir() -> Path:
    """One sub-directory per lab that is up (or was, until `down`)."""
    return Path(os.environ.get("HALAB_STATE_DIR", DEFAULT_STATE_DIR))


def cache_dir() -> Path:
    """Built node images, keyed by the hash of their recipe."""
    return Path(os.environ.get("HALAB_CACHE_DIR", "/var/cache/halab"))
