import pytest

from halab.course.hamath import InputError
from halab.course.quorummath import QuorumConfig, failures_survived, simulate_partition


@pytest.mark.parametrize(
    "cfg, expected, threshold, survived",
    [
        (QuorumConfig.uniform(2), 2, 2, 0),
        (QuorumConfig.uniform(2, two_node=True), 2, 1, 1),
        (QuorumConfig.uniform(3), 3, 2, 1),
        (QuorumConfig.uniform(4), 4, 3, 1),
        (QuorumConfig.uniform(5), 5, 3, 2),
        (QuorumConfig.uniform(4, qdevice="ffsplit"), 5, 3, 2),
        (QuorumConfig.uniform(3, qdevice="lms"), 5, 3, 2),
        (QuorumConfig((1, 1, 3)), 5, 3, 0),
    ],
)
def test_votequorum_arithmetic(cfg: QuorumConfig, expected: int, threshold: int, survived: int) -> None:
    assert cfg.expected_votes == expected
    assert cfg.threshold == threshold
    assert failures_survived(cfg) == survived


def test_lms_without_qnetd_needs_every_node() -> None:
    assert failures_survived(QuorumConfig.uniform(3, qdevice="lms"), qnetd_up=False) == 0


@pytest.mark.parametrize(
    "kwargs, words",
    [
        ({"votes": ()}, "at least one node"),
        ({"votes": (1, -1)}, "whole number"),
        ({"votes": (0, 0)}, "At least one node must have a vote"),
        ({"votes": (1, 1, 1), "two_node": True}, "exactly two nodes"),
        ({"votes": (1, 1), "two_node": True, "qdevice": "ffsplit"}, "not both"),
        ({"votes": (1, 1), "qdevice": "magic"}, "Unknown quorum device"),
    ],
)
def test_impossible_configs(kwargs: dict, words: str) -> None:
    with pytest.raises(InputError, match=words):
        QuorumConfig(**kwargs)


def test_zero_nodes_rejected() -> None:
    with pytest.raises(InputError, match="at least one node"):
        QuorumConfig.uniform(0)


def test_majority_fences_minority() -> None:
    result = simulate_partition(QuorumConfig.uniform(3), "AAB")
    a, b = result.sides
    assert a.quorate and a.runs_resource and not b.quorate and b.fenced
    assert result.safe


def test_two_node_split_without_fencing_is_split_brain() -> None:
    result = simulate_partition(QuorumConfig.uniform(2, two_node=True), "AB", fencing=False)
    assert all(side.runs_resource for side in result.sides)
    assert not result.safe and "SPLIT BRAIN" in result.verdict


def test_two_node_split_with_fencing_has_one_survivor() -> None:
    result = simulate_partition(QuorumConfig.uniform(2, two_node=True), "AB")
    assert [side.runs_resource for side in result.sides] == [True, False]
    assert result.sides[1].fenced and result.safe


def test_freeze_on_minority_without_fencing_is_split_brain() -> None:
    # The resource runs on node3, in the minority: freeze keeps it there while the majority starts it too.
    result = simulate_partition(QuorumConfig.uniform(3), "AAB", fencing=False, no_quorum_policy="freeze",
                                resource_node=2)  # fmt: skip
    assert not result.safe and "SPLIT BRAIN" in result.verdict


def test_even_split_without_tie_breaker_stops_everything() -> None:
    result = simulate_partition(QuorumConfig.uniform(4), "AABB")
    assert not any(side.runs_resource for side in result.sides)
    assert "down" in result.verdict


def test_quorum_device_breaks_the_tie() -> None:
    result = simulate_partition(QuorumConfig.uniform(4, qdevice="ffsplit"), "AABB")
    assert result.sides[0].quorate and not result.sides[1].quorate


def test_bad_partition_input() -> None:
    with pytest.raises(InputError):
        simulate_partition(QuorumConfig.uniform(3), "AB")
    with pytest.raises(InputError):
        simulate_partition(QuorumConfig.uniform(2), "AX")
    with pytest.raises(InputError):
        simulate_partition(QuorumConfig.uniform(2), "AB", no_quorum_policy="panic")
