"""The /dev/kvm that libvirtd is started with (halab/providers/libvirt/libvirtd.py): one its QEMU probe and
its capabilities cache check judge alike, whatever halab's own probe found. The live side (the cache is no
longer rewritten) is tests/integration/test_libvirtd.py."""

from __future__ import annotations

import grp
import os
from pathlib import Path

import pytest

from halab.errors import HalabError
from halab.providers.libvirt import accel, libvirtd

# /proc/PID/mountinfo lines of a libvirtd started by `halab libvirtd start` on a host where KVM hangs guests
# (recorded on this kind of machine), and of the host itself.
HIDDEN = "1651 1524 0:6 /kvm /dev/kvm rw,nodev,relatime - devtmpfs devtmpfs rw,size=12334192k,mode=755\n"
HOST = ("24 27 0:6 / /dev rw,relatime - devtmpfs devtmpfs rw,size=12334192k,nr_inodes=3083548,mode=755\n"
        "26 24 0:24 / /dev/pts rw,relatime - devpts devpts rw,mode=600,ptmxmode=000\n")


@pytest.fixture
def device(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "kvm"
    path.write_text("")
    monkeypatch.setattr(libvirtd, "KVM_DEVICE", path)
    return path


def test_a_kvm_that_hangs_guests_is_made_unopenable(device: Path) -> None:
    script = libvirtd.kvm_view(works=False)
    assert script is not None and "remount,bind,nodev /dev/kvm" in script and 'exec "$@"' in script


def test_no_kvm_device_needs_nothing(device: Path) -> None:
    device.unlink()
    assert libvirtd.kvm_view(works=False) is None and libvirtd.kvm_view(works=True) is None


def test_a_working_kvm_root_only_gets_udevs_mode(device: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    group = grp.getgrgid(os.getgid()).gr_name
    monkeypatch.setattr(libvirtd, "KVM_GROUP", group)
    device.chmod(0o600)
    for works in (True, None):  # None: not probed yet (no image); a KVM that may work is not taken away
        script = libvirtd.kvm_view(works)
        assert script is not None and "mknod -m 0660" in script and f"chgrp {group}" in script
    device.chmod(0o660)
    assert libvirtd.kvm_view(works=True) is None  # what udev makes it: libvirt's check and probe agree


def test_a_missing_kvm_group_leaves_the_device_alone(device: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(libvirtd, "KVM_GROUP", "no-such-group-here")
    assert libvirtd.kvm_view(works=True) is None


def test_the_hidden_kvm_is_recognised_in_libvirtds_mount_table() -> None:
    assert libvirtd.hides_kvm(HIDDEN)
    assert not libvirtd.hides_kvm(HOST) and not libvirtd.hides_kvm("") and not libvirtd.hides_kvm("garbage\n")
    assert not libvirtd.hides_kvm(HIDDEN.replace("rw,nodev,relatime", "rw,relatime"))


def test_the_kvm_answer_is_per_boot_whatever_kernel_asked(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HALAB_CACHE_DIR", str(tmp_path))
    assert accel.cached_answer() is None
    (tmp_path / "kvm-probe.json").write_text(f'{{"key": "{accel._boot_id()}", "kvm": true}}')
    assert accel.cached_answer() is True
    if os.access("/dev/kvm", os.R_OK | os.W_OK):  # else kvm_works answers False before the cache
        def no_probe(*_args: object, **_kwargs: object) -> None:
            raise AssertionError("probed again although this boot's answer is cached")

        monkeypatch.setattr(accel.subprocess, "run", no_probe)
        assert accel.kvm_works(Path("/another/kernel/vmlinuz-6.1")) is True
    (tmp_path / "kvm-probe.json").write_text('{"key": "another-boot", "kvm": true}')
    assert accel.cached_answer() is None
    (tmp_path / "kvm-probe.json").write_text("[1, 2")
    assert accel.cached_answer() is None


@pytest.mark.parametrize(("state_text", "blocks"), [
    ('{"lab": "other", "provider": "nspawn", "owner": "a newer halab\'s field"}', False),
    ('{"lab": "other", "provider": "libvirt", "owner": "x"}', True),
    ("{not json", True),  # nothing tells it is not a VM lab: its VMs may need libvirtd to go
])
def test_stop_refuses_only_for_labs_that_may_be_vm_labs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                       state_text: str, blocks: bool) -> None:
    monkeypatch.setenv("HALAB_STATE_DIR", str(tmp_path))
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "state.json").write_text(state_text)
    monkeypatch.setattr(libvirtd, "switch_namespace", lambda: libvirtd.NAMESPACE)
    monkeypatch.setattr(libvirtd, "_pid", lambda _daemon: None)
    monkeypatch.setattr(libvirtd.netns, "delete_netns", lambda _name: None)
    if blocks:
        with pytest.raises(HalabError, match="VM labs are up \\(other\\)"):
            libvirtd.stop()
    else:
        assert libvirtd.stop() == "libvirtd stopped"
