"""Models behind the DRBD protocol and live-migration widgets: rough, but with the right shape.

Both are deliberately simple (no queueing, constant rates) so that a student can redo them on paper.
"""

from __future__ import annotations

from dataclasses import dataclass

from halab.course.hamath import InputError, check_positive

PROTOCOLS = ("A", "B", "C")
MAX_ROUNDS = 30  # QEMU gives up on convergence (or throttles the guest) long before this


@dataclass(frozen=True)
class ProtocolInfo:
    protocol: str
    latency_ms: float
    acknowledged_when: str
    lost_on_primary_crash: str


def drbd_write(protocol: str, local_disk_ms: float, rtt_ms: float, remote_disk_ms: float) -> ProtocolInfo:
    """When a DRBD write completes for the application, and what a primary crash can lose."""
    local = check_positive(local_disk_ms, "local disk latency", allow_zero=True)
    rtt = check_positive(rtt_ms, "network round trip", allow_zero=True)
    remote = check_positive(remote_disk_ms, "peer disk latency", allow_zero=True)
    if protocol == "A":
        return ProtocolInfo(
            "A",
            local,
            "written to the local disk and handed to the local TCP send buffer",
            "the writes still in flight to the peer (asynchronous replication)",
        )
    if protocol == "B":
        return ProtocolInfo(
            "B",
            max(local, rtt),
            "written locally and received into the peer's memory",
            "nothing, unless both nodes lose power at the same moment",
        )
    if protocol == "C":
        return ProtocolInfo(
            "C",
            max(local, rtt + remote),
            "written to both disks (synchronous replication)",
            "nothing: every completed write is on two disks",
        )
    raise InputError(f"DRBD protocols are A, B and C, not {protocol!r}.")


@dataclass(frozen=True)
class MigrationRound:
    number: int
    sent_mib: float
    seconds: float


@dataclass(frozen=True)
class MigrationPlan:
    rounds: list[MigrationRound]
    converged: bool
    downtime_ms: float
    total_s: float


def live_migration(
    memory_mib: float, dirty_mib_s: float, bandwidth_mib_s: float, max_downtime_ms: float
) -> MigrationPlan:
    """Pre-copy live migration: copy all RAM while the guest runs, then re-copy what it dirtied meanwhile,
    round after round, until the rest fits in the allowed downtime; then pause, copy the rest, resume."""
    memory = check_positive(memory_mib, "memory size")
    dirty = check_positive(dirty_mib_s, "dirty page rate", allow_zero=True)
    bandwidth = check_positive(bandwidth_mib_s, "bandwidth")
    budget_s = check_positive(max_downtime_ms, "maximum downtime") / 1000
    rounds, to_send = [], memory
    for number in range(1, MAX_ROUNDS + 1):
        seconds = to_send / bandwidth
        rounds.append(MigrationRound(number, to_send, seconds))
        # What the guest dirties while this round is copied must go again (never more than all of RAM).
        to_send = min(dirty * seconds, memory)
        if to_send / bandwidth <= budget_s:
            total = sum(r.seconds for r in rounds) + to_send / bandwidth
            return MigrationPlan(rounds, True, 1000 * to_send / bandwidth, total)
    return MigrationPlan(rounds, False, 1000 * to_send / bandwidth, sum(r.seconds for r in rounds))
