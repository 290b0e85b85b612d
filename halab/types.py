"""Small types every room shares."""

from __future__ import annotations

from collections.abc import Callable

# Where a long step reports what it is doing, one line at a time: a spinner in the terminal, a notebook's
# status line, the lab service's messages to its caller, or nowhere (``lambda _line: None``).
Progress = Callable[[str], None]
