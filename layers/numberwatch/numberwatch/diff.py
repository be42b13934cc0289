"""The diff: what changed between the snapshot and tonight's listings. Pure, no I/O.

It runs in two steps. `diff_bucket` compares one bucket of one target with its snapshot and
yields arrivals, departures and updates. `plan` then looks at every target at once: an arrival
that the snapshot knows on another target is a MOVE (even when that target was not loaded or not
observed), a departure that arrived elsewhere is that same MOVE, and the remaining departures
are releases, unless they are deferred (their Region was not fully observed) or held (the
mass-release guard). Fingerprints are recomputed from what the snapshot will hold afterwards, so
a held or deferred release is looked at again next run.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cached_property

from .fingerprint import fingerprints, total_count
from .models import Change, ChangeType, HeldRelease, PhoneNumber, SnapshotNumber, Target, TargetRecord

# (event field name, PhoneNumber attribute): what a change is made of. InstanceId is not one.
CHANGE_FIELDS = (
    ("PhoneNumber", "number"),
    ("PhoneNumberCountryCode", "country"),
    ("PhoneNumberType", "type"),
    ("TargetArn", "target_arn"),
    ("PhoneNumberDescription", "description"),
    ("SourcePhoneNumberArn", "source_arn"),
)


def changed_fields(before: PhoneNumber, after: PhoneNumber) -> tuple[str, ...]:
    return tuple(name for name, attribute in CHANGE_FIELDS if getattr(before, attribute) != getattr(after, attribute))


@dataclass
class BucketDiff:
    arrivals: list[PhoneNumber] = field(default_factory=list)
    departures: list[SnapshotNumber] = field(default_factory=list)
    updates: list[tuple[SnapshotNumber, PhoneNumber]] = field(default_factory=list)


def diff_bucket(current: dict[str, PhoneNumber], recorded: dict[str, SnapshotNumber]) -> BucketDiff:
    result = BucketDiff()
    for arn, number in current.items():
        known = recorded.get(arn)
        if known is None:
            result.arrivals.append(number)
        elif changed_fields(known.number, number):
            result.updates.append((known, number))
    result.departures = [known for arn, known in recorded.items() if arn not in current]
    return result


@dataclass
class Observation:
    """One target as tonight saw it: its fingerprints, and the changed buckets side by side."""

    target: Target
    record: TargetRecord | None
    fingerprints: dict[str, str]
    current: dict[str, dict[str, PhoneNumber]]  # changed bucket -> ARN -> number
    recorded: dict[str, dict[str, SnapshotNumber]]  # changed bucket -> ARN -> snapshot
    baseline: bool = False  # the target's scope is still recording its baseline
    vanished: bool = False  # no longer listed by discovery: every number departs

    @cached_property
    def diffs(self) -> dict[str, BucketDiff]:
        return {b: diff_bucket(self.current.get(b, {}), self.recorded.get(b, {})) for b in self.recorded | self.current}


@dataclass(frozen=True)
class ReleasePolicy:
    """When a departure may be reported released."""

    run_id: str
    mass_release_share: float
    mass_release_min_numbers: int
    defer_all: bool = False  # a run limited to some targets cannot tell a release from a move
    deferred_regions: frozenset[str] = frozenset()  # Regions with a target not observed


@dataclass
class TargetPlan:
    """What to write for one target, in order: numbers with their changes, then the record."""

    target: Target
    changes: list[tuple[SnapshotNumber, Change | None]] = field(default_factory=list)  # None: silent (baseline)
    record: TargetRecord | None = None  # None: delete the target's record
    held: HeldRelease | None = None
    alert: bool = False  # a new hold: alert people (a retry of the same run already did)
    deferred: int = 0
    baseline_numbers: int = 0


def _key(change_type: ChangeType, before: SnapshotNumber | None, after: SnapshotNumber) -> Change:
    return Change(
        change_type=change_type,
        number_arn=after.number.arn,
        before=None if before is None or before.released else before.number,
        after=None if after.released else after.number,
        version_before=0 if before is None else before.version,
        version_after=after.version,
        changed_fields=(
            changed_fields(before.number, after.number)
            if before is not None and not before.released and not after.released
            else ()
        ),
    )


def arrivals_of(observations: Iterable[Observation]) -> set[str]:
    """ARNs new to their target's snapshot, across every target: the snapshot is asked about these."""
    return {n.arn for o in observations for d in o.diffs.values() for n in d.arrivals}


def plan(
    observations: list[Observation], elsewhere: dict[str, SnapshotNumber], policy: ReleasePolicy
) -> list[TargetPlan]:
    """Decide every change of the run. `elsewhere` is what the snapshot holds, by ARN, for each
    arrival (a live number on another target, a released one, or nothing)."""
    arrived = arrivals_of(observations)
    plans = []
    for observation in observations:
        target_plan = TargetPlan(observation.target)
        kept_back: dict[str, list[PhoneNumber]] = {}
        releases: list[tuple[str, SnapshotNumber]] = []
        for bucket, bucket_diff in observation.diffs.items():
            for number in bucket_diff.arrivals:
                known = elsewhere.get(number.arn)
                if known is None:
                    after = SnapshotNumber(number, 1)
                    kind = ChangeType.CLAIMED
                else:
                    after = known.advanced(number)
                    kind = ChangeType.CLAIMED if known.released else ChangeType.MOVED
                    if not known.released and known.number.target_arn == number.target_arn:
                        if not changed_fields(known.number, number):
                            continue
                        kind = ChangeType.UPDATED
                _record(target_plan, observation, known, after, kind)
            for known, number in bucket_diff.updates:
                _record(target_plan, observation, known, known.advanced(number), ChangeType.UPDATED)
            for known in bucket_diff.departures:
                if known.number.arn in arrived:
                    continue  # a MOVE, written by the target it arrived on
                if policy.defer_all or known.number.region in policy.deferred_regions:
                    target_plan.deferred += 1
                    kept_back.setdefault(bucket, []).append(known.number)
                else:
                    releases.append((bucket, known))
        _release_or_hold(target_plan, observation, releases, kept_back, policy)
        target_plan.record = _record_after(observation, kept_back, target_plan.held, policy)
        plans.append(target_plan)
    return plans


def _record(
    target_plan: TargetPlan,
    observation: Observation,
    before: SnapshotNumber | None,
    after: SnapshotNumber,
    kind: ChangeType,
) -> None:
    if observation.baseline:
        target_plan.changes.append((after, None))
        target_plan.baseline_numbers += 1
    else:
        target_plan.changes.append((after, _key(kind, before, after)))


def _release_or_hold(
    target_plan: TargetPlan,
    observation: Observation,
    releases: list[tuple[str, SnapshotNumber]],
    kept_back: dict[str, list[PhoneNumber]],
    policy: ReleasePolicy,
) -> None:
    record = observation.record
    recorded_total = total_count(record.buckets) if record else len(releases)
    is_mass = (
        not observation.baseline
        and len(releases) > policy.mass_release_min_numbers
        and len(releases) > policy.mass_release_share * max(recorded_total, 1)
    )
    confirmed = record is not None and record.held_since_run not in (None, policy.run_id)
    if is_mass and not confirmed:
        target_plan.alert = record is None or record.held_since_run != policy.run_id
        target_plan.held = HeldRelease(
            target_arn=observation.target.arn,
            count=len(releases),
            of_total=recorded_total,
            sample=sorted(known.number.number for _, known in releases)[:50],
        )
        for bucket, known in releases:
            kept_back.setdefault(bucket, []).append(known.number)
        return
    for _, known in releases:
        _record(target_plan, observation, known, known.advanced(known.number, released=True), ChangeType.RELEASED)


def _record_after(
    observation: Observation,
    kept_back: dict[str, list[PhoneNumber]],
    held: HeldRelease | None,
    policy: ReleasePolicy,
) -> TargetRecord | None:
    """The target's record as the snapshot will hold it: fingerprints of what it will contain."""
    buckets = {} if observation.vanished else dict(observation.fingerprints)
    for bucket in observation.recorded.keys() | observation.current.keys():
        buckets.pop(bucket, None)
        numbers = [*observation.current.get(bucket, {}).values(), *kept_back.get(bucket, [])]
        buckets.update(fingerprints(numbers))
    if observation.vanished and not buckets:
        return None
    return TargetRecord(
        target=observation.target,
        buckets=buckets,
        count=total_count(buckets),
        held_since_run=policy.run_id if held else None,
        held_count=held.count if held else 0,
    )
