"""nbgrader configuration for the halab course.

Layout (nbgrader's defaults): source/<assignment>/<notebook>.ipynb are the instructor versions with
solutions; `nbgrader generate_assignment <assignment>` writes the student versions to release/.
Run nbgrader commands from this folder (halab course starts JupyterLab here, so the formgrader finds it).
"""

import os
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
