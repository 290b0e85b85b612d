"""How `halab check` prints feedback: resource agents' names stay as typed."""

from __future__ import annotations

from halab.command import terminal


def test_an_agent_name_is_not_read_as_an_emoji_code() -> None:
    # rich turns ":heartbeat:" into a heart unless told not to; a student saw "ocf💓ethmonitor" in the feedback.
    with terminal.console.capture() as captured:
        terminal.console.print("eth-mon (ocf:heartbeat:ethmonitor)")
    assert "ocf:heartbeat:ethmonitor" in captured.get()
