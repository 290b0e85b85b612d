"""The lab service's wire read by LineReader: what any local user can send the service (issue 21, item 9)."""

from __future__ import annotations

import socket

import pytest

from halab.access.protocol import MAX_REQUEST, LineReader
from halab.errors import HalabError


def read_one(data: bytes) -> object:
    ours, theirs = socket.socketpair()
    with ours, theirs:
        theirs.sendall(data)
        theirs.shutdown(socket.SHUT_WR)
        return LineReader(ours, MAX_REQUEST).next()


def test_a_request_is_read_as_its_object() -> None:
    assert read_one(b'{"op": "labs", "lab": null, "args": {}}\n') == {"op": "labs", "lab": None, "args": {}}


def test_deep_nesting_is_refused_with_a_sentence_not_a_recursion_error() -> None:
    # 30 000 levels fit in a request and made json.loads raise RecursionError, which the service did not catch.
    with pytest.raises(HalabError, match="nests arrays and objects 30000 levels deep"):
        read_one(b"[" * 30000 + b"]" * 30000 + b"\n")


@pytest.mark.parametrize(("data", "words"), [(b"{not json\n", "not JSON"), (b"[1, 2]\n", "not a JSON object"),
                                             (b"x" * (MAX_REQUEST + 10) + b"\n", "longer than")])
def test_other_bad_messages_are_refused_with_their_reason(data: bytes, words: str) -> None:
    with pytest.raises(HalabError, match=words):
        read_one(data)
