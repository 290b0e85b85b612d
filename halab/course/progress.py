"""Each user's progress: practice answers, mock exams and lab checks passed, in one JSON file of theirs.

The file is ~/.local/share/halab/progress.json ($XDG_DATA_HOME/halab/ when set; $HALAB_PROGRESS_FILE overrides
both, which the tests use). Several writers may run at once (two notebooks, a notebook and `halab exam`), so
every change is a read-modify-write under an exclusive flock on a lock file beside it, and the new content is
written to a temporary file, fsynced and renamed over the old one: a reader sees the old or the new file,
never half of one, and no writer's entry is lost.

A file that cannot be read as progress (broken JSON, wrong structure) is moved aside to
progress.json.damaged-<timestamp>, never deleted, and a new one is started; the caller gets a notice saying
so. A file written by a newer halab (a higher "version") is left alone: nothing is recorded then.

The "review" section holds the spaced-review schedule (halab.course.review), with its own version, so that the
file's format stays 1 and an older halab still reads it. A file without it (written before spaced review
existed) gets one built from its history; a damaged one is rebuilt the same way, with a notice.

Nothing here records graded answers: nbgrader autograde re-runs the notebooks on the instructor's machine.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import json
import os
import tempfile
from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

from halab.course import review
from halab.errors import HalabError

VERSION = 1
KEEP_ANSWERS = 50_000  # the oldest answers are dropped beyond this; mastery looks at recent ones anyway
SECTIONS = ("answers", "exams", "labs")
Data = dict[str, Any]


class ProgressError(HalabError):
    """The progress file cannot be read or written (permissions, a full disk, a newer format)."""


def progress_path() -> Path:
    if os.environ.get("HALAB_PROGRESS_FILE"):
        return Path(os.environ["HALAB_PROGRESS_FILE"])
    base = Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share")
    return base / "halab" / "progress.json"


def empty() -> Data:
    return {"version": VERSION, "answers": [], "exams": [], "labs": [], "review": review.empty()}


def now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


def load(path: Path | None = None) -> tuple[Data, list[str]]:
    """The progress data and any notices (a damaged file set aside). A missing file is empty progress."""
    path = path or progress_path()
    if not path.exists():
        return empty(), []
    with _locked(path):
        return _read(path)


def update(change: Callable[[Data], None], path: Path | None = None) -> list[str]:
    """Apply change() to the progress data under the lock and write it back atomically; returns notices."""
    path = path or progress_path()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ProgressError(f"cannot create {path.parent} for the progress file: {exc.strerror or exc}") from None
    with _locked(path):
        data, notices = _read(path)
        change(data)
        data["answers"] = data["answers"][-KEEP_ANSWERS:]
        _write(path, data)
    return notices


def record_answers(entries: Iterable[Mapping[str, Any]], mode: str, path: Path | None = None) -> list[str]:
    """Record answers: each entry has id, correct and terms (the question's terms, kept so that history
    survives a question being removed from the bank). mode is "practice" or "exam"."""
    at = now()
    rows = [{"id": str(e["id"]), "correct": bool(e["correct"]), "terms": [str(t) for t in e.get("terms", ())],
             "mode": mode, "at": at} for e in entries]

    def change(data: Data) -> None:
        data["answers"].extend(rows)
        review.apply_answers(data, rows)

    return update(change, path)


def record_exam(
    summary: Mapping[str, Any], answers: Iterable[Mapping[str, Any]], path: Path | None = None
) -> list[str]:
    """Record one mock exam: its summary and every answered question, in one locked write."""
    at = now()
    rows = [{"id": str(a["id"]), "correct": bool(a["correct"]), "terms": list(a.get("terms", ())),
             "mode": "exam", "at": at} for a in answers]

    def change(data: Data) -> None:
        data["exams"].append({**summary, "at": at})
        data["answers"].extend(rows)
        review.apply_answers(data, rows)

    return update(change, path)


def record_lab_check(report: Mapping[str, Any], path: Path | None = None) -> list[str]:
    """Record a lab check (a report dict as `halab check --json` and the notebook's lab check give it): one entry per
    task, passed when every check of that task passed, and one for the whole lab. Malformed reports record
    nothing and say why (ProgressError)."""
    lab = report.get("lab") if isinstance(report, Mapping) else None
    checks = report.get("checks") if isinstance(report, Mapping) else None
    if not isinstance(lab, str) or not isinstance(checks, list) or not all(isinstance(c, Mapping) for c in checks):
        raise ProgressError("not a lab report: it needs 'lab' and a list of 'checks'")
    tasks: dict[str, list[bool]] = {}
    for check in checks:
        tasks.setdefault(str(check.get("task") or ""), []).append(bool(check.get("passed")))
    at = now()
    rows = [{"lab": lab, "task": task, "passed": all(results), "checks": len(results), "at": at}
            for task, results in sorted(tasks.items()) if task]
    rows.append({"lab": lab, "task": "", "passed": bool(checks) and all(all(r) for r in tasks.values()),
                 "checks": len(checks), "at": at})

    def change(data: Data) -> None:
        data["labs"].extend(rows)
        review.apply_labs(data, rows, terms_for_lab)

    return update(change, path)


def terms_for_lab(lab: str, task: str) -> tuple[str, ...]:
    """The terms a lab task exercises (objectives.toml); none when the objectives file cannot be read, so that
    a broken course file never stops a lab check from being recorded."""
    from halab.course.objectives import QuizError, load_vocabulary

    try:
        return load_vocabulary().terms_for_lab(lab, task)
    except QuizError:
        return ()


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    lock_path = path.with_name(path.name + ".lock")
    try:
        handle = open(lock_path, "a+")  # noqa: SIM115 - held open for the lock's lifetime
    except OSError as exc:
        raise ProgressError(f"cannot open the lock file {lock_path}: {exc.strerror or exc}") from None
    with handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _read(path: Path) -> tuple[Data, list[str]]:
    """Called with the lock held. Damage is set aside; an unreadable file is an error, not damage."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return empty(), []
    except UnicodeDecodeError:
        return _set_aside(path, "it is not UTF-8 text")
    except OSError as exc:
        raise ProgressError(f"cannot read {path}: {exc.strerror or exc}") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        return _set_aside(path, f"it is not valid JSON ({exc.msg} at line {exc.lineno})")
    problem = _problem(data, path)
    if problem:
        return _set_aside(path, problem)
    notices = []
    if "review" not in data:
        review.replay(data, terms_for_lab)  # a file from before spaced review: its history counts
    elif review.problem(data["review"]):
        notices.append(f"The review schedule in {path} was damaged ({review.problem(data['review'])}); it was "
                       "rebuilt from your answers and lab checks.")
        review.replay(data, terms_for_lab)
    return data, notices


def _problem(data: Any, path: Path) -> str:
    if not isinstance(data, dict):
        return "it does not hold a JSON object"
    version = data.get("version")
    if isinstance(version, int) and not isinstance(version, bool) and version > VERSION:
        raise ProgressError(f"{path} was written by a newer halab (format {version}); nothing is "
                            "recorded, to keep it intact")
    if version != VERSION:
        return f"its format version is {version!r}, expected {VERSION}"
    for section in SECTIONS:
        rows = data.get(section)
        if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
            return f"{section!r} is not a list of entries"
    for row in data["answers"]:
        if not isinstance(row.get("id"), str) or not isinstance(row.get("correct"), bool):
            return "an answer entry has no id or no correct flag"
        if not isinstance(row.get("terms", []), list):
            return "an answer entry's terms are not a list"
    for row in data["labs"]:
        if not isinstance(row.get("lab"), str) or not isinstance(row.get("passed"), bool):
            return "a lab entry has no lab name or no passed flag"
    return ""


def _set_aside(path: Path, why: str) -> tuple[Data, list[str]]:
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S-%f")
    aside = path.with_name(f"{path.name}.damaged-{stamp}")
    try:
        os.replace(path, aside)
    except OSError as exc:
        raise ProgressError(f"{path} is damaged ({why}) and cannot be moved aside: {exc.strerror or exc}") from None
    return empty(), [f"Your progress file {path} was damaged ({why}); it was kept as {aside.name} and a new one "
                     "was started."]


def _write(path: Path, data: Data) -> None:
    try:
        fd, tmp = tempfile.mkstemp(prefix=path.name + ".", suffix=".tmp", dir=path.parent)
    except OSError as exc:
        raise ProgressError(f"cannot write progress to {path.parent}: {exc.strerror or exc}") from None
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            json.dump(data, out, indent=1)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, path)
    except OSError as exc:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise ProgressError(f"cannot write {path}: {exc.strerror or exc}") from None
