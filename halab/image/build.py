"""Build, list and remove cached node images.

An image is a directory ``<cache>/images/<hash>/`` holding ``rootfs/`` and ``image.json``. It is built in
``.build-<hash>`` and renamed into place only when complete, so a half-built image is never used; a
leftover build directory from a crash is removed by the next build.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import shlex
import shutil
import subprocess
import time
import tomllib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from halab import paths
from halab.errors import HalabError
from halab.host.fs import remove_tree, users_of
from halab.types import Progress

RECIPE_DIR = Path(__file__).resolve().parent
RECIPE = RECIPE_DIR / "recipe.toml"
FILES = RECIPE_DIR / "files"
# Bump when the build steps below change in a way that changes the image.
BUILDER_VERSION = "1"

# Without dpkg_filters in the recipe: no documentation, translations or manual pages at all.
DEFAULT_DPKG_FILTERS = ["path-exclude=/usr/share/doc/*", "path-exclude=/usr/share/locale/*",
                        "path-exclude=/usr/share/man/*"]


@dataclass(frozen=True)
class Image:
    hash: str
    path: Path
    built: str
    size_mib: int

    @property
    def rootfs(self) -> Path:
        return self.path / "rootfs"


def load_recipe() -> dict[str, Any]:
    try:
        return tomllib.loads(RECIPE.read_text())
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise HalabError(f"{RECIPE}: cannot read the node image recipe: {exc}") from None


def recipe_hash() -> str:
    digest = hashlib.sha256(BUILDER_VERSION.encode())
    digest.update(RECIPE.read_bytes())
    for file in sorted(p for p in FILES.rglob("*") if p.is_file()):
        digest.update(str(file.relative_to(FILES)).encode())
        digest.update(file.read_bytes())
    return digest.hexdigest()[:16]


def images_dir() -> Path:
    return paths.cache_dir() / "images"


def list_images() -> list[Image]:
    images = []
    for meta_file in sorted(images_dir().glob("*/image.json")):
        try:
            meta = json.loads(meta_file.read_text())
            images.append(Image(str(meta["hash"]), meta_file.parent, meta.get("built", "?"), meta.get("size_mib", 0)))
        except (OSError, ValueError, KeyError, TypeError):
            continue  # not a complete image (a build cut off, a damaged file)
    return images


def current_image() -> Image | None:
    wanted = recipe_hash()
    return next((image for image in list_images() if image.hash == wanted), None)


@contextmanager
def build_lock() -> Iterator[None]:
    """Held while anything in the image cache is built or removed (the image, its VM disk, its Vagrant box):
    two labs coming up at once must not build the same thing into the same place."""
    images_dir().mkdir(parents=True, exist_ok=True)
    with open(images_dir() / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def mmdebstrap_command(recipe: dict[str, Any], target: Path) -> list[str]:
    """The mmdebstrap command line that builds the recipe's rootfs into ``target``."""
    return [
        "mmdebstrap", "--mode=root", f"--variant={recipe.get('variant', 'apt')}",
        "--include=" + ",".join(recipe["packages"]),
        # No recommends: keeps the image small and the package set exactly what the recipe says.
        "--aptopt=APT::Install-Recommends \"false\"",
        # mmdebstrap also writes them to /etc/dpkg/dpkg.cfg.d/, so image layers and a student's apt-get in a node
        # follow the same filters.
        *(f"--dpkgopt={rule}" for rule in recipe.get("dpkg_filters", DEFAULT_DPKG_FILTERS)),
        # `sh -ec`: a failing command fails the build, never an image that silently lacks a setting.
        *(f"--customize-hook=chroot \"$1\" sh -ec {shlex.quote(step)}" for step in recipe.get("run", [])),
        recipe["suite"], str(target), *recipe["sources"],
    ]


def _mmdebstrap(recipe: dict[str, Any], target: Path, progress: Progress) -> None:
    if not shutil.which("mmdebstrap"):
        raise HalabError("mmdebstrap is not installed; run: apt-get install mmdebstrap")
    command = mmdebstrap_command(recipe, target)
    with subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True) as proc:
        tail: list[str] = []
        try:
            assert proc.stdout is not None
            for line in proc.stdout:
                line = line.rstrip()
                tail = (tail + [line])[-15:]
                progress(line)
        except BaseException:
            proc.kill()  # our own child, by PID; then the caller removes the half-built tree
            proc.wait()
            raise
        if proc.wait() != 0:
            raise HalabError("mmdebstrap failed:\n" + "\n".join(tail))


def _configure(recipe: dict[str, Any], rootfs: Path) -> None:
    """Settings that make one rootfs serve as many distinct nodes."""
    shutil.copytree(FILES, rootfs, dirs_exist_ok=True, symlinks=True)
    # Every node gets its own host keys, machine-id and hostname when it is created.
    for key in (rootfs / "etc/ssh").glob("ssh_host_*"):
        key.unlink()
    (rootfs / "etc/machine-id").write_text("")
    (rootfs / "etc/hostname").unlink(missing_ok=True)
    set_services(recipe, rootfs)
    shutil.rmtree(rootfs / "var/cache/apt/archives", ignore_errors=True)
    (rootfs / "var/cache/apt/archives/partial").mkdir(parents=True, exist_ok=True)


def set_services(recipe: dict[str, Any], rootfs: Path) -> None:
    """Disable, then enable, the units a recipe (or an image layer) lists under disable_/enable_services."""
    for action in ("disable", "enable"):
        for name in recipe.get(f"{action}_services", []):
            unit = name if "." in name else f"{name}.service"
            if not any((rootfs / d / unit).exists() for d in ("lib/systemd/system", "etc/systemd/system")):
                continue  # not every package ships every unit; the recipe lists the union
            subprocess.run(["systemctl", f"--root={rootfs}", action, unit], capture_output=True, check=True)


def size_mib(path: Path) -> int:
    result = subprocess.run(["du", "-sm", str(path)], capture_output=True, text=True)
    return int(result.stdout.split()[0]) if result.returncode == 0 else 0


def build_image(progress: Progress = lambda _line: None, force: bool = False) -> Image:
    """Return the image for the current recipe, building it if it is not cached."""
    with build_lock():
        image = current_image()
        if image and not force:
            return image
        recipe = load_recipe()
        digest = recipe_hash()
        final = images_dir() / digest
        staging = images_dir() / f".build-{digest}"
        remove_tree(staging)
        staging.mkdir(parents=True)
        started = time.monotonic()
        try:
            _mmdebstrap(recipe, staging / "rootfs", progress)
            progress("configuring the image")
            _configure(recipe, staging / "rootfs")
            meta = {
                "hash": digest,
                "built": time.strftime("%Y-%m-%d %H:%M:%S"),
                "build_seconds": round(time.monotonic() - started, 1),
                "size_mib": size_mib(staging / "rootfs"),
                "suite": recipe["suite"],
            }
            (staging / "image.json").write_text(json.dumps(meta, indent=2))
            remove_tree(final)
            staging.rename(final)
        except BaseException:
            remove_tree(staging)
            raise
        return Image(digest, final, meta["built"], meta["size_mib"])


def remove_image(digest: str, in_use: set[str]) -> str:
    """Remove the cached image whose hash starts with ``digest``; returns its hash (its Vagrant box, if any, is
    vagrantbox.remove_box's to remove: that module builds on this one)."""
    matches = [image for image in list_images() if image.hash.startswith(digest)]
    if not matches:
        raise HalabError(f"no cached image matches '{digest}' (see: halab image list)")
    if len(matches) > 1:
        raise HalabError(f"'{digest}' matches several images; give more of the hash")
    if matches[0].hash in in_use:
        raise HalabError(f"image {matches[0].hash} is used by a lab that is up; run halab down first")
    users = users_of(matches[0].path)
    if users:  # a lab of another HALAB_STATE_DIR or checkout: its state is not among ours
        raise HalabError(f"image {matches[0].hash} is in use on this host ({'; '.join(users)}): a lab of another "
                         "state directory runs on it; take that lab down first")
    with build_lock():
        remove_tree(matches[0].path)
    return matches[0].hash
