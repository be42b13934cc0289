"""Attribute: who made each of tonight's changes, from CloudTrail, before they are written, so that
each event carries its actor.

CloudTrail is asked once per event name the changes need, per Region, over the window since the
previous run (at most 90 days, what LookupEvents keeps). It never blocks nor fails a run: if it is
denied, down or out of time in a Region, that Region's changes go out unattributed and the summary
and digest say why. Events reach LookupEvents minutes after the call, so a change made just before the
run may have no record yet.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from ..attribution import attribute, calls_behind
from ..diff import TargetPlan
from ..events import NO_TRAIL
from ..models import Change
from ..observability import logger
from ..ports import OutOfTime, Trail, TrailRecord, TrailUnavailable

LOOKUP_WINDOW = timedelta(days=90)
NOT_ENABLED = "CloudTrail lookups are switched off (CLOUDTRAIL_LOOKUP=false)"


@dataclass
class Attribution:
    failures: dict[str, str] = field(default_factory=dict)  # Region -> why CloudTrail could not be read
    lookups: int = 0
    enabled: bool = True

    @property
    def note(self) -> str | None:
        """Why some changes carry no actor tonight, for the digest and the summary (None: none failed)."""
        if not self.enabled:
            return NOT_ENABLED
        if self.failures:
            return "CloudTrail could not be read: " + "; ".join(
                f"{r}: {why}" for r, why in sorted(self.failures.items())
            )
        return None

    def why_unattributed(self, change: Change) -> str | None:
        """What a change's event says instead of an actor (None when it has one)."""
        if change.actor is not None:
            return None
        if not self.enabled:
            return NOT_ENABLED
        failure = self.failures.get(change.current.region)
        return f"CloudTrail could not be read: {failure}" if failure else NO_TRAIL


def attribute_changes(
    trail: Trail | None, plans: Sequence[TargetPlan], since: datetime, until: datetime
) -> Attribution:
    """Set the actor of every change of `plans` that CloudTrail recorded (in place)."""
    if trail is None:
        return Attribution(enabled=False)
    attribution = Attribution()
    start = max(since, until - LOOKUP_WINDOW)
    needed: dict[str, set[str]] = {}
    for target_plan in plans:
        for _, change in target_plan.changes:
            if change is not None:
                needed.setdefault(change.current.region, set()).update(calls_behind(change))
    records: list[TrailRecord] = []
    for region, names in sorted(needed.items()):
        try:
            for name in sorted(names):
                records += trail.lookup(region, name, start, until)
                attribution.lookups += 1
        except TrailUnavailable as exc:
            logger.warning(
                "CloudTrail not read: changes go out unattributed", extra={"region": region, "reason": exc.reason}
            )
            attribution.failures[region] = exc.reason
        except OutOfTime:
            attribution.failures[region] = "out of time"
    for target_plan in plans:
        changes = [change for _, change in target_plan.changes if change is not None]
        attributed = iter(attribute(changes, records, until))
        target_plan.changes = [
            (after, next(attributed) if change is not None else None) for after, change in target_plan.changes
        ]
    return attribution
