"""An image is never removed under a lab that runs on it, even a lab this checkout's state does not know (another
HALAB_STATE_DIR, another checkout): on 2026-12-06 `halab image build` in one checkout removed the image under
another's running labs (their containers' image layers went empty; their VMs' backing disk was deleted while QEMU
had it open). Real files, a real bind mount and a real open file in a temporary HALAB_CACHE_DIR."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from halab.errors import HalabError
from halab.host.fs import users_of
from halab.image import build


@pytest.fixture
def cached(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.setenv("HALAB_CACHE_DIR", str(tmp_path / "cache"))
    image = tmp_path / "cache" / "images" / "0123456789abcdef"
    (image / "rootfs" / "etc").mkdir(parents=True)
    (image / "vm").mkdir()
    (image / "vm" / "disk.qcow2").write_bytes(b"QFI\xfb")
    (image / "image.json").write_text(json.dumps({"hash": image.name, "built": "now", "size_mib": 1}))
    (tmp_path / "cache" / "images" / "damaged").mkdir()
    (tmp_path / "cache" / "images" / "damaged" / "image.json").write_text("[]")  # not an image: skipped
    assert [i.hash for i in build.list_images()] == [image.name]
    yield image


def test_an_image_a_process_holds_open_is_kept(cached: Path) -> None:
    with open(cached / "vm" / "disk.qcow2", "rb"):  # a VM's QEMU reading its backing disk
        assert users_of(cached) == [f"open in process {os.getpid()}"]
        with pytest.raises(HalabError, match="in use on this host .*open in process"):
            build.remove_image(cached.name, in_use=set())
    assert cached.exists()
    assert build.remove_image(cached.name, in_use=set()) == cached.name and not cached.exists()


@pytest.mark.skipif(os.geteuid() != 0, reason="bind mounts need root")
def test_an_image_a_container_node_has_mounted_is_kept(cached: Path, tmp_path: Path) -> None:
    lower = tmp_path / "node-lower"
    lower.mkdir()
    subprocess.run(["mount", "--bind", str(cached / "rootfs"), str(lower)], check=True)
    try:
        assert users_of(cached) == [f"mounted on {lower}"]
        with pytest.raises(HalabError, match="a lab of another state directory runs on it"):
            build.remove_image(cached.name[:6], in_use=set())
    finally:
        subprocess.run(["umount", str(lower)], check=True)
    assert users_of(cached) == [] and cached.exists()
