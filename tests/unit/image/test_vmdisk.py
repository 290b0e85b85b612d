"""The VM disk is built once even when two VM labs come up at the same moment.

Two real processes call vmdisk.vm_image on a tiny stand-in image (a small rootfs with a fake kernel and
initrd) in a temporary HALAB_CACHE_DIR; the build runs the real mkfs.ext4 and qemu-img.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.support.paths import REPO

PROJECT = REPO

BUILDER = """
import sys, time
from pathlib import Path
from halab.image.build import Image
from halab.image.vmdisk import vm_image
path = Path(sys.argv[1])
go = path.parent / "go"
while not go.exists():  # both start building at the same moment
    time.sleep(0.001)
vm = vm_image(Image("tiny", path, "now", 1), lambda line: print(line, flush=True))
print("done", vm.disk, vm.disk.stat().st_size > 0, flush=True)
"""


@pytest.mark.skipif(not (shutil.which("mkfs.ext4") and shutil.which("qemu-img")), reason="needs e2fsprogs, qemu-img")
def test_two_labs_at_once_build_the_vm_disk_once(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    image = cache / "images" / "tiny"
    boot = image / "rootfs" / "boot"
    boot.mkdir(parents=True)
    (image / "rootfs" / "etc").mkdir()
    (image / "rootfs" / "etc" / "hostname").write_text("tiny\n")
    (boot / "vmlinuz-6.1.0-test").write_bytes(b"not really a kernel")
    (boot / "initrd.img-6.1.0-test").write_bytes(b"not really an initrd")
    env = {**os.environ, "PYTHONPATH": str(PROJECT), "HALAB_CACHE_DIR": str(cache)}
    builders = [subprocess.Popen([sys.executable, "-c", BUILDER, str(image)], env=env, stdout=subprocess.PIPE,
                                 stderr=subprocess.PIPE, text=True) for _ in range(2)]
    time.sleep(0.5)  # both are waiting for the go
    (image.parent / "go").touch()
    outputs = []
    for builder in builders:
        out, err = builder.communicate(timeout=300)
        assert builder.returncode == 0, err
        outputs.append(out)
    made = [out.count("making the VM disk") for out in outputs]
    assert sorted(made) == [0, 1], f"the disk must be made exactly once (messages per process: {made})"
    assert all(f"done {image / 'vm' / 'disk.qcow2'} True" in out for out in outputs)
    assert not (image / ".vm-build").exists()
    info = subprocess.run(["qemu-img", "info", str(image / "vm" / "disk.qcow2")], capture_output=True, text=True)
    assert "file format: qcow2" in info.stdout
