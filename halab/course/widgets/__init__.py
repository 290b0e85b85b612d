"""The widgets the course notebooks display; each function returns an object that displays itself."""

from halab.course.widgets.availability import availability_calculator
from halab.course.widgets.cluster_view import cluster_view
from halab.course.widgets.exam import mock_exam
from halab.course.widgets.exam_prep import exam_coverage, review_session
from halab.course.widgets.explorers import drbd_protocols, infrastructure_chain, migration_estimator
from halab.course.widgets.lab_panel import lab_command, lab_facts, lab_section
from halab.course.widgets.measured import measured_vs_reference
from halab.course.widgets.progress_view import progress_view
from halab.course.widgets.quiz import show_quiz
from halab.course.widgets.quorum import quorum_calculator
from halab.course.widgets.report_view import lab_check, report_view
from halab.course.widgets.splitbrain import split_brain_simulator
from halab.course.widgets.steps import lab_checkpoint, lab_steps

__all__ = [
    "availability_calculator",
    "cluster_view",
    "drbd_protocols",
    "exam_coverage",
    "infrastructure_chain",
    "lab_check",
    "lab_checkpoint",
    "lab_command",
    "lab_facts",
    "lab_section",
    "lab_steps",
    "measured_vs_reference",
    "migration_estimator",
    "mock_exam",
    "progress_view",
    "quorum_calculator",
    "report_view",
    "review_session",
    "show_quiz",
    "split_brain_simulator",
]
