"""Details: what a listing does not show — tags and claim status — from DescribePhoneNumber, within the
nightly budget it shares with release confirmation (which goes first).

Every number that changed tonight is described, so that its event carries its tags and status; then,
with what is left of the budget, the others in rotation: a window of rotation slots per run (a finer
cut of the fingerprints' hash), from where the last run stopped (`refresh_windows`), so that every
number's tags and status are at most about ⌈numbers ÷ budget⌉ runs old. A number whose tags changed
is UPDATED ("Tags"). A claim that FAILED, a number IN_PROGRESS on two descriptions in a row, one
without a required tag key, one associated with a contact flow that no longer exists: each is a
finding, reported when it becomes so.

The Regions' windows are described at the same time, one thread per Region (DescribePhoneNumber's
quota is per Region), so the rotation takes its slowest Region's time, not the sum. Every answer that
holds a number (`answered`) is kept for the archive's details table; the threads' answers are gathered
in the calling thread, so nothing is shared between them.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace

from ..diff import TargetPlan, change_of
from ..fingerprint import ROTATION_SLOTS, slot_of
from ..models import ChangeType, Finding, FindingType, PhoneNumber, SnapshotNumber, changed_fields
from ..observability import logger
from ..ports import Described, Inventory, OutOfTime, Presence, Snapshot
from .confirm import DescribeBudget

DESCRIBED = (Presence.CLAIMED, Presence.IN_PROGRESS, Presence.FAILED)


def refresh_windows(
    cursors: Mapping[str, int], numbers_by_region: Mapping[str, int], budget: int
) -> dict[str, list[str]]:
    """Per Region, the slots whose numbers are described in rotation tonight, from its cursor on: as
    many slots as the budget is expected to cover (numbers spread evenly over slots, in every Region
    alike, so each Region gets its share of the budget); none without a budget."""
    if budget == 0:
        return {region: [] for region in cursors}
    numbers = max(sum(numbers_by_region.values()), 1)
    width = min(ROTATION_SLOTS, max(1, math.ceil(ROTATION_SLOTS * budget / numbers)))
    return {
        region: [f"{(cursor + offset) % ROTATION_SLOTS:04x}" for offset in range(width)]
        for region, cursor in cursors.items()
    }


def findings_for(previous: PhoneNumber | None, now: PhoneNumber, required_tags: Sequence[str]) -> list[Finding]:
    """Findings that `now` has and `previous` (the snapshot's state of the number) did not."""
    found = []
    if now.status == "FAILED" and (previous is None or previous.status != "FAILED"):
        found.append(Finding(FindingType.CLAIM_FAILED, now, "the claim failed: retry within a day or lose the number"))
    if now.status == "IN_PROGRESS" and previous is not None and previous.status == "IN_PROGRESS":
        found.append(Finding(FindingType.STUCK_IN_PROGRESS, now, "still IN_PROGRESS since it was last described"))
    if now.tags is not None and required_tags:
        missing = sorted(set(required_tags) - {key for key, _ in now.tags})
        before = (
            sorted(set(required_tags) - {key for key, _ in previous.tags})
            if previous is not None and previous.tags is not None
            else None
        )
        if missing and missing != before:
            found.append(Finding(FindingType.MISSING_REQUIRED_TAGS, now, f"no tag {', '.join(missing)}"))
    return found


def _with_description(number: PhoneNumber, described: Described) -> PhoneNumber:
    assert described.number is not None
    return replace(number, tags=described.number.tags, status=described.number.status)


@dataclass
class Refreshed:
    described: dict[str, int] = field(default_factory=dict)  # Region -> numbers of its window described
    stopped: bool = False


class Details:
    def __init__(self, inventory: Inventory, snapshot: Snapshot, budget: DescribeBudget, required_tags: Sequence[str]):
        self.inventory = inventory
        self.snapshot = snapshot
        self.budget = budget
        self.required_tags = tuple(required_tags)
        self.stopped = False
        self._answered: list[Described] = []

    @property
    def answered(self) -> list[Described]:
        """What DescribePhoneNumber answered of the numbers described so far (CLAIMED, IN_PROGRESS or
        FAILED: each with its number, tags and status), in the order asked."""
        return list(self._answered)

    def _describe(self, arn: str) -> Described | None:
        if self.stopped or not self.budget.take():
            return None
        try:
            return self.inventory.describe(arn)
        except OutOfTime:
            self.stopped = True
            return None

    def of_changes(self, plans: Iterable[TargetPlan]) -> None:
        """Describe every number that changed tonight (released ones aside), into its change."""
        for target_plan in plans:
            for index, (after, change) in enumerate(target_plan.changes):
                if change is None or after.released:
                    continue
                described = self._describe(after.number.arn)
                if described is None or described.presence not in DESCRIBED:
                    continue
                self._answered.append(described)
                number = _with_description(after.number, described)
                before = change.before
                fields = changed_fields(before, number) if before is not None else change.changed_fields
                target_plan.changes[index] = (
                    replace(after, number=number),
                    replace(change, after=number, changed_fields=fields),
                )
                target_plan.findings += findings_for(before, number, self.required_tags)

    def in_rotation(self, candidates: Mapping[str, Sequence[PhoneNumber]], plans: Sequence[TargetPlan]) -> Refreshed:
        """Describe the numbers of tonight's rotation windows, as far as the budget goes; a changed tag is
        an UPDATED, a new status or tag state a silent write, and findings are added to their target."""
        refreshed = Refreshed()
        by_target = {p.target.arn: p for p in plans}
        changed = {after.number.arn for p in plans for after, _ in p.changes}

        def describe_window(numbers: Sequence[PhoneNumber]) -> tuple[int, list[tuple[PhoneNumber, Described]]]:
            count, found = 0, []
            for number in numbers:
                answer = None if number.arn in changed else self._describe(number.arn)
                if answer is None and number.arn not in changed:
                    break
                count += 1
                if answer is not None and answer.presence in DESCRIBED:
                    found.append((number, answer))
            return count, found

        described: list[tuple[PhoneNumber, Described]] = []
        with ThreadPoolExecutor(max_workers=max(1, len(candidates)), thread_name_prefix="details") as pool:
            windows = dict(zip(candidates, pool.map(describe_window, candidates.values()), strict=True))
        for region, (count, found) in windows.items():
            refreshed.described[region] = count
            described += found
        self._answered += [answer for _, answer in described]
        known = self.snapshot.numbers([number.arn for number, _ in described])
        for number, answer in described:
            snapshot = known.get(number.arn)
            target_plan = by_target.get(number.target_arn)
            if snapshot is None or snapshot.released or target_plan is None:
                continue
            self._compare(target_plan, snapshot, _with_description(snapshot.number, answer))
        refreshed.stopped = self.stopped
        if self.budget.calls and self.budget.left() == 0:
            logger.info("DescribePhoneNumber budget spent", extra={"calls": self.budget.calls})
        return refreshed

    def _compare(self, target_plan: TargetPlan, known: SnapshotNumber, now: PhoneNumber) -> None:
        fields = changed_fields(known.number, now)
        if fields:
            after = known.advanced(now)
            target_plan.changes.append((after, change_of(ChangeType.UPDATED, known, after)))
        elif now != known.number:
            target_plan.changes.append((replace(known, number=now), None))
        target_plan.findings += findings_for(known.number, now, self.required_tags)


def completed_slots(window: Sequence[str], numbers: Sequence[PhoneNumber], described: int) -> int:
    """How many slots of a window had every one of their numbers described (the cursor moves that far)."""
    remaining = {slot_of(number.arn) for number in numbers[described:]}
    done = 0
    for slot in window:
        if slot in remaining:
            break
        done += 1
    return done
