"""Image layers (halab/image/layer.py) and the lab guest's disk builder (halab/image/guest.py): the parts that
need no root. Building them for real is exercised by `halab up virtualization` (tests/integration)."""

from __future__ import annotations

import gzip
import stat
import subprocess
from pathlib import Path

import pytest

from halab.errors import HalabError
from halab.image import guest, layer, layerdefs
from halab.image.build import Image


def image(digest: str = "a" * 16) -> Image:
    return Image(digest, Path("/nonexistent") / digest, "now", 650)


def test_shipped_layers_load_and_hash_by_image_and_definition(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert "hypervisor" in layer.layer_names()
    assert "qemu-system-x86" in layer.load_layers()["hypervisor"]["packages"]
    first = layer.layer_hash(image("a" * 16), "hypervisor")
    assert first == layer.layer_hash(image("a" * 16), "hypervisor")
    assert first != layer.layer_hash(image("b" * 16), "hypervisor")  # a new node image rebuilds its layers
    edited = tmp_path / "layers.toml"
    edited.write_text(layer.LAYERS.read_text().replace('"libxml2-utils"', '"libxml2-utils", "tcpdump"'))
    monkeypatch.setattr(layerdefs, "LAYERS", edited)
    assert layer.layer_hash(image("a" * 16), "hypervisor") != first
    with pytest.raises(HalabError, match="no image layer 'gpu'"):
        layer.layer_hash(image(), "gpu")


@pytest.mark.parametrize(("text", "problem"), [
    ("[x]\npackages = 'qemu'\n", r"\[x\].packages must be a list of strings"),
    ("[x]\npakages = ['qemu']\n", "unknown keys"),
    ("x = 1\n", r"\[x\] must be a table"),
    ("[x\n", "cannot read the image layers"),
])
def test_a_broken_layer_definition_is_a_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, text: str,
                                                    problem: str) -> None:
    path = tmp_path / "layers.toml"
    path.write_text(text)
    monkeypatch.setattr(layerdefs, "LAYERS", path)
    with pytest.raises(HalabError, match=problem):
        layer.load_layers()


# The node image's modules.dep lines for what the guest loads (Debian 6.1.0 cloud kernel).
MODULES_DEP = """\
kernel/drivers/virtio/virtio.ko: kernel/drivers/virtio/virtio_ring.ko
kernel/drivers/virtio/virtio_ring.ko:
kernel/drivers/virtio/virtio_pci_modern_dev.ko:
kernel/drivers/virtio/virtio_pci_legacy_dev.ko:
kernel/drivers/virtio/virtio_pci.ko: kernel/drivers/virtio/virtio_pci_legacy_dev.ko \
kernel/drivers/virtio/virtio_pci_modern_dev.ko kernel/drivers/virtio/virtio.ko kernel/drivers/virtio/virtio_ring.ko
kernel/drivers/net/virtio_net.ko: kernel/drivers/net/net_failover.ko kernel/net/core/failover.ko \
kernel/drivers/virtio/virtio.ko kernel/drivers/virtio/virtio_ring.ko
kernel/drivers/net/net_failover.ko: kernel/net/core/failover.ko
kernel/net/core/failover.ko:
"""


def test_modules_load_after_their_dependencies() -> None:
    order = [Path(p).stem for p in guest.module_order(MODULES_DEP, ("virtio_pci", "virtio_net"))]
    assert order == ["virtio_ring", "virtio", "virtio_pci_modern_dev", "virtio_pci_legacy_dev", "virtio_pci",
                     "failover", "net_failover", "virtio_net"]
    with pytest.raises(HalabError, match="no module vfat"):
        guest.module_order(MODULES_DEP, ("vfat",))


def test_the_initramfs_archive_is_a_cpio_newc_that_cpio_reads(tmp_path: Path) -> None:
    archive = guest.newc_archive({"bin": (stat.S_IFDIR | 0o755, b""), "bin/hello": (stat.S_IFREG | 0o755, b"hi\n"),
                                  "init": (stat.S_IFLNK | 0o777, b"bin/hello")})
    assert archive.startswith(b"070701") and len(archive) % 4 == 0
    (tmp_path / "a.cpio.gz").write_bytes(gzip.compress(archive))
    # busybox's cpio (the guest's own) lists and unpacks it as the kernel would.
    listing = subprocess.run(["busybox", "cpio", "-t"], input=archive, capture_output=True, check=True).stdout
    assert listing.split() == [b"bin", b"bin/hello", b"init"]
    subprocess.run(["busybox", "cpio", "-id"], input=archive, cwd=tmp_path, check=True, capture_output=True)
    assert (tmp_path / "bin/hello").read_text() == "hi\n" and (tmp_path / "init").is_symlink()
