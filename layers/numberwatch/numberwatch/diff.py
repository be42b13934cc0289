"""The diff: what changed between the snapshot and tonight's listings. Pure, no I/O.

It runs in three steps.
1. `Listing.suspects`: per target, the numbers whose digest differs from what the snapshot's bucket
   items keep (every number of a bucket verified this run): only these are read back.
2. `plan`: with those numbers' snapshot, across every target at once. A number listed where the
   snapshot had it elsewhere is a MOVE (even when that target was not observed). A number listed on
   two targets tonight (it moved while the scan paged) counts where it was listed last. A number that
   left a target is a *candidate* release, unless it is listed elsewhere tonight (that is the MOVE) or
   the snapshot already has it elsewhere; candidates pass the mass-release guard first.
3. `settle`: DescribePhoneNumber's answers turn each candidate into RELEASED, MOVED (to wherever it
   is now, listed tonight or not) or a deferral; the target's buckets and fingerprints become what
   the snapshot will hold, so anything held or deferred is looked at again next run.
A release is never reported from a listing alone: a listing that changes while the scan pages
through it, or a number briefly invisible while it moves, is not a release.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from functools import cached_property

from .fingerprint import BucketEntries, fingerprints, number_digest, total_count
from .models import (
    UNKNOWN_FLOW,
    Change,
    ChangeType,
    Finding,
    FindingType,
    HeldRelease,
    PhoneNumber,
    SnapshotNumber,
    Target,
    TargetRecord,
    changed_fields,
)
from .ports import Described, Presence

HELD_SAMPLE = 50


@dataclass
class Listing:
    """One target as tonight saw it (or, vanished, as it disappeared), with the buckets re-examined."""

    target: Target
    record: TargetRecord | None
    order: int  # position in tonight's sequence of listings: a later listing is the newer truth
    fingerprints: dict[str, str]  # every listed bucket
    listed: dict[str, dict[str, PhoneNumber]]  # re-examined bucket -> ARN -> the number as listed
    stored: dict[str, BucketEntries]  # re-examined bucket -> what the snapshot's bucket item holds
    verified: frozenset[str] = frozenset()  # re-examined number by number, whatever the fingerprints say
    baseline: bool = False  # the target's scope is still recording its baseline: nothing is reported
    vanished: bool = False  # no longer listed by discovery: every number departs
    digests: dict[str, BucketEntries] | None = None  # of `listed`, when the observer already computed them
    written: int = 0  # a baseline's numbers already written as they were listed (their digests only, not listed)

    @cached_property
    def listed_digests(self) -> dict[str, BucketEntries]:
        if self.digests is not None:
            return self.digests
        return {b: {arn: number_digest(n) for arn, n in numbers.items()} for b, numbers in self.listed.items()}

    @property
    def examined(self) -> list[str]:
        return sorted(self.listed.keys() | self.stored.keys() | (self.digests or {}).keys())

    @cached_property
    def suspects(self) -> frozenset[str]:
        """ARNs whose snapshot the plan needs: new, gone or different here (all of a verified bucket)."""
        if self.baseline:
            return frozenset()
        found: set[str] = set()
        for bucket in self.examined:
            now, then = self.listed_digests.get(bucket, {}), self.stored.get(bucket, {})
            arns = now.keys() | then.keys()
            found |= arns if bucket in self.verified else {a for a in arns if now.get(a) != then.get(a)}
        return frozenset(found)


@dataclass(frozen=True)
class ReleasePolicy:
    """When departures may go on to confirmation: the mass-release guard."""

    run_id: str
    mass_release_share: float
    mass_release_min_numbers: int


@dataclass
class TargetPlan:
    """What one target's run decided: numbers to write (with their change, or None when silent), the
    candidates to confirm, and once settled, the buckets and record the snapshot will hold."""

    listing: Listing
    changes: list[tuple[SnapshotNumber, Change | None]] = field(default_factory=list)
    candidates: list[SnapshotNumber] = field(default_factory=list)
    kept: list[SnapshotNumber] = field(default_factory=list)  # not listed, still in the snapshot
    listed_later: set[str] = field(default_factory=set)  # listed here, then on a later listing tonight
    held: HeldRelease | None = None
    guard_passed: bool = False  # candidates are a confirmed mass release (held by an earlier run)
    deferred: Counter[str] = field(default_factory=Counter)  # reason -> releases waiting
    findings: list[Finding] = field(default_factory=list)
    baseline_numbers: int = 0
    buckets: dict[str, BucketEntries] = field(default_factory=dict)  # bucket items to write ({} deletes)
    record: TargetRecord | None = None  # None: delete the target's record

    @property
    def target(self) -> Target:
        return self.listing.target

    @property
    def quiet(self) -> bool:
        return not self.changes and not self.buckets and self.record == self.listing.record


def change_of(kind: ChangeType, before: SnapshotNumber | None, after: SnapshotNumber) -> Change:
    """The change from `before` to `after`, keyed by their versions (so a resend keeps its event id)."""
    live_before = before is not None and not before.released
    return Change(
        change_type=kind,
        number_arn=after.number.arn,
        before=before.number if before is not None and live_before else None,
        after=None if after.released else after.number,
        version_before=0 if before is None else before.version,
        version_after=after.version,
        changed_fields=(
            changed_fields(before.number, after.number)
            if before is not None and live_before and not after.released
            else ()
        ),
    )


def _winners(listings: Iterable[Listing]) -> dict[str, int]:
    """For every suspect ARN listed tonight, the order of the last listing that showed it."""
    winners: dict[str, int] = {}
    for listing in listings:
        for numbers in listing.listed.values():
            for arn in numbers.keys() & listing.suspects:
                winners[arn] = max(winners.get(arn, -1), listing.order)
    return winners


def plan(listings: list[Listing], snapshot: Mapping[str, SnapshotNumber], policy: ReleasePolicy) -> list[TargetPlan]:
    """Decide every change the listings show; `snapshot` holds, by ARN, each suspect the snapshot knows."""
    winners = _winners(listings)
    plans = []
    for listing in listings:
        target_plan = TargetPlan(listing, baseline_numbers=listing.written)
        departures: list[SnapshotNumber] = []
        for bucket in listing.examined:
            listed = listing.listed.get(bucket, {})
            for arn, number in listed.items():
                if listing.baseline:
                    target_plan.changes.append((SnapshotNumber(number, 1), None))
                    target_plan.baseline_numbers += 1
                elif arn in listing.suspects:
                    if winners[arn] == listing.order:
                        _listed(target_plan, number, snapshot.get(arn))
                    else:
                        target_plan.listed_later.add(arn)
            for arn in listing.stored.get(bucket, {}).keys() - listed.keys():
                if arn in winners:
                    continue  # listed elsewhere tonight: that listing reports the move
                known = snapshot.get(arn)
                if known is not None and not known.released and known.number.target_arn == listing.target.arn:
                    departures.append(known)
                # else the bucket item lagged: the snapshot already has the number released or elsewhere
        _guard(target_plan, departures, policy)
        plans.append(target_plan)
    return plans


def _listed(target_plan: TargetPlan, number: PhoneNumber, known: SnapshotNumber | None) -> None:
    live = known is not None and not known.released
    if known is not None and live:
        number = number.with_details_of(known.number)
    flow_gone = number.flow_id not in (None, UNKNOWN_FLOW) and number.flow_name is None
    already_known = live and known is not None and known.number.flow_id == number.flow_id and not known.number.flow_name
    if flow_gone and not already_known:
        detail = f"associated with contact flow {number.flow_id}, which no longer exists"
        target_plan.findings.append(Finding(FindingType.FLOW_NOT_FOUND, number, detail))
    if known is None:
        after, kind = SnapshotNumber(number, 1), ChangeType.CLAIMED
    elif known.released:
        after, kind = known.advanced(number), ChangeType.CLAIMED
    elif known.number.target_arn != number.target_arn:
        after, kind = known.advanced(number), ChangeType.MOVED
    elif changed_fields(known.number, number):
        after, kind = known.advanced(number), ChangeType.UPDATED
    elif number != known.number:
        # No change, but worth keeping: a flow read again after a night it could not be, a renamed or
        # deleted flow. Written silently, the version unchanged.
        target_plan.changes.append((replace(known, number=number), None))
        return
    else:
        return  # the bucket item lagged behind the number: nothing changed
    target_plan.changes.append((after, change_of(kind, known, after)))


def _guard(target_plan: TargetPlan, departures: list[SnapshotNumber], policy: ReleasePolicy) -> None:
    """The mass-release guard: too many departures at once are held, not confirmed, until a later run."""
    listing = target_plan.listing
    record = listing.record
    recorded_total = record.count if record is not None else len(departures)
    is_mass = len(departures) > policy.mass_release_min_numbers and len(departures) > policy.mass_release_share * max(
        recorded_total, 1
    )
    confirmed = (
        record is not None
        and record.held_since_run not in (None, policy.run_id)
        and len(departures) <= record.held_count
    )
    if is_mass and not confirmed:
        target_plan.held = HeldRelease(
            target_arn=listing.target.arn,
            count=len(departures),
            of_total=recorded_total,
            sample=sorted(known.number.number for known in departures)[:HELD_SAMPLE],
        )
        target_plan.kept = departures
        return
    target_plan.guard_passed = confirmed
    target_plan.candidates = departures


def defer_reason(described: Described | None) -> str | None:
    """Why a candidate release waits, or None when DescribePhoneNumber settled it."""
    if described is None:
        return "over tonight's DescribePhoneNumber budget"
    if described.presence is Presence.GONE:
        return None
    if described.presence is Presence.CLAIMED:
        return "still claimed to its target (the listing missed it)"
    if described.presence is Presence.IN_PROGRESS:
        return "a claim, move or update in progress"
    if described.presence is Presence.FAILED:
        return "its last claim or move failed"
    return "DescribePhoneNumber failed"


def settle(target_plan: TargetPlan, outcomes: Mapping[str, Described], policy: ReleasePolicy) -> TargetPlan:
    """Turn confirmed candidates into changes and compute what the snapshot will hold for the target."""
    listing = target_plan.listing
    for known in target_plan.candidates:
        described = outcomes.get(known.number.arn)
        moved_to = described.number if described is not None else None
        if described is not None and described.presence is Presence.GONE:
            after = known.advanced(known.number, released=True)
            target_plan.changes.append((after, change_of(ChangeType.RELEASED, known, after)))
        elif (
            described is not None
            and described.presence is Presence.CLAIMED
            and moved_to is not None
            and moved_to.target_arn != listing.target.arn
        ):
            # DescribePhoneNumber shows no flow: the last known one stays until the number is listed.
            after = known.advanced(moved_to.routed(UNKNOWN_FLOW, None).with_details_of(known.number))
            target_plan.changes.append((after, change_of(ChangeType.MOVED, known, after)))
        else:
            target_plan.deferred[defer_reason(described) or "not settled"] += 1
            target_plan.kept.append(known)
    _snapshot_after(target_plan, policy)
    return target_plan


def _snapshot_after(target_plan: TargetPlan, policy: ReleasePolicy) -> None:
    """Bucket items and fingerprints of what the snapshot will hold: tonight's listing, less the numbers
    listed later elsewhere, plus the departures kept back (held or deferred)."""
    listing = target_plan.listing
    kept = {known.number.arn for known in target_plan.kept}
    new_fingerprints = {} if listing.vanished else dict(listing.fingerprints)
    for bucket in listing.examined:
        stored = listing.stored.get(bucket, {})
        entries = {
            arn: digest
            for arn, digest in listing.listed_digests.get(bucket, {}).items()
            if arn not in target_plan.listed_later
        }
        entries.update({arn: digest for arn, digest in stored.items() if arn in kept})
        new_fingerprints.pop(bucket, None)
        new_fingerprints.update(fingerprints({bucket: entries}))
        if entries != stored:
            target_plan.buckets[bucket] = entries
    if listing.vanished and not new_fingerprints:
        target_plan.record = None
        return
    held_since_run, held_count = _hold_after(target_plan, policy)
    target_plan.record = TargetRecord(
        target=listing.target,
        buckets=new_fingerprints,
        count=total_count(new_fingerprints),
        held_since_run=held_since_run,
        held_count=held_count,
    )


def _hold_after(target_plan: TargetPlan, policy: ReleasePolicy) -> tuple[str | None, int]:
    """A new hold starts with this run; a confirmed mass release keeps its hold while some of its
    releases still wait for confirmation (so that the guard does not hold them a second time)."""
    if target_plan.held is not None:
        return policy.run_id, target_plan.held.count
    record = target_plan.listing.record
    waiting = sum(target_plan.deferred.values())
    if target_plan.guard_passed and waiting and record is not None:
        return record.held_since_run, waiting
    return None, 0
