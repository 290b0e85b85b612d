"""Admission control: the lab service boots a bounded number of nodes at once, and queues the rest.

Measured here before it (benchmarks/capacity.py, 2 cores): ten users bringing up a clustering lab at once got
20 nodes booting together; 3 labs were not SSH-ready within `up`'s 180 s and one node's nspawn exited while
being plugged in, so 6 of 10 labs were healthy. Booting is the burst (systemd, sshd, Corosync and Pacemaker
starting in every node); a lab at rest costs little. So an `up` waits, first come first served, until its
nodes fit in the host's boot budget (service.toml ``[service] booting_nodes``, by default two per core), and
holds that share until its lab is up (SSH-ready, power switch, setup). The caller is told where they are in
the queue; later rather than broken.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager

from halab.types import Progress


class BootQueue:
    def __init__(self, capacity: int) -> None:
        self.capacity = max(1, capacity)
        self.free = self.capacity
        self._turns: deque[object] = deque()
        self._changed = threading.Condition()

    def waiting(self) -> int:
        with self._changed:
            return len(self._turns)

    @contextmanager
    def booting(self, nodes: int, progress: Progress) -> Iterator[None]:
        """Hold ``nodes`` of the boot budget (all of it for a lab larger than the budget) while the block runs."""
        wanted = min(max(1, nodes), self.capacity)
        turn = object()
        with self._changed:
            self._turns.append(turn)
            told = -1
            while self._turns[0] is not turn or self.free < wanted:
                ahead = self._turns.index(turn)
                if ahead != told:
                    booting = self.capacity - self.free
                    progress(f"waiting for the host: {booting} node(s) booting, {ahead} lab(s) ahead of yours")
                    told = ahead
                self._changed.wait(timeout=5)
            self._turns.popleft()
            self.free -= wanted
            self._changed.notify_all()
        try:
            yield
        finally:
            with self._changed:
                self.free += wanted
                self._changed.notify_all()
