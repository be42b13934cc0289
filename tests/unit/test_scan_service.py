"""The whole run, phases in sequence, against in-memory fakes: listings that change while the scan
pages, releases confirmed or deferred, an outbox read through a stale index, refused messages."""

from __future__ import annotations

import dataclasses
import uuid
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from numberwatch.models import PhoneNumber, RunStatus, ScanRequest, Target
from numberwatch.run import RunContext, no_checkpoint
from numberwatch.service import ScanService
from numberwatch.settings import Settings
from tests.support.kill_switch import Crash, crash_at
from tests.unit.factories import ACCOUNT, instance, number, numbers, tdg
from tests.unit.fakes import FakeConnect, FakePublisher, FakeStore, FakeTrail

ENVIRONMENT = {
    "TABLE_NAME": "numbers",
    "TOPIC_ARN": f"arn:aws:sns:us-east-1:{ACCOUNT}:numbers",
    "AWS_REGION": "us-east-1",
    "SCAN_REGIONS": "us-east-1,us-west-2",
}


class Estate:
    """An estate, its store and its subscribers, and nights of the real service over them."""

    def __init__(self, trail: FakeTrail | None = None, **settings: str) -> None:
        self.connect = FakeConnect()
        self.store = FakeStore()
        self.publisher = FakePublisher()
        self.trail = trail
        self.settings = Settings.from_environment({**ENVIRONMENT, **settings})

    def night(
        self,
        run_id: str | None = None,
        checkpoint: Callable[[str], None] = no_checkpoint,
        remaining_ms: Callable[[], int] = lambda: 900_000,
        **request: Any,
    ) -> dict[str, Any]:
        service = ScanService(
            self.connect, self.store, self.publisher, self.settings, lambda: ACCOUNT, checkpoint, self.trail
        )
        context = RunContext(run_id=run_id or str(uuid.uuid4()), remaining_ms=remaining_ms)
        return service.run(ScanRequest(**request), context).model_dump(mode="json")

    def invoked_again(self, run_id: str) -> dict[str, Any]:
        """The night of `run_id` invoked again once its run is over: it lists nothing and publishes nothing."""
        self.connect.listed.clear()
        summary = self.night(run_id=run_id)
        assert self.connect.listed == [] and self.received() == []
        return summary

    def received(self) -> list[dict[str, Any]]:
        """Every message published since the last call."""
        bodies = self.publisher.bodies()
        self.publisher.published.clear()
        return bodies


def changes(bodies: list[dict[str, Any]]) -> Counter[str]:
    return Counter(b["change_type"] for b in bodies if b["event_type"] == "NUMBER_CHANGE")


def baseline(estate: Estate, *targets: tuple[Target, list[PhoneNumber]]) -> None:
    for target, claimed in targets:
        estate.connect.add(target, *claimed)
    assert estate.night()["mode"] == "BASELINE"
    estate.received()


# ------------------------------------------------------------------ listings that change mid-scan
def test_a_number_moved_into_a_target_already_listed_is_one_move_not_a_release() -> None:
    # Given a baseline of A and B, A listed before B
    estate = Estate()
    a, b = instance("a"), instance("b")
    mover = number(1, b)
    baseline(estate, (a, numbers(3, a, start=10)), (b, [mover, *numbers(3, b, start=20)]))

    # When, after A was listed and before B is, a number moves from B to A (it is on neither listing)
    def move_behind_the_scan(connect: FakeConnect, target: Target) -> None:
        if target.arn == b.arn and connect.find(mover.arn) is not None and mover.arn in connect.numbers[b.arn]:
            connect.move(mover, a)

    estate.connect.between_listings = move_behind_the_scan
    summary = estate.night()
    # Then Connect is asked where it is, and it is one MOVED, not a release
    assert summary["changes"] == {"CLAIMED": 0, "RELEASED": 0, "MOVED": 1, "UPDATED": 0}
    assert mover.arn in estate.connect.described
    (moved,) = [e for e in estate.received() if e["event_type"] == "NUMBER_CHANGE"]
    assert (moved["before"]["TargetArn"], moved["after"]["TargetArn"]) == (b.arn, a.arn)
    # And the next night, with the number on A's listing, is quiet
    estate.connect.between_listings = lambda connect, target: None
    assert estate.night()["changes"] == {"CLAIMED": 0, "RELEASED": 0, "MOVED": 0, "UPDATED": 0}
    assert changes(estate.received()) == Counter()


def test_a_number_briefly_invisible_while_it_moves_waits_then_is_one_move() -> None:
    estate = Estate()
    a, b = instance("a"), instance("b")
    mover = number(1, a)
    baseline(estate, (a, [mover, *numbers(4, a, start=10)]), (b, numbers(2, b, start=20)))
    # Tonight the move is in progress: the number is on no listing, and Connect says so
    estate.connect.move(mover, b)
    estate.connect.in_progress.add(mover.arn)
    summary = estate.night()
    assert summary["changes"]["RELEASED"] == 0 and summary["releases_deferred"] == 1
    digest = next(e for e in estate.received() if e["event_type"] == "DIGEST")
    assert digest["deferred_reasons"] == {"a claim, move or update in progress": 1}
    # The next night the move has completed: one MOVED
    estate.connect.in_progress.clear()
    assert estate.night()["changes"] == {"CLAIMED": 0, "RELEASED": 0, "MOVED": 1, "UPDATED": 0}


def test_a_number_claimed_then_moved_while_the_scan_pages_is_claimed_once() -> None:
    estate = Estate()
    a, b = instance("a"), instance("b")
    baseline(estate, (a, numbers(2, a, start=10)), (b, numbers(2, b, start=20)))
    newcomer = number(1, a)

    def claim_then_move(connect: FakeConnect, target: Target) -> None:
        if target.arn == a.arn:
            connect.add(a, newcomer)
        else:
            connect.move(newcomer, b)

    estate.connect.between_listings = claim_then_move
    summary = estate.night()
    assert summary["changes"] == {"CLAIMED": 1, "RELEASED": 0, "MOVED": 0, "UPDATED": 0}
    (claimed,) = [e for e in estate.received() if e["event_type"] == "NUMBER_CHANGE"]
    assert claimed["target_arn"] == b.arn
    estate.connect.between_listings = lambda connect, target: None
    assert estate.night()["changes"] == {"CLAIMED": 0, "RELEASED": 0, "MOVED": 0, "UPDATED": 0}


def test_a_number_moved_out_of_the_scanned_regions_is_a_move_not_a_release() -> None:
    # A TDG spans us-east-1 and us-west-2, but only us-east-1 is scanned; a number claimed from us-west-2
    # leaves the TDG for an instance in us-west-2, which is never listed
    estate = Estate(SCAN_REGIONS="us-east-1")
    group, west = tdg(), instance("west", region="us-west-2")
    west_number = number(1, group, region="us-west-2")
    baseline(estate, (group, [west_number, *numbers(5, group, start=10)]))
    estate.connect.numbers[west.arn] = {}
    estate.connect.move(west_number, west)
    summary = estate.night()
    assert summary["changes"] == {"CLAIMED": 0, "RELEASED": 0, "MOVED": 1, "UPDATED": 0}
    assert estate.night()["changes"] == {"CLAIMED": 0, "RELEASED": 0, "MOVED": 0, "UPDATED": 0}


# ------------------------------------------------------------------ confirmation
def test_releases_over_the_budget_wait_and_each_is_reported_once() -> None:
    estate = Estate(DESCRIBE_CALLS_PER_RUN="2")
    a = instance("a")
    held = numbers(20, a)
    baseline(estate, (a, held))
    for gone in held[:5]:
        estate.connect.release(gone)
    reported: Counter[str] = Counter()
    waiting = []
    for _ in range(3):
        summary = estate.night()
        waiting.append(summary["releases_deferred"])
        for body in estate.received():
            if body["event_type"] == "NUMBER_CHANGE":
                reported[body["phone_number"]] += 1
            elif body["event_type"] == "DIGEST":
                assert body["deferred_releases"] == summary["releases_deferred"]
    assert waiting == [3, 1, 0]
    assert reported == Counter({n.number: 1 for n in held[:5]})


def test_a_release_connect_cannot_confirm_tonight_is_not_reported() -> None:
    estate = Estate()
    a = instance("a")
    held = numbers(6, a)
    baseline(estate, (a, held))
    estate.connect.release(held[0])
    estate.connect.describe_failing.add(held[0].arn)
    summary = estate.night()
    assert summary["changes"]["RELEASED"] == 0 and summary["releases_deferred"] == 1
    estate.connect.describe_failing.clear()
    assert estate.night()["changes"]["RELEASED"] == 1


def test_one_mass_release_alert_per_run_names_every_held_target() -> None:
    estate = Estate()
    targets = [instance(f"t{i}") for i in range(3)]
    claimed = {t.arn: numbers(20, t, start=100 * i) for i, t in enumerate(targets)}
    baseline(estate, *((t, claimed[t.arn]) for t in targets))
    for target in targets:
        for gone in claimed[target.arn][:15]:
            estate.connect.release(gone)
    summary = estate.night()
    assert summary["releases_held"] == 45
    alerts = [e for e in estate.received() if e["event_type"] == "SUSPECTED_MASS_RELEASE"]
    assert len(alerts) == 1
    assert sorted(t["target_arn"] for t in alerts[0]["targets"]) == sorted(t.arn for t in targets)
    held = {n.arn for target in targets for n in claimed[target.arn][:15]}
    assert held.isdisjoint(estate.connect.described)  # held releases are not described


# ------------------------------------------------------------------ the outbox
def test_an_index_still_listing_sent_messages_never_makes_them_go_twice() -> None:
    # Given a night whose messages were all published
    estate = Estate()
    a = instance("a")
    held = numbers(8, a)
    baseline(estate, (a, held))
    estate.connect.release(held[0])
    estate.night()
    first = estate.received()
    # When the outbox index lags and still lists them as unsent the next night
    estate.store.stale_unsent = [s.message for s in estate.store.messages.values()]
    estate.night()
    # Then nothing is sent again
    assert estate.received() == []
    assert changes(first) == Counter({"RELEASED": 1})


def test_a_night_whose_messages_the_index_does_not_show_yet_still_publishes_them_once() -> None:
    estate = Estate()
    a = instance("a")
    baseline(estate, (a, numbers(3, a)))
    estate.connect.add(a, *numbers(2, a, start=50))
    estate.store.index_shows_new = False
    estate.night()
    bodies = estate.received()
    assert changes(bodies) == Counter({"CLAIMED": 2})
    assert Counter(b["event_type"] for b in bodies) == Counter({"NUMBER_CHANGE": 2, "DIGEST": 1})


def test_a_message_sns_refuses_is_set_aside_and_never_blocks_the_others() -> None:
    # Given twelve claims overnight, and SNS refusing one of their events as too big (our fault)
    estate = Estate()
    a = instance("a")
    baseline(estate, (a, numbers(3, a)))
    newcomers = numbers(12, a, start=100)
    estate.connect.add(a, *newcomers)
    estate.publisher.refuse = {_event_id_of(estate, newcomers[0])}
    # When the night runs
    summary = estate.night()
    # Then the eleven others and the digest go out, and the refused one is set aside, listed by id
    assert changes(estate.received()) == Counter({"CLAIMED": 11})
    assert summary["messages_set_aside"] == sorted(estate.publisher.refuse)
    assert summary["messages_pending"] == 0
    # And the next night does not try it again
    estate.night()
    assert estate.received() == []


def _event_id_of(estate: Estate, claimed: PhoneNumber) -> str:
    from numberwatch.events import event_id
    from numberwatch.models import Change, ChangeType

    return event_id(Change(ChangeType.CLAIMED, claimed.arn, None, claimed, 0, 1, ()))


def test_messages_sns_cannot_take_now_wait_in_the_outbox_for_the_next_run() -> None:
    estate = Estate()
    a = instance("a")
    held = numbers(5, a)
    baseline(estate, (a, held))
    estate.connect.release(held[0])
    estate.publisher.down = True
    summary = estate.night()
    assert summary["messages_pending"] == 2 and summary["messages_published"] == 0
    estate.publisher.down = False
    summary = estate.night()
    assert changes(estate.received()) == Counter({"RELEASED": 1})
    assert summary["messages_pending"] == 0


def a_release_and_a_claim_overnight(estate: Estate) -> None:
    """A baseline of six numbers on one instance; overnight one of them is released and one claimed."""
    a = instance("a")
    held = numbers(6, a)
    baseline(estate, (a, held))
    estate.connect.release(held[0])
    estate.connect.add(a, number(99, a))


def test_a_retried_run_publishes_what_its_first_attempt_wrote_and_counts_it_in_one_digest() -> None:
    # Given a night with a release and a claim whose run dies once its snapshot is written
    estate = Estate()
    a_release_and_a_claim_overnight(estate)
    run_id = str(uuid.uuid4())
    with pytest.raises(Crash):
        estate.night(run_id=run_id, checkpoint=crash_at("after_snapshot_write"))
    assert estate.received() == []
    # When Lambda retries it (same request id) and the outbox index does not show the messages yet
    estate.store.index_shows_new = False
    retried = estate.night(run_id=run_id)
    # Then both changes go out once, in one digest that counts them both, as does the run's summary
    assert (retried["changes"]["RELEASED"], retried["changes"]["CLAIMED"]) == (1, 1)
    bodies = estate.received()
    assert changes(bodies) == Counter({"RELEASED": 1, "CLAIMED": 1})
    digests = [b for b in bodies if b["event_type"] == "DIGEST"]
    assert len(digests) == 1 and sum(digests[0]["counts"].values()) == 2
    assert estate.store.run_status(ACCOUNT, run_id) is RunStatus.COMPLETED


def test_a_finished_run_invoked_again_scans_nothing_and_answers_its_recorded_summary() -> None:
    # Given a night with a claim and a release it cannot confirm yet (no DescribePhoneNumber budget)
    estate = Estate(DESCRIBE_CALLS_PER_RUN="0")
    a_release_and_a_claim_overnight(estate)
    run_id = str(uuid.uuid4())
    first = estate.night(run_id=run_id)
    assert (first["changes"]["CLAIMED"], first["releases_deferred"]) == (1, 1)
    (digest,) = [b for b in estate.received() if b["event_type"] == "DIGEST"]
    assert sum(digest["counts"].values()) == 1
    record = estate.store.runs[(ACCOUNT, run_id)]
    # And a claim made after it finished
    a = instance("a")
    estate.connect.add(a, number(77, a))
    # When the same invocation comes again once its lease is released (an event delivered twice, a
    # retry after a failure that followed the release, a redriven step)
    again = estate.invoked_again(run_id)
    # Then it lists nothing, reports nothing, and answers with the run's recorded summary
    assert again["replayed"] is True and again["status"] == "COMPLETED"
    assert (again["changes"], again["releases_deferred"]) == (first["changes"], 1)
    # And the run keeps its one record, untouched
    assert estate.store.runs[(ACCOUNT, run_id)] == record
    # And the claim made since is the next run's, under its own time
    following = estate.night()
    assert following["changes"]["CLAIMED"] == 1
    assert [b["phone_number"] for b in estate.received() if b["event_type"] == "NUMBER_CHANGE"] == [
        number(77, a).number
    ]


def test_a_finished_run_invoked_again_after_later_runs_still_scans_nothing() -> None:
    # Given a finished night, then the next night (which took the lease since), with a claim between
    estate = Estate()
    a_release_and_a_claim_overnight(estate)
    run_id = str(uuid.uuid4())
    first = estate.night(run_id=run_id)
    estate.received()
    estate.night()
    a = instance("a")
    estate.connect.add(a, number(78, a))
    # When the first night's run id comes again (a state machine redriven days later)
    again = estate.invoked_again(run_id)
    # Then it scans and reports nothing, and answers with its recorded summary
    assert again["replayed"] is True and again["changes"] == first["changes"]


def test_a_replay_that_died_holding_the_lease_is_replayed_again_not_scanned() -> None:
    # Given a finished night, then a replay of it that died holding the lease it took (a timeout)
    estate = Estate()
    a_release_and_a_claim_overnight(estate)
    run_id = str(uuid.uuid4())
    first = estate.night(run_id=run_id)
    estate.received()
    replay_start = datetime.now(UTC)
    estate.store.lease[ACCOUNT] = (run_id, replay_start + timedelta(minutes=15), replay_start)
    a = instance("a")
    estate.connect.add(a, number(79, a))
    # When Lambda retries that replay (it resumes the lease, but not the run's start time)
    again = estate.invoked_again(run_id)
    # Then it is a replay again: nothing scanned, nothing reported under the old run's time
    assert again["replayed"] is True and again["changes"] == first["changes"]


def test_a_run_invoked_again_after_a_later_run_reported_it_interrupted_tells_its_changes_once() -> None:
    # Given a night that died once its snapshot was written, and the next night, which reported it
    estate = Estate()
    a_release_and_a_claim_overnight(estate)
    run_id = str(uuid.uuid4())
    with pytest.raises(Crash):
        estate.night(run_id=run_id, checkpoint=crash_at("after_snapshot_write"))
    estate.store.lease.clear()  # its lease lapsed
    estate.night()
    assert changes(estate.received()) == Counter({"RELEASED": 1, "CLAIMED": 1})
    assert estate.store.run_status(ACCOUNT, run_id) is RunStatus.INTERRUPTED
    # When the dead night's run id comes again (a redriven step)
    again = estate.invoked_again(run_id)
    # Then it scans and tells nothing, and says what the run wrote
    assert again["replayed"] is True and again["status"] == "INTERRUPTED" and again["account"] == ACCOUNT
    assert (again["changes"]["RELEASED"], again["changes"]["CLAIMED"]) == (1, 1)


def test_a_finished_run_invoked_again_publishes_what_it_left_unsent() -> None:
    # Given a night whose messages SNS could not take, that finished and released its lease
    estate = Estate()
    a_release_and_a_claim_overnight(estate)
    estate.publisher.down = True
    run_id = str(uuid.uuid4())
    first = estate.night(run_id=run_id)
    assert first["messages_pending"] > 0 and estate.received() == []
    # When SNS is back and the same invocation comes again
    estate.publisher.down = False
    again = estate.night(run_id=run_id)
    # Then what it left unsent goes out, once, and nothing is pending
    assert changes(estate.received()) == Counter({"RELEASED": 1, "CLAIMED": 1})
    assert again["messages_pending"] == 0 and again["replayed"] is True


def test_an_edit_of_an_empty_description_to_none_is_no_change() -> None:
    estate = Estate()
    a = instance("a")
    quiet = number(1, a)
    neighbours = [n for n in numbers(400, a, start=10) if n.arn != quiet.arn]
    baseline(estate, (a, [quiet, *neighbours]))
    # The API answers "" where it answered nothing before; a neighbour in every bucket changes
    estate.connect.numbers[a.arn][quiet.arn] = PhoneNumber.from_summary(
        {**quiet.as_summary(), "PhoneNumberDescription": ""}
    )
    for neighbour in neighbours:
        estate.connect.numbers[a.arn][neighbour.arn] = dataclasses.replace(neighbour, description="edited")
    summary = estate.night()
    assert summary["changes"]["UPDATED"] == len(neighbours)
    assert quiet.number not in [e["phone_number"] for e in estate.received() if e["event_type"] == "NUMBER_CHANGE"]


# ------------------------------------------------------------------ runs too short for the estate
def listing_takes(estate: Estate, seconds: int) -> Callable[[], int]:
    """A Lambda clock on which each target's listing takes `seconds` of the 900 (a huge estate at our pace)."""
    estate.connect.listed.clear()
    return lambda: 900_000 - seconds * 1000 * len(estate.connect.listed)


def test_a_run_that_cannot_list_every_target_writes_what_it_saw_and_the_next_starts_with_the_rest() -> None:
    # Given a baseline of three instances, then one claim on each
    estate = Estate()
    a, b, c = instance("a"), instance("b"), instance("c")
    baseline(estate, (a, numbers(3, a, start=10)), (b, numbers(3, b, start=20)), (c, numbers(3, c, start=30)))
    for index, target in enumerate((a, b, c)):
        estate.connect.add(target, number(40 + index, target))
    # When each listing takes 420 s: after two, the time left is kept for writing
    summary = estate.night(remaining_ms=listing_takes(estate, 420))
    # Then the two claims seen are reported, and the third target is left for the next run
    assert summary["status"] == "PARTIAL"
    assert summary["changes"]["CLAIMED"] == 2 and summary["resume_with"] == [c.arn]
    assert changes(estate.received()) == Counter({"CLAIMED": 2})
    # And the next run, as short, starts with it
    summary = estate.night(remaining_ms=listing_takes(estate, 420))
    assert estate.connect.listed[0] == c.arn
    assert summary["changes"]["CLAIMED"] == 1 and summary["resume_with"] == [b.arn]
    # And with time enough nothing is left to report
    assert estate.night()["changes"] == {"CLAIMED": 0, "RELEASED": 0, "MOVED": 0, "UPDATED": 0}


def test_an_instance_deleted_is_reported_even_on_nights_too_short_for_the_estate() -> None:
    # Given four instances recorded, then one deleted with its numbers, its Region's other targets listed
    estate = Estate()
    a, b, c, gone = instance("a"), instance("b"), instance("c"), instance("d", region="us-west-2")
    west = [number(40 + i, gone, region="us-west-2") for i in range(3)]
    baseline(estate, (a, numbers(3, a, start=10)), (b, numbers(3, b, start=20)), (c, numbers(3, c, start=30)),
             (gone, west))  # fmt: skip
    estate.connect.targets["us-west-2"].remove(gone)
    for released in west:
        estate.connect.release(released)
    # When a night too short to list every us-east-1 target runs
    summary = estate.night(remaining_ms=listing_takes(estate, 420))
    # Then the us-west-2 instance's numbers are released (that Region was seen whole), though the run is partial
    assert summary["status"] == "PARTIAL" and summary["resume_with"]
    assert changes(estate.received()) == Counter({"RELEASED": 3})


def test_a_run_limited_to_named_targets_leaves_the_targets_not_reached_first_in_line() -> None:
    # Given a night too short for the third of three targets
    estate = Estate()
    a, b, c = instance("a"), instance("b"), instance("c")
    baseline(estate, (a, numbers(3, a, start=10)), (b, numbers(3, b, start=20)), (c, numbers(3, c, start=30)))
    assert estate.night(remaining_ms=listing_takes(estate, 420))["resume_with"] == [c.arn]
    # When someone runs a scan of the first target alone, then the next short night runs
    estate.night(targets=[a.arn])
    estate.night(remaining_ms=listing_takes(estate, 420))
    # Then that night lists the target left behind first
    assert estate.connect.listed[0] == c.arn


def test_a_baseline_too_large_for_one_run_completes_over_two() -> None:
    # Given three instances never scanned, each listing taking 420 s of the 900
    estate = Estate()
    a, b, c = instance("a"), instance("b"), instance("c")
    for index, target in enumerate((a, b, c)):
        estate.connect.add(target, *numbers(3, target, start=10 * index))
    # When the first run records two of them and the second the third (first), then another of the two
    first = estate.night(remaining_ms=listing_takes(estate, 420))
    assert (first["mode"], first["status"], first["resume_with"]) == ("BASELINE", "PARTIAL", [c.arn])
    assert [b for b in estate.received() if b["event_type"] == "BASELINE"] == []
    second = estate.night(remaining_ms=listing_takes(estate, 420))
    # Then the baseline is complete after the second, its summary counting every target once
    (summary,) = [b for b in estate.received() if b["event_type"] == "BASELINE"]
    assert second["mode"] == "BASELINE" and summary["numbers"] == 9 and len(summary["targets"]) == 3
    # And the next night reports changes
    estate.connect.add(b, number(99, b))
    assert estate.night()["changes"]["CLAIMED"] == 1
