"""The checks of halab's collect (halab/course/collect.py) on real folders: whose a submission folder is, and a
copy that never follows a link. The whole collect, with real students: tests/integration/test_classroom_sandbox.py."""

from __future__ import annotations

import os
import pwd
from pathlib import Path

import pytest

from halab.course.collect import copy_tree, forged


def test_a_folder_is_a_students_only_if_their_account_made_it(tmp_path: Path) -> None:
    folder = tmp_path / "sub"
    folder.mkdir()
    me = pwd.getpwuid(os.getuid()).pw_name
    assert forged(str(folder), me, None) == ""
    other = "nobody" if me != "nobody" else "root"
    assert f"claims to be {other}'s, but {me} made it" in forged(str(folder), other, None)
    assert forged(str(folder), "no-such-account-here", None) == ""  # students who are not users: cannot be told
    assert "not a student of this class" in forged(str(folder), me, {"ann"})
    assert "not a student id" in forged(str(folder), "..", None)
    (tmp_path / "file").write_text("x")
    assert "not a folder" in forged(str(tmp_path / "file"), me, None)


def test_the_copy_leaves_links_and_pipes_out(tmp_path: Path) -> None:
    source = tmp_path / "submission"
    (source / "sub").mkdir(parents=True)
    (source / "answer.ipynb").write_text("{}")
    (source / "sub" / "data.txt").write_text("data")
    secret = tmp_path / "passwords.csv"
    secret.write_text("ann,secret")
    (source / "evidence-clustering.json").symlink_to(secret)
    (source / "linked-folder").symlink_to(tmp_path)
    os.mkfifo(source / "pipe")
    skipped = copy_tree(source, tmp_path / "copy", None, 10_000)
    copied = sorted(str(p.relative_to(tmp_path / "copy")) for p in (tmp_path / "copy").rglob("*"))
    assert copied == ["answer.ipynb", "sub", "sub/data.txt"]
    assert sorted(Path(s).name for s in skipped) == ["evidence-clustering.json", "linked-folder", "pipe"]


def test_the_copy_stops_at_the_size_limit(tmp_path: Path) -> None:
    (tmp_path / "s").mkdir()
    (tmp_path / "s" / "big").write_bytes(b"x" * 5000)
    with pytest.raises(RuntimeError, match="larger than"):
        copy_tree(tmp_path / "s", tmp_path / "copy", None, 4000)
