"""The lab guest: a tiny VM disk that boots to a network and a web server in about three seconds under TCG.

The disk is a FAT file system with syslinux, the node image's Debian cloud kernel and a busybox initramfs
(the host's busybox-static; the virtio, vfat and ACPI-button modules from the node image, which the cloud
kernel does not have built in). So it is an ordinary bootable disk that `virt-install --import` can use,
small enough (32 MiB) to copy into each lab. At boot the guest reads its name and address from ``guest.cfg``
on the disk (written per lab by `write_guest_config`), counts its boots there, and serves
``/cgi-bin/status``: its kernel boot id and uptime, which the graders read to tell a live migration (same
boot, uptime goes on) from a restart. Built once per node image, cached beside it like the VM disk.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import os
import shutil
import stat
import subprocess
import tempfile
from pathlib import Path

from halab.errors import HalabError
from halab.host.fs import remove_tree
from halab.image.build import Image, build_lock
from halab.types import Progress

GUEST_FILES = Path(__file__).resolve().parent / "guest"
BUSYBOX = Path("/bin/busybox")  # Debian's busybox-static
DISK_MIB = 32
# Modules the guest loads (dependencies are added from modules.dep): disk, network, its FAT disk, the power
# button (virsh shutdown).
MODULES = ("virtio_pci", "virtio_net", "virtio_blk", "vfat", "nls_cp437", "nls_ascii", "button", "evdev")
GUEST_BUILDER_VERSION = "1"
_HOST_TOOLS = {"mkfs.vfat": "dosfstools", "syslinux": "syslinux", "mcopy": "mtools"}


def missing_host_tools() -> list[tuple[str, str]]:
    """(tool, Debian package) the guest builder needs and this host lacks."""
    missing = [(tool, package) for tool, package in _HOST_TOOLS.items() if not shutil.which(tool)]
    if not BUSYBOX.exists():
        missing.append((str(BUSYBOX), "busybox-static"))
    return missing


def _kernel(image: Image) -> tuple[Path, Path]:
    """The node image's kernel and its modules directory."""
    kernels = sorted((image.rootfs / "boot").glob("vmlinuz-*"))
    if not kernels:
        raise HalabError("the node image has no kernel (linux-image-cloud-amd64 missing from the recipe?)")
    version = kernels[-1].name.removeprefix("vmlinuz-")
    return kernels[-1], image.rootfs / "lib/modules" / version


def module_order(modules_dep: str, wanted: tuple[str, ...]) -> list[str]:
    """The module files to insmod, each after the modules it depends on (from modules.dep's text)."""
    deps: dict[str, list[str]] = {}
    for line in modules_dep.splitlines():
        target, _, needs = line.partition(":")
        deps[target.strip()] = needs.split()
    by_name = {Path(path).name.removesuffix(".ko"): path for path in deps}
    order: list[str] = []

    def add(path: str) -> None:
        for need in reversed(deps.get(path, [])):  # modules.dep lists the deepest dependency last
            add(need)
        if path not in order:
            order.append(path)

    for name in wanted:
        if name not in by_name:
            raise HalabError(f"the node image's kernel has no module {name} (built in or missing)")
        add(by_name[name])
    return order


def newc_archive(files: dict[str, tuple[int, bytes]]) -> bytes:
    """A cpio "newc" archive (what the kernel unpacks as an initramfs) of {path: (mode, content)}; a
    symlink's content is its target. Written here so the host needs no cpio."""
    out = io.BytesIO()

    def pad() -> None:
        out.write(b"\0" * (-out.tell() % 4))

    for inode, (name, (mode, content)) in enumerate([*sorted(files.items()), ("TRAILER!!!", (0, b""))], start=1):
        fields = (inode, mode, 0, 0, 2 if stat.S_ISDIR(mode) else 1, 0, len(content), 0, 0, 0, 0, len(name) + 1, 0)
        out.write(b"070701" + "".join(f"{value:08x}" for value in fields).encode() + name.encode() + b"\0")
        pad()
        out.write(content)
        pad()
    return out.getvalue()


def _initramfs(modules_dir: Path) -> bytes:
    files: dict[str, tuple[int, bytes]] = {}
    for directory in ("bin", "dev", "proc", "sys", "run", "tmp", "etc", "modules"):
        files[directory] = (stat.S_IFDIR | 0o755, b"")
    files["bin/busybox"] = (stat.S_IFREG | 0o755, BUSYBOX.read_bytes())
    order = module_order((modules_dir / "modules.dep").read_text(), MODULES)
    for path in order:
        files[f"modules/{Path(path).name}"] = (stat.S_IFREG | 0o644, (modules_dir / path).read_bytes())
    files["modules/order"] = (stat.S_IFREG | 0o644, "".join(Path(p).name.removesuffix(".ko") + "\n"
                                                              for p in order).encode())
    root = GUEST_FILES / "rootfs"
    for item in sorted(root.rglob("*")):
        mode = item.stat().st_mode
        name = str(item.relative_to(root))
        files[name] = (stat.S_IFDIR | 0o755, b"") if item.is_dir() else \
            (stat.S_IFREG | (0o755 if mode & 0o100 else 0o644), item.read_bytes())
    buffer = io.BytesIO()
    with gzip.GzipFile(fileobj=buffer, mode="wb", compresslevel=6, mtime=0) as archive:
        archive.write(newc_archive(files))
    return buffer.getvalue()


def _run(command: list[str]) -> None:
    result = subprocess.run(command, capture_output=True, text=True, env={**os.environ, "MTOOLS_SKIP_CHECK": "1"})
    if result.returncode != 0:
        raise HalabError(f"'{' '.join(command[:2])} ...' failed: {(result.stderr or result.stdout).strip()[-300:]}")


def guest_hash(image: Image) -> str:
    digest = hashlib.sha256(f"{GUEST_BUILDER_VERSION}/{image.hash}/{MODULES}".encode())
    for file in sorted(p for p in GUEST_FILES.rglob("*") if p.is_file()):
        digest.update(str(file.relative_to(GUEST_FILES)).encode())
        digest.update(file.read_bytes())
    if BUSYBOX.exists():
        digest.update(BUSYBOX.read_bytes())
    return digest.hexdigest()[:16]


def guest_disk(image: Image, progress: Progress = lambda _m: None) -> Path:
    """The cached guest disk for this node image, built if needed (about a second)."""
    missing = missing_host_tools()
    if missing:
        raise HalabError(f"building the lab guest needs {', '.join(t for t, _ in missing)}; run: apt-get install "
                         + " ".join(sorted({p for _, p in missing})))
    final = image.path / f"guest-{guest_hash(image)}"
    with build_lock():
        if (final / "disk.img").exists():
            return final / "disk.img"
        progress("building the lab guest's disk (once per node image)")
        staging = image.path / f".build-{final.name}"
        remove_tree(staging)
        staging.mkdir()
        try:
            kernel, modules_dir = _kernel(image)
            (staging / "initrd.gz").write_bytes(_initramfs(modules_dir))
            shutil.copy(kernel, staging / "vmlinuz")
            disk = str(staging / "disk.img")
            with open(disk, "wb") as handle:
                handle.truncate(DISK_MIB * 1024 * 1024)
            _run(["mkfs.vfat", "-n", "HALABGUEST", "-i", "4841424c", disk])
            _run(["syslinux", "--install", disk])
            _run(["mcopy", "-i", disk, str(staging / "vmlinuz"), str(staging / "initrd.gz"),
                  str(GUEST_FILES / "syslinux.cfg"), "::/"])
            (staging / "vmlinuz").unlink()
            (staging / "initrd.gz").unlink()
            staging.rename(final)
        except BaseException:
            remove_tree(staging)
            raise
    return final / "disk.img"


def write_guest_config(disk: Path, name: str, address: str) -> None:
    """Give a copy of the guest disk its name and address (``address`` with its prefix, 10.0.0.5/24)."""
    with tempfile.TemporaryDirectory() as folder:
        config = Path(folder) / "guest.cfg"
        config.write_text(f"NAME={name}\nADDRESS={address}\n")
        _run(["mcopy", "-o", "-i", str(disk), str(config), "::/guest.cfg"])
