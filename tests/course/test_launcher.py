import socket
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from halab.command.course import course
from halab.course import launcher
from halab.errors import HalabError
from tests.course.helpers import COURSE_DIR


def test_command_line_has_what_students_need() -> None:
    opts = launcher.LaunchOptions(port=9999, ip="0.0.0.0", token="t0ken", course_dir=COURSE_DIR)
    args = launcher.build_command(opts, 9123)
    assert args[:3] == [sys.executable, "-m", "jupyterlab"]
    assert f"--ServerApp.root_dir={COURSE_DIR}" in args
    assert "--ServerApp.port=9123" in args and "--ServerApp.port_retries=0" in args
    assert "--ServerApp.terminals_enabled=True" in args and "--ServerApp.open_browser=False" in args
    # The token is never on a command line: `ps` shows command lines to every user of the machine.
    assert not any("t0ken" in arg for arg in args)
    assert launcher.build_env(opts)["JUPYTER_TOKEN"] == "t0ken"


def test_empty_token_is_refused() -> None:
    with pytest.raises(HalabError, match="token must not be empty"):
        launcher.build_command(launcher.LaunchOptions(token=""), 8888)


def test_environment_puts_the_venv_first_for_halab_in_terminals(tmp_path: Path) -> None:
    env = launcher.build_env(launcher.LaunchOptions(token="t", course_dir=tmp_path))
    assert env["PATH"].split(":")[0] == str(Path(sys.executable).parent)
    assert env["HALAB_COURSE_DIR"] == str(tmp_path)


def test_students_and_instructors_get_their_own_jupyter_config(tmp_path: Path) -> None:
    student = launcher.build_env(launcher.LaunchOptions(token="t", course_dir=COURSE_DIR, root_dir=tmp_path))
    instructor = launcher.build_env(launcher.LaunchOptions(token="t", course_dir=COURSE_DIR))
    assert student["JUPYTER_CONFIG_PATH"].split(":")[0].endswith("jupyter/student")
    assert instructor["JUPYTER_CONFIG_PATH"].split(":")[0].endswith("jupyter/instructor")


def test_url_opens_the_first_notebook_with_the_token() -> None:
    url = launcher.notebook_url("0.0.0.0", 8890, "abc")
    assert url == "http://127.0.0.1:8890/lab/tree/source/01-introduction/01-introduction.ipynb?token=abc"


def test_busy_port_is_skipped() -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        assert launcher.free_port("127.0.0.1", port) > port
    with pytest.raises(HalabError, match="not a TCP port"):
        launcher.free_port("127.0.0.1", 70000)


def test_course_dir_must_be_a_course(tmp_path: Path) -> None:
    assert launcher.check_course_dir(COURSE_DIR) == COURSE_DIR.resolve()
    with pytest.raises(HalabError, match="not a halab course folder"):
        launcher.check_course_dir(tmp_path)


def test_cli_help_and_errors(tmp_path: Path) -> None:
    runner = CliRunner()
    result = runner.invoke(course, ["--help"])
    assert result.exit_code == 0 and "--no-browser" in result.output and "--port" in result.output
    result = runner.invoke(course, ["--course-dir", str(tmp_path)])
    assert result.exit_code == 1 and "not a halab course folder" in result.output
    empty = tmp_path / "token"
    empty.write_text("\n")
    result = runner.invoke(course, ["--token-file", str(empty)])
    assert result.exit_code == 2 and "token file is empty" in result.output


def test_students_get_a_workspace_instructors_the_course(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import subprocess

    from halab.course import workspace

    started: list[launcher.LaunchOptions] = []
    prepared: list[tuple[Path, Path]] = []

    def fake_start(opts: launcher.LaunchOptions) -> launcher.RunningCourse:
        started.append(opts)
        url = launcher.notebook_url(opts.ip, 8899, opts.token, opts.first_notebook)
        return launcher.RunningCourse(subprocess.Popen(["true"]), url, 8899)

    monkeypatch.setenv("HALAB_EXCHANGE_DIR", str(tmp_path / "exchange"))  # made if missing: not in our home
    monkeypatch.setattr(launcher, "start", fake_start)
    monkeypatch.setattr(workspace, "prepare", lambda course, folder: prepared.append((course, folder)) or ["01-x"])
    runner = CliRunner()
    monkeypatch.setenv("HALAB_COURSE_TOKEN", "t")
    result = runner.invoke(course, ["--workspace", str(tmp_path / "ws"), "--port", "8899"])
    assert result.exit_code == 0, result.output
    assert prepared == [(COURSE_DIR.resolve(), (tmp_path / "ws").resolve())]
    assert started[0].served_dir == (tmp_path / "ws").resolve() and started[0].course_dir == COURSE_DIR.resolve()
    assert "URL: http://127.0.0.1:8899/lab/tree/01-introduction/01-introduction.ipynb?token=t" in result.output
    assert "New in your workspace" in result.output and (tmp_path / "exchange").is_dir()

    result = runner.invoke(course, ["--instructor", "--port", "8899"])
    assert result.exit_code == 0, result.output
    assert started[1].served_dir == COURSE_DIR.resolve() and len(prepared) == 1
    assert "/lab/tree/source/01-introduction/01-introduction.ipynb" in result.output

    result = runner.invoke(course, ["--instructor", "--workspace", str(tmp_path)])
    assert result.exit_code == 2 and "one or the other" in result.output


def test_the_served_folder_is_the_root_and_working_directory(tmp_path: Path) -> None:
    opts = launcher.LaunchOptions(token="t", course_dir=COURSE_DIR, root_dir=tmp_path)
    assert f"--ServerApp.root_dir={tmp_path}" in launcher.build_command(opts, 9000)
    assert launcher.build_env(opts)["HALAB_COURSE_DIR"] == str(COURSE_DIR)  # quiz banks stay in the course
