"""graders/timeline.py's pure helpers on the probe's samples ((time, answered) pairs)."""

from __future__ import annotations

from graders.timeline import answered_again


def test_the_client_is_served_again_after_the_outage_that_ended_by_the_confirmation() -> None:
    # quorum-loss: the cut-off node answers on (its IP stops ~4 s later), nobody answers until the majority has
    # fenced it and started the service (9.2 s); the grader's SSH loop confirmed the majority only at 19.5 s.
    samples = [(0.0, True), (2.0, True), (4.0, False), (6.0, False), (8.5, False), (9.2, True), (12.0, True),
               (19.5, True)]
    assert answered_again(samples, 19.5) == 9.2
    assert answered_again(samples, 9.2) == 9.2


def test_no_outage_seen_means_no_answer_of_its_own() -> None:
    assert answered_again([(0.0, True), (5.0, True)], 5.0) is None  # a seamless hand-over: the grader's own time
    assert answered_again([], 5.0) is None
    assert answered_again([(0.0, False), (1.0, False)], 5.0) is None  # never served again


def test_a_later_outage_is_not_the_one_that_ended() -> None:
    samples = [(1.0, False), (3.0, True), (8.0, False), (9.0, True)]
    assert answered_again(samples, 5.0) == 3.0
