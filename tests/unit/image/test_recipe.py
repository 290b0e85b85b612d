"""The node image recipe (halab/image/recipe.toml) as mmdebstrap gets it, and the node's iptables backend choice
(halab/image/files/usr/lib/halab/iptables-backend), with stand-ins for the iptables binaries."""

from __future__ import annotations

import shlex
import subprocess
from pathlib import Path

import pytest

from halab.image.build import FILES, load_recipe, mmdebstrap_command


def test_manual_pages_are_kept_in_english_and_nothing_else_of_the_docs() -> None:
    recipe = load_recipe()
    command = mmdebstrap_command(recipe, Path("/tmp/rootfs"))
    filters = [arg.removeprefix("--dpkgopt=") for arg in command if arg.startswith("--dpkgopt=")]
    # dpkg applies the last filter that matches a path, so the includes must follow the excludes they undo.
    assert filters.index("path-include=/usr/share/man/man[1-9]/*") > filters.index("path-exclude=/usr/share/man/*")
    haproxy = "path-include=/usr/share/doc/haproxy/configuration.txt.gz"
    assert filters.index(haproxy) > filters.index("path-exclude=/usr/share/doc/*")
    assert "path-exclude=/usr/share/locale/*" in filters
    packages = set(recipe["packages"])
    assert {"man-db", "iptables"} <= packages
    assert "haproxy-doc" not in packages  # the same manual as HTML and 4 MiB of scripts


def test_recipe_commands_run_in_the_rootfs_and_stop_the_build_on_failure() -> None:
    recipe = {"suite": "bookworm", "packages": ["a"], "sources": ["deb x y"], "run": ["echo 'it''s' > /etc/x"]}
    command = mmdebstrap_command(recipe, Path("/tmp/rootfs"))
    hooks = [arg.removeprefix("--customize-hook=") for arg in command if arg.startswith("--customize-hook=")]
    assert len(hooks) == 1
    words = shlex.split(hooks[0])
    assert words[:4] == ["chroot", "$1", "sh", "-ec"] and words[4] == recipe["run"][0]
    # Without filters in a recipe: no documentation at all, as before manual pages were shipped.
    assert "--dpkgopt=path-exclude=/usr/share/man/*" in command


def test_iptables_is_legacy_in_the_image() -> None:
    steps = " ".join(load_recipe()["run"])
    assert "--set iptables /usr/sbin/iptables-legacy" in steps
    assert "halab-iptables" in load_recipe()["enable_services"]


def _stand_ins(tmp_path: Path, working: set[str]) -> tuple[dict[str, str], Path]:
    """iptables-legacy and iptables-nft that work or fail as asked, and an update-alternatives that logs."""
    sbin, log = tmp_path / "sbin", tmp_path / "alternatives.log"
    sbin.mkdir()
    for backend in ("legacy", "nft"):
        tool = sbin / f"iptables-{backend}"
        tool.write_text("#!/bin/sh\nexit 0\n" if backend in working else
                        "#!/bin/sh\necho \"can't initialize iptables table 'filter'\" >&2\nexit 3\n")
        tool.chmod(0o755)
    alternatives = sbin / "update-alternatives"
    alternatives.write_text(f"#!/bin/sh\necho \"$@\" >> {log}\n")
    alternatives.chmod(0o755)
    return {"PATH": f"{sbin}:/usr/bin:/bin", "HALAB_SBIN": str(sbin)}, log


@pytest.mark.parametrize(("working", "chosen"), [
    ({"legacy", "nft"}, "legacy"),  # legacy first: it is what halab's own partition rules use on this kind of host
    ({"legacy"}, "legacy"),  # a kernel without nf_tables (this project's hosts)
    ({"nft"}, "nft"),  # nf_tables, but no ip_tables loaded, which a container cannot load
])
def test_the_node_picks_a_backend_that_works(tmp_path: Path, working: set[str], chosen: str) -> None:
    env, log = _stand_ins(tmp_path, working)
    result = subprocess.run([str(FILES / "usr/lib/halab/iptables-backend")], env=env, capture_output=True, text=True)
    assert result.returncode == 0 and f"the {chosen} backend" in result.stdout
    assert log.read_text().split("\n")[:2] == [f"--quiet --set iptables /usr/sbin/iptables-{chosen}",
                                               f"--quiet --set ip6tables /usr/sbin/ip6tables-{chosen}"]


def test_neither_backend_changes_nothing_and_says_so(tmp_path: Path) -> None:
    env, log = _stand_ins(tmp_path, set())
    result = subprocess.run([str(FILES / "usr/lib/halab/iptables-backend")], env=env, capture_output=True, text=True)
    assert result.returncode == 0 and "neither iptables-legacy nor iptables-nft works" in result.stderr
    assert not log.exists()


def test_a_container_node_waits_at_boot_until_it_is_plugged_in(tmp_path: Path) -> None:
    """halab-plugged.service's script: network-online.target (and so keepalived, corosync, haproxy) waits for the
    launcher's marker; a node that never gets it still boots, and says why it went on."""
    script, marker = str(FILES / "usr/lib/halab/wait-plugged"), tmp_path / "plugged"
    env = {"PATH": "/usr/bin:/bin", "HALAB_PLUGGED": str(marker), "HALAB_PLUG_WAIT": "1"}
    waiting = subprocess.Popen([script], env=env, stderr=subprocess.PIPE, text=True)
    with pytest.raises(subprocess.TimeoutExpired):
        waiting.wait(timeout=0.4)  # not plugged in yet: it waits
    marker.touch()
    assert waiting.wait(timeout=5) == 0 and waiting.stderr is not None and waiting.stderr.read() == ""
    marker.unlink()
    late = subprocess.run([script], env=env, capture_output=True, text=True, timeout=10)
    assert late.returncode == 0 and "did not plug this node in within 1 s" in late.stderr


def test_the_plugged_unit_holds_the_network_online_target_on_container_nodes_only() -> None:
    unit = (FILES / "etc/systemd/system/halab-plugged.service").read_text()
    assert "Before=network-online.target" in unit and "WantedBy=network-online.target" in unit
    assert "ConditionVirtualization=systemd-nspawn" in unit  # VMs and Incus nodes have their NICs at boot
    assert "halab-plugged" in load_recipe()["enable_services"]
