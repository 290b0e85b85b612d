"""nbgrader configuration for the halab course.

Layout (nbgrader's defaults): source/<assignment>/<notebook>.ipynb are the instructor versions with
solutions; `nbgrader generate_assignment <assignment>` writes the student versions to release/.
Run nbgrader commands from this folder (halab course starts JupyterLab here, so the formgrader finds it).
"""

import os
import sys
from pathlib import Path

c = get_config()  # noqa: F821 - injected by traitlets when nbgrader loads this file

COURSE_DIR = Path(__file__).resolve().parent

c.CourseDirectory.root = str(COURSE_DIR)
c.CourseDirectory.course_id = "halab"
# Notebooks live one level down (source/01-introduction/01-introduction.ipynb); quiz banks stay here.
c.CourseDirectory.source_directory = "source"
c.CourseDirectory.release_directory = "release"
c.CourseDirectory.submitted_directory = "submitted"
c.CourseDirectory.autograded_directory = "autograded"
c.CourseDirectory.feedback_directory = "feedback"
c.CourseDirectory.db_url = f"sqlite:///{COURSE_DIR / 'gradebook.db'}"

# The exchange is where released assignments and submissions meet; a shared, writable folder on a
# multi-user host, a private one on a single student's machine. Override with HALAB_EXCHANGE_DIR.
c.Exchange.root = os.environ.get("HALAB_EXCHANGE_DIR", str(Path.home() / ".local/share/halab/exchange"))

# Answer cells start as `answer = None` followed by the solution block; in the student version the block
# becomes this comment instead of `raise NotImplementedError()`, so "Run all" still runs every cell and
# the unanswered question fails only in its own test cell.
c.ClearSolutions.code_stub = {"python": "# YOUR ANSWER HERE: replace None above"}
c.ClearSolutions.text_stub = "YOUR ANSWER HERE"

# Lab cells talk to live nodes; at autograde time (on the instructor's machine) no lab is up and they say
# so quickly. Allow a bit more than the default per cell for the widgets' first matplotlib import.
c.ExecutePreprocessor.timeout = 60

try:
    from nbgrader.preprocessors import CheckCellMetadata, ClearOutput, DeduplicateIds, OverwriteKernelspec

    from halab.course.grading import AUTOGRADE_STEPS, COLLECT_CLASS
    from halab.course.labgrade import live_requested
    from halab.course.nbgrader_hooks import GuardGradedCells

    # Lab items are graded from the evidence file submitted with the notebook (milliseconds per cell). With
    # HALAB_GRADE_LIVE=1 a notebook run where its lab is up (nbgrader validate, not autograde: its sandbox has
    # no lab) is graded on the live lab: the first lab cell then runs the fault checks too, a minute or more.
    if live_requested():
        c.ExecutePreprocessor.timeout = 900
    # A graded test cell that the student edited or deleted scores zero, and the feedback says so (nbgrader
    # alone restores an edited one silently and leaves a deleted one ungraded).
    c.Autograde.sanitize_preprocessors = [
        ClearOutput, DeduplicateIds, OverwriteKernelspec, GuardGradedCells, CheckCellMetadata,
    ]  # fmt: skip - nbgrader's list, with OverwriteCells replaced
    # Students' notebooks run in halab's grading sandbox (a bubblewrap sandbox, as the course's grader account,
    # halab/course/gradekernel.py), and a lab halab solved is flagged for a manual look; collect rejects a
    # submission made under a classmate's name (halab/course/collect.py). `halab grade` (as root) sets the same.
    c.Autograde.autograde_preprocessors = list(AUTOGRADE_STEPS)
    c.ExchangeFactory.collect = COLLECT_CLASS
except ImportError as exc:  # nbgrader run from another Python than halab's: its own rules apply
    print(f"halab: {exc}; lab items cannot be graded live, and edited or deleted graded cells get nbgrader's "
          "default handling", file=sys.stderr)
