"""The diff and its decisions, on listings given as data: claims, moves (even from targets not
listed), updates, candidate releases settled by DescribePhoneNumber, the mass-release guard, a
number listed twice while the scan paged. Pure: no network."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping

from numberwatch.diff import Listing, ReleasePolicy, TargetPlan, plan, settle
from numberwatch.fingerprint import BucketEntries, entries_by_bucket, fingerprints
from numberwatch.models import ChangeType, PhoneNumber, SnapshotNumber, Target, TargetRecord
from numberwatch.ports import Described, Presence
from tests.unit.factories import by_bucket, instance, number, numbers, record, tdg

POLICY = ReleasePolicy(run_id="run-2", mass_release_share=0.5, mass_release_min_numbers=10)


def listing(
    target: Target,
    listed: list[PhoneNumber],
    held: list[PhoneNumber],
    order: int = 0,
    record_of: TargetRecord | None = None,
    **flags: bool,
) -> Listing:
    """A target whose every bucket is re-examined: tonight's numbers beside what its bucket items hold."""
    stored: dict[str, BucketEntries] = entries_by_bucket(held)
    current = by_bucket(listed)
    return Listing(
        target=target,
        record=record_of if record_of is not None else (record(target, held) if held else None),
        order=order,
        fingerprints=fingerprints(entries_by_bucket(listed)),
        listed=current,
        stored=stored,
        **flags,
    )


def snapshot(*known: PhoneNumber, version: int = 1, released: bool = False) -> dict[str, SnapshotNumber]:
    return {n.arn: SnapshotNumber(n, version, released) for n in known}


def decided(
    listings: list[Listing],
    known: Mapping[str, SnapshotNumber],
    outcomes: Mapping[str, Described] | None = None,
    policy: ReleasePolicy = POLICY,
) -> list[TargetPlan]:
    return [settle(p, outcomes or {}, policy) for p in plan(listings, known, policy)]


def kinds(plans: list[TargetPlan]) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for target_plan in plans:
        for _, change in target_plan.changes:
            if change is not None:
                found.setdefault(change.change_type.value, []).append(change.current.number)
    return found


def test_numbers_new_to_the_snapshot_are_claimed() -> None:
    target = instance()
    listed = numbers(30, target)
    plans = decided([listing(target, listed, [])], {})
    assert len(kinds(plans)["CLAIMED"]) == 30
    assert plans[0].record is not None and plans[0].record.count == 30


def test_a_baseline_records_silently() -> None:
    target = instance()
    plans = decided([listing(target, numbers(30, target), [], baseline=True)], {})
    assert kinds(plans) == {} and plans[0].baseline_numbers == 30
    assert len(plans[0].changes) == 30


def test_a_move_between_an_instance_and_a_tdg_is_one_move() -> None:
    source, destination = instance(), tdg()
    moving = number(1, source)
    arrived = dataclasses.replace(moving, target_arn=destination.arn)
    stay = numbers(3, source, start=10)
    listings = [listing(source, stay, [moving, *stay]), listing(destination, [arrived], [], order=1)]
    plans = decided(listings, {moving.arn: SnapshotNumber(moving, 4)})
    assert kinds(plans) == {"MOVED": [moving.number]}
    (_, change) = plans[1].changes[0]
    assert change is not None
    assert (change.version_before, change.version_after, change.changed_fields) == (4, 5, ("TargetArn",))
    assert plans[0].changes == [] and plans[0].candidates == []


def test_a_move_from_a_target_not_listed_tonight_is_still_a_move() -> None:
    unseen, destination = instance("unseen"), instance("dest")
    moved = number(1, unseen)
    arrived = dataclasses.replace(moved, target_arn=destination.arn)
    plans = decided([listing(destination, [arrived], [])], snapshot(moved))
    assert kinds(plans) == {"MOVED": [moved.number]}


def test_a_reclaimed_number_continues_its_version() -> None:
    target = instance()
    came_back = number(1, target)
    plans = decided([listing(target, [came_back], [])], snapshot(came_back, version=6, released=True))
    (_, change) = plans[0].changes[0]
    assert change is not None and change.change_type is ChangeType.CLAIMED
    assert (change.version_before, change.version_after) == (6, 7)


def test_a_description_edit_is_an_update_with_before_and_after() -> None:
    target = instance()
    held = numbers(5, target)
    listed = [dataclasses.replace(held[0], description="Sales"), *held[1:]]
    plans = decided([listing(target, listed, held)], snapshot(*held))
    (_, change) = plans[0].changes[0]
    assert change is not None and change.change_type is ChangeType.UPDATED
    assert change.changed_fields == ("PhoneNumberDescription",)
    assert (change.before and change.before.description, change.after and change.after.description) == (None, "Sales")


def test_a_tdg_listed_from_its_other_region_is_no_change() -> None:
    target = tdg()
    held = numbers(20, target)
    from_other_region = [dataclasses.replace(n, instance_id="replica-instance") for n in held]
    observation = listing(target, from_other_region, held)
    assert observation.suspects == frozenset()
    assert decided([observation], {})[0].quiet


def test_a_number_that_left_is_only_a_candidate_until_connect_says_where_it_is() -> None:
    # Given three numbers a target held and no longer lists
    target, elsewhere = instance("a"), instance("b")
    held = numbers(6, target)
    gone, moved, busy = held[0], held[1], held[2]
    drafts = plan([listing(target, held[3:], held)], snapshot(*held), POLICY)
    assert {k.number.arn for k in drafts[0].candidates} == {gone.arn, moved.arn, busy.arn}
    assert drafts[0].changes == []
    # When DescribePhoneNumber says: not found, claimed to another target, a move in progress
    outcomes = {
        gone.arn: Described(Presence.GONE),
        moved.arn: Described(Presence.CLAIMED, dataclasses.replace(moved, target_arn=elsewhere.arn)),
        busy.arn: Described(Presence.IN_PROGRESS, busy),
    }
    settled = settle(drafts[0], outcomes, POLICY)
    # Then one is released, one moved, and the third waits, kept in the snapshot for the next run
    assert kinds([settled]) == {"RELEASED": [gone.number], "MOVED": [moved.number]}
    assert dict(settled.deferred) == {"a claim, move or update in progress": 1}
    assert settled.record is not None and settled.record.count == 4


def test_a_candidate_over_the_budget_waits_in_the_snapshot() -> None:
    target = instance()
    held = numbers(4, target)
    plans = decided([listing(target, held[1:], held)], snapshot(*held), outcomes={})
    assert kinds(plans) == {}
    assert dict(plans[0].deferred) == {"over tonight's DescribePhoneNumber budget": 1}
    assert plans[0].record is not None and plans[0].record.buckets == fingerprints(entries_by_bucket(held))


def test_a_number_listed_on_two_targets_tonight_counts_where_it_was_listed_last() -> None:
    # A new number, claimed to A, then moved to B while the scan paged: both listings show it
    a, b = instance("a"), instance("b")
    new = number(1, a)
    on_b = dataclasses.replace(new, target_arn=b.arn)
    plans = decided([listing(a, [new], []), listing(b, [on_b], [], order=1)], {})
    assert kinds(plans) == {"CLAIMED": [new.number]}
    ((after, _),) = plans[1].changes
    assert after.number.target_arn == b.arn
    # And A's record leaves it out, so that A is looked at again next run
    assert plans[0].record is not None and plans[0].record.count == 0


def test_a_bucket_entry_the_snapshot_has_moved_on_from_is_dropped_silently() -> None:
    a, b = instance("a"), instance("b")
    number_on_b = number(1, b)
    plans = decided([listing(a, [], [dataclasses.replace(number_on_b, target_arn=a.arn)])], snapshot(number_on_b))
    assert plans[0].candidates == [] and kinds(plans) == {}
    assert plans[0].buckets and all(entries == {} for entries in plans[0].buckets.values())


def test_a_mass_release_is_held_then_confirmed_by_a_later_run() -> None:
    target = instance()
    held = numbers(30, target)
    first = decided([listing(target, held[:10], held)], snapshot(*held))[0]
    assert first.held is not None and first.held.count == 20
    assert first.changes == [] and first.candidates == []
    assert first.record is not None and first.record.held_since_run == "run-2"
    assert first.record.buckets == fingerprints(entries_by_bucket(held))
    # A retry of the same run holds again
    again = decided([listing(target, held[:10], held, record_of=first.record)], snapshot(*held))[0]
    assert again.held is not None
    # The next run goes on to confirm them, with Connect
    later = dataclasses.replace(POLICY, run_id="run-3")
    gone = {n.arn: Described(Presence.GONE) for n in held[10:]}
    confirmed = decided([listing(target, held[:10], held, record_of=first.record)], snapshot(*held), gone, later)[0]
    assert confirmed.held is None
    assert len(kinds([confirmed])["RELEASED"]) == 20
    assert confirmed.record is not None and confirmed.record.held_since_run is None


def test_a_confirmed_mass_release_over_the_budget_keeps_its_hold_until_all_are_confirmed() -> None:
    target = instance()
    held = numbers(30, target)
    first = decided([listing(target, held[:10], held)], snapshot(*held))[0]
    later = dataclasses.replace(POLICY, run_id="run-3")
    partly = {n.arn: Described(Presence.GONE) for n in held[10:15]}
    second = decided([listing(target, held[:10], held, record_of=first.record)], snapshot(*held), partly, later)[0]
    assert len(kinds([second])["RELEASED"]) == 5
    assert second.record is not None and (second.record.held_since_run, second.record.held_count) == ("run-2", 15)
    # The run after confirms the rest without holding (nor alerting) again
    last = dataclasses.replace(POLICY, run_id="run-4")
    rest = {n.arn: Described(Presence.GONE) for n in held[15:]}
    waiting = held[:10] + held[15:]
    third = decided([listing(target, held[:10], waiting, record_of=second.record)], snapshot(*waiting), rest, last)[0]
    assert third.held is None and len(kinds([third])["RELEASED"]) == 15


def test_a_vanished_target_departs_whole_and_its_record_goes() -> None:
    target = instance()
    held = numbers(5, target)
    gone = {n.arn: Described(Presence.GONE) for n in held}
    plans = decided([listing(target, [], held, vanished=True)], snapshot(*held), gone)
    assert len(kinds(plans)["RELEASED"]) == 5
    assert plans[0].record is None
