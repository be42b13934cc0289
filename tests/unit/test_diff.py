"""The diff and its decisions: claims, releases, moves (even from targets not loaded), updates,
baselines, deferred and held releases. Pure: no network."""

from __future__ import annotations

import dataclasses

from numberwatch.diff import Observation, ReleasePolicy, TargetPlan, arrivals_of, diff_bucket, plan
from numberwatch.fingerprint import bucket_of, changed_buckets, fingerprints
from numberwatch.models import ChangeType, PhoneNumber, SnapshotNumber, Target
from tests.unit.factories import instance, number, numbers, record, snapshot_by_bucket, tdg

POLICY = ReleasePolicy(run_id="run-2", mass_release_share=0.5, mass_release_min_numbers=10)


def observe(
    target: Target, listed: list[PhoneNumber], recorded: list[PhoneNumber], baseline: bool = False, **kwargs: object
) -> Observation:
    """What the service builds for one target: current and snapshot side by side, changed buckets only."""
    current = fingerprints(listed)
    previous = record(target, recorded, **kwargs) if recorded or kwargs else None  # type: ignore[arg-type]
    changed = changed_buckets(current, previous.buckets if previous else {})
    by_bucket: dict[str, dict[str, PhoneNumber]] = {b: {} for b in changed}
    for item in listed:
        if bucket_of(item.arn) in by_bucket:
            by_bucket[bucket_of(item.arn)][item.arn] = item
    snapshot = snapshot_by_bucket(recorded)
    return Observation(target, previous, current, by_bucket, {b: snapshot.get(b, {}) for b in changed}, baseline)


def kinds(plans: list[TargetPlan]) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for target_plan in plans:
        for _, change in target_plan.changes:
            if change is not None:
                found.setdefault(change.change_type.value, []).append(change.current.number)
    return found


def test_empty_to_full_claims_every_number() -> None:
    target = instance()
    listed = numbers(30, target)
    plans = plan([observe(target, listed, [])], {}, POLICY)
    assert len(kinds(plans)["CLAIMED"]) == 30
    assert plans[0].record is not None and plans[0].record.count == 30


def test_full_to_empty_releases_a_small_target_at_once() -> None:
    target = instance()
    recorded = numbers(8, target)
    plans = plan([observe(target, [], recorded)], {}, POLICY)
    assert len(kinds(plans)["RELEASED"]) == 8
    released = [snapshot for snapshot, _ in plans[0].changes]
    assert all(s.released and s.version == 2 for s in released)


def test_a_move_between_an_instance_and_a_tdg_is_one_move() -> None:
    source, destination = instance(), tdg()
    moving = number(1, source)
    arrived = dataclasses.replace(moving, target_arn=destination.arn)
    observations = [
        observe(source, numbers(3, source, start=10), [moving, *numbers(3, source, start=10)]),
        observe(destination, [arrived], []),
    ]
    elsewhere = {moving.arn: SnapshotNumber(moving, 4)}
    plans = plan(observations, elsewhere, POLICY)
    assert kinds(plans) == {"MOVED": [moving.number]}
    (_, change) = plans[1].changes[0]
    assert change is not None
    assert (change.version_before, change.version_after, change.changed_fields) == (4, 5, ("TargetArn",))
    assert plans[0].changes == []


def test_a_move_from_a_target_whose_snapshot_was_not_loaded_is_still_a_move() -> None:
    # The number's old target was not observed (or its buckets not reloaded): only the arrival is seen.
    unseen, destination = instance("unseen"), instance("dest")
    moved = number(1, unseen)
    plans = plan([observe(destination, [dataclasses.replace(moved, target_arn=destination.arn)], [])],
                 {moved.arn: SnapshotNumber(moved, 1)}, POLICY)  # fmt: skip
    assert kinds(plans) == {"MOVED": [moved.number]}


def test_a_reclaimed_number_continues_its_version() -> None:
    target = instance()
    came_back = number(1, target)
    plans = plan(
        [observe(target, [came_back], [])], {came_back.arn: SnapshotNumber(came_back, 6, released=True)}, POLICY
    )
    (_, change) = plans[0].changes[0]
    assert change is not None and change.change_type is ChangeType.CLAIMED
    assert (change.version_before, change.version_after) == (6, 7)


def test_a_description_edit_is_an_update_with_before_and_after() -> None:
    target = instance()
    recorded = numbers(5, target)
    listed = [dataclasses.replace(recorded[0], description="Sales"), *recorded[1:]]
    plans = plan([observe(target, listed, recorded)], {}, POLICY)
    (_, change) = plans[0].changes[0]
    assert change is not None
    assert change.change_type is ChangeType.UPDATED
    assert change.changed_fields == ("PhoneNumberDescription",)
    assert (change.before and change.before.description, change.after and change.after.description) == (None, "Sales")


def test_an_imported_number_is_claimed_with_its_source() -> None:
    target = instance()
    imported = number(1, target, source_arn="arn:aws:sms-voice:us-east-1:123456789012:phone-number/phone-1")
    plans = plan([observe(target, [imported], [])], {}, POLICY)
    (_, change) = plans[0].changes[0]
    assert change is not None and change.after is not None
    assert change.after.source_arn == imported.source_arn


def test_a_tdg_listed_from_its_other_region_is_no_change() -> None:
    target = tdg()
    recorded = numbers(20, target)
    from_other_region = [dataclasses.replace(n, instance_id="replica-instance") for n in recorded]
    observation = observe(target, from_other_region, recorded)
    assert observation.recorded == {}
    assert plan([observation], {}, POLICY)[0].changes == []


def test_paging_boundaries_make_no_difference() -> None:
    target = instance()
    for count in (999, 1000, 1001):
        listed = numbers(count, target)
        assert plan([observe(target, listed, listed)], {}, POLICY)[0].changes == []
        assert len(kinds(plan([observe(target, listed, listed[:-1])], {}, POLICY))["CLAIMED"]) == 1


def test_an_interrupted_baseline_resumes_silently() -> None:
    # The first attempt wrote 400 of 1,000 numbers before it died; the resumed baseline writes the rest
    target = instance()
    listed = numbers(1000, target)
    observation = observe(target, listed, listed[:400], baseline=True)
    plans = plan([observation], {}, POLICY)
    assert kinds(plans) == {}
    assert plans[0].baseline_numbers == 600
    assert plans[0].record is not None and plans[0].record.buckets == fingerprints(listed)
    assert arrivals_of([observation]) == {n.arn for n in listed[400:]}


def test_releases_wait_while_their_region_is_not_fully_observed() -> None:
    target = instance()
    recorded = numbers(6, target)
    policy = dataclasses.replace(POLICY, deferred_regions=frozenset({"us-east-1"}))
    plans = plan([observe(target, recorded[2:], recorded)], {}, policy)
    assert plans[0].changes == [] and plans[0].deferred == 2
    # The record keeps the deferred numbers, so the next run looks at their buckets again
    assert plans[0].record is not None and plans[0].record.buckets == fingerprints(recorded)


def test_a_limited_run_defers_every_release() -> None:
    target = instance()
    recorded = numbers(4, target)
    plans = plan([observe(target, recorded[1:], recorded)], {}, dataclasses.replace(POLICY, defer_all=True))
    assert plans[0].deferred == 1 and kinds(plans) == {}


def test_a_mass_release_is_held_then_confirmed_by_a_later_run() -> None:
    target = instance()
    recorded = numbers(30, target)
    first = plan([observe(target, recorded[:10], recorded)], {}, POLICY)[0]
    assert first.held is not None and first.held.count == 20 and first.alert
    assert first.changes == []
    assert first.record is not None and first.record.held_since_run == "run-2"
    assert first.record.buckets == fingerprints(recorded)
    # A retry of the same run holds again, without a second alert
    retried = plan([observe(target, recorded[:10], recorded, held_since_run="run-2")], {}, POLICY)[0]
    assert retried.held is not None and not retried.alert
    # The next run confirms
    later = dataclasses.replace(POLICY, run_id="run-3")
    confirmed = plan([observe(target, recorded[:10], recorded, held_since_run="run-2")], {}, later)[0]
    assert confirmed.held is None
    assert len(kinds([confirmed])["RELEASED"]) == 20
    assert confirmed.record is not None and confirmed.record.held_since_run is None


def test_a_vanished_target_departs_whole_and_its_record_goes() -> None:
    target = instance()
    recorded = numbers(5, target)
    observation = Observation(target, record(target, recorded), {}, {}, snapshot_by_bucket(recorded), vanished=True)
    plans = plan([observation], {}, POLICY)
    assert len(kinds(plans)["RELEASED"]) == 5
    assert plans[0].record is None


def test_diff_bucket_sorts_arrivals_departures_and_updates() -> None:
    target = instance()
    a, b, c = numbers(3, target)
    result = diff_bucket({a.arn: a, b.arn: dataclasses.replace(b, type="TOLL_FREE")},
                         {b.arn: SnapshotNumber(b, 1), c.arn: SnapshotNumber(c, 1)})  # fmt: skip
    assert [n.arn for n in result.arrivals] == [a.arn]
    assert [s.number.arn for s in result.departures] == [c.arn]
    assert [s.number.arn for s, _ in result.updates] == [b.arn]
