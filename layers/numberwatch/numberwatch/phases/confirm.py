"""Confirm: before a release is reported, DescribePhoneNumber says where the number is.

A number missing from tonight's listings may have been released, or may have moved to a target
listed before it arrived (or not listed at all), or be briefly invisible while a move is in
progress. Only Connect's own answer tells: not found is RELEASED, found elsewhere is one MOVED,
anything else (in progress, throttled, denied) waits for the next run. A nightly budget bounds the
calls; the releases over it wait too, and the digest says how many.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass, field

from ..models import SnapshotNumber
from ..observability import logger
from ..ports import Described, Inventory, OutOfTime


@dataclass
class DescribeBudget:
    """DescribePhoneNumber calls a run may make, shared by confirmation (first) and details (whose
    Regions take from it at the same time, within a share of their own)."""

    limit: int
    calls: int = 0
    drawn_from: DescribeBudget | None = None  # a share's budget: each call counts there too
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def left(self) -> int:
        own = max(0, self.limit - self.calls)
        return own if self.drawn_from is None else min(own, self.drawn_from.left())

    def take(self) -> bool:
        """One call, if the budget (and the one it is drawn from) allows it."""
        with self.lock:
            if self.calls >= self.limit or (self.drawn_from is not None and not self.drawn_from.take()):
                return False
            self.calls += 1
            return True

    def share(self, limit: int) -> DescribeBudget:
        """At most `limit` of what is left of this budget."""
        return DescribeBudget(limit, drawn_from=self)


@dataclass
class Confirmation:
    outcomes: dict[str, Described] = field(default_factory=dict)  # number ARN -> what Connect said
    stopped: bool = False  # out of time before every candidate was described


def confirm(inventory: Inventory, candidates: Sequence[SnapshotNumber], budget: DescribeBudget) -> Confirmation:
    confirmation = Confirmation()
    for known in sorted(candidates, key=lambda s: s.number.arn):
        if not budget.take():
            break
        try:
            described = inventory.describe(known.number.arn)
        except OutOfTime:
            confirmation.stopped = True
            break
        confirmation.outcomes[known.number.arn] = described
    waiting = len(candidates) - len(confirmation.outcomes)
    if waiting:
        logger.info("Releases wait for confirmation", extra={"waiting": waiting, "budget": budget.limit})
    return confirmation
