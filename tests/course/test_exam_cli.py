"""`halab exam` and `halab progress` from the outside: a real terminal under tmux for the interactive exam,
plain subprocesses for the scripted parts and for bad input (never a traceback)."""

from __future__ import annotations

import itertools
import json
import os
import random
import shlex
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from halab.course.exam import MockExam
from halab.course.objectives import load_vocabulary
from halab.course.quiz import Question, graded_bank_names, load_graded_bank, practice_questions
from tests.course.helpers import COURSE_DIR, REPO_ROOT

SOCKETS = itertools.count()


class Tmux:
    """One tmux server of our own (its own socket) running one command in a 160x60 terminal."""

    def __init__(self, command: list[str], env: dict[str, str], folder: Path) -> None:
        if not shutil.which("tmux"):
            pytest.fail("tmux is needed to drive `halab exam` in a real terminal: apt-get install -y tmux")
        self.socket = str(folder / f"tmux-{next(SOCKETS)}.sock")  # in the test's folder: nothing is left behind
        assignments = " ".join(f"{k}={shlex.quote(v)}" for k, v in env.items())
        line = f"env {assignments} {shlex.join(command)}; echo EXIT=$?; sleep 600"
        self.tmux("new-session", "-d", "-s", "exam", "-x", "160", "-y", "60", line)

    def tmux(self, *args: str) -> str:
        return subprocess.run(["tmux", "-S", self.socket, *args], check=True, capture_output=True, text=True,
                              timeout=20).stdout

    def send(self, text: str) -> None:
        if text:
            self.tmux("send-keys", "-t", "exam", "-l", text)
        self.tmux("send-keys", "-t", "exam", "Enter")

    def screen(self) -> str:
        return self.tmux("capture-pane", "-p", "-J", "-t", "exam", "-S", "-300")

    def wait_for(self, text: str, timeout: float = 20) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            screen = self.screen()
            if text in screen:
                return screen
            time.sleep(0.2)
        pytest.fail(f"{text!r} did not appear within {timeout} s; the terminal shows:\n{self.screen()}")

    def close(self) -> None:
        subprocess.run(["tmux", "-S", self.socket, "kill-server"], capture_output=True, timeout=20)


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return {"PYTHONPATH": str(REPO_ROOT), "HALAB_PROGRESS_FILE": str(tmp_path / "progress.json"),
            "COLUMNS": "160", "TERM": "xterm"}


@pytest.fixture
def terminal() -> Iterator[list[Tmux]]:
    opened: list[Tmux] = []
    yield opened
    for session in opened:
        session.close()


def halab(*args: str, env: dict[str, str], stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "halab", *args], input=stdin, capture_output=True, text=True,
                          env={**os.environ, **env}, timeout=120)


def typed(question: Question) -> str:
    """The right answer as a candidate types it."""
    key = question.key
    return " ".join(key) if isinstance(key, list) else f"{key:g}" if isinstance(key, float) else str(key)


def test_a_whole_exam_in_a_real_terminal(env: dict[str, str], terminal: list[Tmux], tmp_path: Path) -> None:
    expected = MockExam.draw(practice_questions(), load_vocabulary(), count=3, minutes=5, seed=7)
    questions = [s.question for s in expected.slots]
    session = Tmux([sys.executable, "-m", "halab", "exam", "-n", "3", "-m", "5", "--seed", "7"], env, tmp_path)
    terminal.append(session)
    session.wait_for("Question 1 of 3")
    # A letter that is not offered, and a command that does not exist: explained, nothing stored.
    choice = next(i for i, q in enumerate(questions, 1) if q.choices)
    session.send(f":g {choice}")
    session.wait_for(f"Question {choice} of 3")
    session.send(chr(ord("a") + len(questions[choice - 1].choices)))
    session.wait_for("is not one of the choices")
    session.send(":x")
    session.wait_for("Unknown command")
    session.send(":g 1")
    for number, question in enumerate(questions, 1):
        session.wait_for(f"Question {number} of 3")
        session.send(typed(question))
    session.wait_for("That was the last question")
    session.send(":r")
    session.wait_for("Review")
    session.send(":s")
    screen = session.wait_for("EXIT=")
    assert "3 of 3 right (100 %)" in screen and "PASSED" in screen and "EXIT=0" in screen
    assert "Traceback" not in screen
    data = json.loads((tmp_path / "progress.json").read_text())
    assert data["exams"][0]["correct"] == 3 and data["exams"][0]["seed"] == 7
    assert sorted(a["id"] for a in data["answers"]) == sorted(q.id for q in questions)


def test_the_exam_is_submitted_when_the_time_is_up(env: dict[str, str], terminal: list[Tmux],
                                                   tmp_path: Path) -> None:
    session = Tmux([sys.executable, "-m", "halab", "exam", "-n", "2", "-m", "0.05", "--seed", "3"], env, tmp_path)
    terminal.append(session)
    session.wait_for("Question 1 of 2")
    screen = session.wait_for("EXIT=", timeout=30)  # 3 seconds, without any key pressed
    assert "The time is up" in screen and "0 of 2 right" in screen and "(time ran out)" in screen
    assert json.loads((tmp_path / "progress.json").read_text())["exams"][0]["timed_out"] is True


def test_quitting_records_nothing(env: dict[str, str], terminal: list[Tmux], tmp_path: Path) -> None:
    session = Tmux([sys.executable, "-m", "halab", "exam", "-n", "2", "--seed", "3"], env, tmp_path)
    terminal.append(session)
    session.wait_for("Question 1 of 2")
    session.send(":q")
    session.wait_for("Quit without submitting?")
    session.send("y")
    screen = session.wait_for("EXIT=")
    assert "nothing was recorded" in screen and "EXIT=0" in screen
    assert not (tmp_path / "progress.json").exists()


def test_answers_typed_ahead_through_a_pipe(env: dict[str, str], tmp_path: Path) -> None:
    """A script (or fast typing) sends every line at once: none may be lost in a buffer."""
    expected = MockExam.draw(practice_questions(), load_vocabulary(), count=4, minutes=5, seed=12)
    lines = [typed(s.question) for s in expected.slots] + [":s"]
    result = halab("exam", "-n", "4", "-m", "5", "--seed", "12", env=env, stdin="\n".join(lines) + "\n")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "4 of 4 right" in result.stdout and "Traceback" not in result.stderr
    eof = halab("exam", "-n", "4", "--seed", "12", env=env, stdin="a\n")
    assert eof.returncode == 130 and "nothing was recorded" in eof.stdout and "Traceback" not in eof.stderr


def test_bank_json_has_questions_but_never_answers(env: dict[str, str]) -> None:
    result = halab("exam", "--bank", "--json", env=env)
    assert result.returncode == 0, result.stderr
    bank = json.loads(result.stdout)
    pool = {q.id: q for q in practice_questions()}
    assert [q["id"] for q in bank["questions"]] == list(pool)
    assert {o["id"] for o in bank["objectives"]} == {"361.1", "361.2", "361.3", "362.1", "virt"}
    graded = {q.id for n in graded_bank_names() for q in load_graded_bank(n).questions}
    assert not graded & set(pool)
    allowed = {"id", "bank", "objective", "terms", "kind", "text", "options", "section", "pick", "blank", "unit"}
    for item in bank["questions"]:
        assert set(item) <= allowed, item["id"]
        question = pool[item["id"]]
        assert item["options"] == [c.text for c in question.choices]
        shown = json.dumps([item["text"], item["options"], item.get("blank", "")])  # terms name topics, not answers
        leaked = [a for a in question.answers if len(a) >= 4 and a in shown]
        assert not leaked, f"{item['id']} shows its answer {leaked}"


@pytest.mark.parametrize("args, words", [
    (("exam", "--json"), "--json goes with --bank"),
    (("exam", "-n", "0"), "Invalid value for '--questions'"),
    (("exam", "-m", "-3"), "Invalid value for '--minutes'"),
    (("exam", "-n", "5000"), "Invalid value for '--questions'"),
    (("exam", "--seed", "x"), "Invalid value for '--seed'"),
])  # fmt: skip
def test_bad_options_are_clear_messages(env: dict[str, str], args: tuple[str, ...], words: str) -> None:
    result = halab(*args, env=env)
    assert result.returncode == 2 and words in result.stderr and "Traceback" not in result.stderr


def test_a_typo_in_a_question_file_is_a_one_line_error(env: dict[str, str], tmp_path: Path) -> None:
    course = tmp_path / "course"
    shutil.copytree(COURSE_DIR, course, ignore=shutil.ignore_patterns("source", "release", "gradebook.db"))
    bank = course / "quizzes" / "04-fault-tolerance.toml"
    text = bank.read_text()
    assert 'id = "protocol-b"\n' in text
    bank.write_text(text.replace('id = "protocol-b"\n', 'id = "protocol-b"\nexplanaton = "a typo"\n', 1))
    for command in (("exam", "--bank"), ("progress",)):
        result = halab(*command, env={**env, "HALAB_COURSE_DIR": str(course)})
        assert result.returncode == 1 and "Traceback" not in result.stderr
        assert "halab: error:" in result.stderr and "04-fault-tolerance.toml" in result.stderr
        assert "question protocol-b" in result.stderr and "explanaton" in result.stderr


def test_progress_command_with_a_damaged_file(env: dict[str, str], tmp_path: Path) -> None:
    path = tmp_path / "progress.json"
    path.write_text('{"version": 1, "answers": [{"id": 7}]')
    result = halab("progress", env=env)
    assert result.returncode == 0 and "Traceback" not in result.stderr
    assert "was damaged" in result.stdout and "Study next" in result.stdout
    assert len(list(tmp_path.glob("progress.json.damaged-*"))) == 1
    as_json = json.loads(halab("progress", "--json", env=env).stdout)
    assert as_json["notices"] == [] and len(as_json["terms"]) == len(load_vocabulary().terms)


def test_coverage_says_what_the_course_covers_of_exam_306(env: dict[str, str]) -> None:
    data = json.loads(halab("exam", "--coverage", "--json", env=env).stdout)
    assert data["taught_weight"] == 28 and data["total_weight"] == 60 and data["share_percent"] == 46.7
    assert [o["id"] for o in data["taught"]] == ["361.1", "361.2", "361.3", "362.1"]
    assert {o["id"] for o in data["not_taught"]} >= {"362.2", "362.3", "363.1", "363.2", "364.4"}
    assert [o["id"] for o in data["course_only"]] == ["virt"]
    text = " ".join(halab("exam", "--coverage", env=env).stdout.replace("│", " ").split())
    assert "28 of the exam's 60 weight points (47 %)" in text and "363.2 Ceph Storage Clusters" in text
    assert "--include-course-only" in text


def test_the_mock_exam_leaves_course_only_topics_out_unless_asked(env: dict[str, str]) -> None:
    vocabulary = load_vocabulary()
    for flag, virt in (((), False), (("--include-course-only",), True)):
        expected = MockExam.draw(practice_questions(), vocabulary, count=60, seed=5, include_course_only=virt)
        assert any(s.question.objective == "virt" for s in expected.slots) is virt
        result = halab("exam", "--seed", "5", *flag, env=env, stdin=":q\ny\n")
        assert ("are included" in result.stdout) is virt and result.returncode == 0, result.stdout


def test_review_in_the_terminal_draws_what_is_due_and_reschedules_it(env: dict[str, str], tmp_path: Path) -> None:
    """An old progress file (no review section) with misses and a failed fencing check: the review draws the
    missed questions and fencing questions; right answers are recorded as review answers, not as an exam."""
    from halab.course import progress, review
    from halab.course.quizbank import shuffled

    old = {"version": 1, "exams": [],
           "answers": [{"id": "quorum-why", "correct": False, "terms": ["quorum"], "mode": "exam",
                        "at": "2026-01-05T10:00:00+00:00"}],
           "labs": [{"lab": "clustering", "task": "fencing", "passed": False, "checks": 3,
                     "at": "2026-01-05T11:00:00+00:00"}]}
    (tmp_path / "progress.json").write_text(json.dumps(old))
    data, _ = progress.load(tmp_path / "progress.json")
    questions = review.draw(data, practice_questions(), limit=5)
    assert questions[0].id == "quorum-why" and any("fencing (node level)" in q.terms for q in questions)
    rng = random.Random(0)
    lines = [typed(shuffled(q, rng)) for q in questions] + [":s"]
    result = halab("exam", "--review", "-n", "5", env=env, stdin="\n".join(lines) + "\n")
    assert result.returncode == 0 and "Traceback" not in result.stderr, result.stdout + result.stderr
    assert f"{len(questions)} of {len(questions)} right" in result.stdout and "PASSED" not in result.stdout
    written = json.loads((tmp_path / "progress.json").read_text())
    assert written["exams"] == [] and [a["mode"] for a in written["answers"][1:]] == ["review"] * len(questions)
    card = written["review"]["cards"]["q:quorum-why"]
    assert card["due"] > written["answers"][-1]["at"]  # rescheduled into the future
    status = json.loads(halab("progress", "--json", env=env).stdout)["review"]
    assert status["cards"] >= 4 and "q:quorum-why" not in {f"q:{c['name']}" for c in status["due"]}
    nothing = halab("exam", "--review", env={**env, "HALAB_PROGRESS_FILE": str(tmp_path / "empty.json")})
    assert nothing.returncode == 0 and "Nothing is due for review" in nothing.stdout


def test_one_mode_at_a_time(env: dict[str, str]) -> None:
    result = halab("exam", "--review", "--bank", env=env)
    assert result.returncode == 2 and "one at a time" in result.stderr
