"""Corosync votequorum arithmetic and a split-brain model, for the quorum and split-brain widgets.

The model follows votequorum(5): expected votes are the sum of all node votes plus the quorum device's
votes; a partition is quorate with more than half of them (floor(expected / 2) + 1). `two_node` lowers the
threshold to one vote for a two-node cluster, which is only safe because fencing settles who survives.
A quorum device (corosync-qdevice + qnetd on a third machine) adds 1 vote (algorithm ffsplit) or
nodes - 1 votes (algorithm lms) and gives them to one partition only.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from halab.course.hamath import InputError

QDEVICE_ALGORITHMS = ("ffsplit", "lms")
NO_QUORUM_POLICIES = ("stop", "freeze", "ignore")
MAX_NODES = 32  # corosync's practical limit; larger values are typing mistakes


@dataclass(frozen=True)
class QuorumConfig:
    votes: tuple[int, ...]
    two_node: bool = False
    qdevice: str | None = None  # None, "ffsplit" or "lms"

    def __post_init__(self) -> None:
        if not self.votes:
            raise InputError("A cluster needs at least one node.")
        if len(self.votes) > MAX_NODES:
            raise InputError(f"Corosync clusters stop at about {MAX_NODES} nodes, not {len(self.votes)}.")
        if any(not isinstance(v, int) or isinstance(v, bool) or v < 0 for v in self.votes):
            raise InputError("Each node's votes must be a whole number, 0 or more.")
        if sum(self.votes) == 0:
            raise InputError("At least one node must have a vote.")
        if self.two_node and len(self.votes) != 2:
            raise InputError("two_node applies to clusters of exactly two nodes.")
        if self.qdevice is not None and self.qdevice not in QDEVICE_ALGORITHMS:
            raise InputError(f"Unknown quorum device algorithm {self.qdevice!r}; use ffsplit or lms.")
        if self.two_node and self.qdevice:
            raise InputError("Use either two_node or a quorum device, not both: corosync refuses the mix.")

    @classmethod
    def uniform(cls, nodes: int, two_node: bool = False, qdevice: str | None = None) -> QuorumConfig:
        if not isinstance(nodes, int) or nodes < 1:
            raise InputError("A cluster needs at least one node.")
        return cls(tuple([1] * nodes), two_node, qdevice)

    @property
    def qdevice_votes(self) -> int:
        if self.qdevice == "ffsplit":
            return 1
        if self.qdevice == "lms":
            return max(len(self.votes) - 1, 1)
        return 0

    @property
    def expected_votes(self) -> int:
        return sum(self.votes) + self.qdevice_votes

    @property
    def threshold(self) -> int:
        """Votes a partition needs to be quorate."""
        if self.two_node:
            return 1
        return self.expected_votes // 2 + 1


def qdevice_winner(cfg: QuorumConfig, partitions: Sequence[Sequence[int]]) -> int | None:
    """Index of the partition the quorum device votes for, or None.

    qnetd prefers the partition with more nodes and breaks ties by the lowest node id (its default
    tie_breaker), so exactly one side of an even split gets the extra votes.
    """
    candidates = [i for i, part in enumerate(partitions) if part]
    if not cfg.qdevice or not candidates:
        return None
    return min(candidates, key=lambda i: (-len(partitions[i]), min(partitions[i])))


def partition_votes(cfg: QuorumConfig, members: Sequence[int], with_qdevice: bool = False) -> int:
    return sum(cfg.votes[i] for i in members) + (cfg.qdevice_votes if with_qdevice else 0)


@dataclass(frozen=True)
class FailureRow:
    failed: int
    votes: int
    quorate: bool


def failure_table(cfg: QuorumConfig, qnetd_up: bool = True) -> list[FailureRow]:
    """Quorum after 0..n node failures, losing the nodes with the most votes first (the worst case)."""
    order = sorted(range(len(cfg.votes)), key=lambda i: -cfg.votes[i])
    rows = []
    for failed in range(len(cfg.votes) + 1):
        survivors = order[failed:]
        # qnetd votes for the only partition left, as long as it can still reach qnetd.
        qdevice_vote = qnetd_up and bool(cfg.qdevice) and bool(survivors)
        votes = partition_votes(cfg, survivors, with_qdevice=qdevice_vote)
        rows.append(FailureRow(failed, votes, bool(survivors) and votes >= cfg.threshold))
    return rows


def failures_survived(cfg: QuorumConfig, qnetd_up: bool = True) -> int:
    """How many node failures, in the worst order, the cluster keeps quorum through."""
    survived = 0
    for row in failure_table(cfg, qnetd_up)[1:]:
        if not row.quorate:
            break
        survived = row.failed
    return survived


@dataclass
class SideOutcome:
    name: str
    members: list[int]
    votes: int = 0
    quorate: bool = False
    acts: bool = False  # behaves as the cluster: starts resources and fences (quorate, or policy ignore)
    runs_resource: bool = False
    fenced: bool = False
    events: list[str] = field(default_factory=list)


@dataclass
class PartitionOutcome:
    sides: list[SideOutcome]
    threshold: int
    verdict: str
    safe: bool


def simulate_partition(
    cfg: QuorumConfig,
    side_of: Sequence[str],
    fencing: bool = True,
    no_quorum_policy: str = "stop",
    resource_node: int = 0,
) -> PartitionOutcome:
    """What a Pacemaker cluster does when the network splits its nodes into sides "A" and "B".

    side_of[i] is "A", "B" or "off" (node i crashed). One resource (think: a database on shared storage)
    runs on node `resource_node` before the split. The result says, per side, whether it is quorate,
    whether it is fenced, and whether it ends up running the resource; two sides running it is split brain.
    """
    if len(side_of) != len(cfg.votes):
        raise InputError("Give every node a side.")
    if any(s not in ("A", "B", "off") for s in side_of):
        raise InputError("Each node is on side A, side B or off.")
    if no_quorum_policy not in NO_QUORUM_POLICIES:
        raise InputError(f"no-quorum-policy must be one of {', '.join(NO_QUORUM_POLICIES)}.")
    sides = [SideOutcome(name, [i for i, s in enumerate(side_of) if s == name]) for name in ("A", "B")]
    winner = qdevice_winner(cfg, [side.members for side in sides])
    for index, side in enumerate(sides):
        side.votes = partition_votes(cfg, side.members, with_qdevice=index == winner)
        side.quorate = bool(side.members) and side.votes >= cfg.threshold
    live = [side for side in sides if side.members]
    holder = side_of[resource_node] if 0 <= resource_node < len(side_of) else "off"
    for side in live:
        _decide_side(side, live, fencing, no_quorum_policy, had_resource=side.name == holder)
    if fencing:
        _fence_race(cfg, live)
    running = [side for side in live if side.runs_resource]
    return PartitionOutcome(sides, cfg.threshold, *_verdict(running, live, fencing))


def _decide_side(side: SideOutcome, live: list[SideOutcome], fencing: bool, policy: str, had_resource: bool) -> None:
    others = [other for other in live if other is not side]
    if side.quorate or policy == "ignore":
        reason = "has quorum" if side.quorate else "has no quorum but no-quorum-policy=ignore"
        if others and fencing:
            side.events.append(f"{reason}: fences the nodes it cannot see, then runs the resource")
        elif others:
            side.events.append(f"{reason}; fencing is off, so it assumes the other side is down")
        else:
            side.events.append(f"{reason}; the other nodes are down")
        side.acts = side.runs_resource = True
    elif policy == "freeze":
        side.events.append("no quorum, no-quorum-policy=freeze: keeps what it runs, starts nothing new")
        side.runs_resource = had_resource
    else:
        side.events.append("no quorum, no-quorum-policy=stop: stops its resources")


def _fence_race(cfg: QuorumConfig, live: list[SideOutcome]) -> None:
    """Sides that act fence each other; when both act (two_node, or policy ignore) only one shot lands."""
    shooters = [side for side in live if side.acts]
    if len(shooters) == 2:
        # A fence delay (pcmk_delay_base / priority-fencing-delay) makes the race deterministic; the model
        # lets the side with the lowest node id win, as a static delay on the other node would.
        shot = max(shooters, key=lambda side: min(side.members))
        shot.events.append("loses the fencing race: it is powered off by the other side")
        loser: SideOutcome | None = shot
    elif len(shooters) == 1:
        losers = [side for side in live if side is not shooters[0]]
        for side in losers:
            side.events.append("is fenced (powered off) by the side with quorum")
        loser = losers[0] if losers else None
    else:
        loser = None
    if loser is not None:
        loser.fenced, loser.runs_resource = True, False


def _verdict(running: list[SideOutcome], live: list[SideOutcome], fencing: bool) -> tuple[str, bool]:
    if len(running) > 1:
        return (
            "SPLIT BRAIN: both sides run the resource - two writers on one set of data, "
            "the same IP address answering twice. Data corruption follows.",
            False,
        )
    if not running:
        if not live:
            return "Every node is off: the service is down.", True
        return "No side runs the resource: the service is down, but the data is safe.", True
    if fencing or len(live) == 1:
        return f"Side {running[0].name} runs the resource; the data is safe.", True
    return (
        f"Side {running[0].name} runs the resource - but only because the other side behaved. Without "
        "fencing nobody has made sure: a node that hangs and wakes up can still write.",
        False,
    )
