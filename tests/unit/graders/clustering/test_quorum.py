"""The quorum-loss fault check's verdict, decided on what the live side observed (graders/clustering/quorum.py):
the times are stood in for; the verdict logic is the check's own."""

from __future__ import annotations

from graders.clustering.quorum import Watch, _minority_known, _verdict


def watch(**seen: float | str | None) -> Watch:
    observed = Watch()
    for name, value in seen.items():
        setattr(observed, name, value)
    return observed


def test_the_minority_stops_and_the_majority_serves_in_time() -> None:
    seen = watch(minority_no_quorum=8.1, minority_ip_gone=8.4, minority_fenced=11.0, majority_served=13.2,
                 served_by="node1")
    verdict = _verdict("node2", ["node1", "node3"], seen, 30, "nspawn", "")
    assert verdict.passed
    assert "node2 lost quorum after 8.1 s, its floating IP was gone after 8.4 s (fenced by the majority after " \
           "11.0 s); the service answered from node1 after 13.2 s" in verdict.feedback


def test_both_sides_holding_the_address_is_a_split_brain() -> None:
    seen = watch(minority_ip_gone=None, majority_served=12.0, both_held=12.0, served_by="node1")
    verdict = _verdict("node2", ["node1", "node3"], seen, 30, "nspawn", "")
    assert not verdict.passed and "split brain" in verdict.feedback and "no-quorum-policy" in verdict.hint


def test_no_service_from_the_majority_or_a_slow_one_fails_and_says_why() -> None:
    never = _verdict("node2", ["node1", "node3"], watch(minority_ip_gone=8.0), 30, "nspawn", "")
    assert not never.passed and "did not answer from node1 or node3 within 60 s" in never.feedback
    slow = _verdict("node2", ["node1", "node3"], watch(minority_ip_gone=8.0, minority_fenced=9.0,
                                                       majority_served=41.0, served_by="node3"), 30, "nspawn", "")
    assert not slow.passed and "objective for nspawn: 30 s" in slow.feedback and slow.hint
    kept = _verdict("node2", ["node1", "node3"], watch(majority_served=10.0, served_by="node1"), 30, "nspawn", "")
    assert not kept.passed and "still held the floating IP" in kept.feedback


def test_the_cut_off_node_is_asked_only_until_its_part_is_known() -> None:
    assert not _minority_known(watch(minority_ip_gone=8.0))
    assert _minority_known(watch(minority_ip_gone=8.0, minority_no_quorum=7.9))
    assert _minority_known(watch(minority_ip_gone=8.0, minority_fenced=9.5))
