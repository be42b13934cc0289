"""AWS as it is, not as moto is: eventually consistent indexes and reads, listings that change while the
scan pages through them, poison messages, releases confirmed before they are reported.

Every test runs against the local stack with its weaker guarantees on (the `stack` fixture lags every
index by 40 writes and every eventually consistent read by 3); some lag further. Each is named after the
review finding it proves fixed.
"""

from __future__ import annotations

import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest

from localaws.control import StackControl
from localaws.lambda_runtime import ACCOUNT, Deployment
from numberwatch.adapters.dynamodb import DynamoSnapshotStore
from numberwatch.events import OutboxMessage
from numberwatch.models import EventType
from numberwatch.ports import PutMessage
from tests.integration.test_reliability import NO_CHANGE, baseline, changes, events_of, scan
from tests.support.estate import HOME, WEST, Estate

NEVER = 10**9  # writes: an index that never catches up during the test


def received_ids(bodies: list[dict[str, Any]]) -> Counter[str]:
    return Counter(b["event_id"] for b in bodies if b["event_type"] in ("NUMBER_CHANGE", "NUMBER_FINDING"))


# ------------------------------------------------------------------ 1, 2: the outbox and the digest
def test_finding_1_no_change_is_published_twice_when_the_outbox_index_lags(
    stack: StackControl, estate: Estate, deployment: Deployment
) -> None:
    # Given a baseline, then 30 claims and a release, and an outbox index that shows nothing new tonight
    target = estate.instance("a")
    held = estate.claim(target["Arn"], 12)
    baseline(deployment)
    estate.claim(target["Arn"], 30)
    estate.release(held[0])
    stack.eventual_consistency(index_lag_writes=NEVER, base_lag_writes=3)
    # When the run publishes, and the next night runs with the index caught up
    scan(deployment)
    first = events_of(deployment)
    stack.settle()
    scan(deployment)
    second = events_of(deployment)
    # Then every change went out once, the digest once, and nothing again the next night
    assert Counter(b["change_type"] for b in changes(first)) == {"CLAIMED": 30, "RELEASED": 1}
    assert set(received_ids(first).values()) == {1}
    assert [b["event_type"] for b in first].count("DIGEST") == 1
    assert received_ids(second) == Counter() and [b for b in second if b["event_type"] == "DIGEST"] == []


def test_finding_2_the_digest_counts_every_change_though_reads_lag(
    stack: StackControl, estate: Estate, deployment: Deployment
) -> None:
    target = estate.instance("a")
    estate.claim(target["Arn"], 5)
    baseline(deployment)
    estate.claim(target["Arn"], 25)
    stack.eventual_consistency(index_lag_writes=NEVER, base_lag_writes=NEVER)
    summary = scan(deployment)
    (digest,) = [b for b in events_of(deployment, deployment.people_queue) if b["event_type"] == "DIGEST"]
    assert summary["changes"]["CLAIMED"] == 25 and digest["counts"]["CLAIMED"] == 25


# ------------------------------------------------------------------ 3: a poison message
def test_finding_3_a_message_sns_refuses_is_set_aside_and_the_others_go(
    stack: StackControl, estate: Estate, deployment: Deployment
) -> None:
    # Given an earlier run left 12 messages unsent, the oldest of which SNS refuses (too big: our fault)
    estate.claim(estate.instance("a")["Arn"], 2)
    baseline(deployment)
    store = DynamoSnapshotStore(boto3.client("dynamodb"), deployment.table)
    owner = str(uuid.uuid4())
    now = datetime.now(UTC)
    store.acquire_lease(ACCOUNT, owner, now, now + timedelta(minutes=5))
    left = [
        OutboxMessage(f"left-{i:02d}", EventType.DIGEST, "earlier-run", f"2026-11-27T06:00:{i:02d}Z",
                      {"event_type": "DIGEST", "n": i, "pad": "x" * (300_000 if i == 0 else 10)}, "text",
                      subject="an earlier digest", attributes={"account": ACCOUNT})
        for i in range(12)
    ]  # fmt: skip
    store.write(ACCOUNT, owner, [PutMessage(m) for m in left])
    store.release_lease(ACCOUNT, owner)
    stack.settle()
    # When the next run publishes its leftovers
    summary = scan(deployment)
    # Then the eleven others went, the refused one is set aside, listed by id, and counted
    published = [b for b in events_of(deployment) if b.get("n") is not None]
    assert sorted(b["n"] for b in published) == list(range(1, 12))
    assert summary["messages_set_aside"] == ["left-00"] and summary["messages_pending"] == 0
    # And it never blocks a later run, nor is it sent again
    stack.settle()
    summary = scan(deployment)
    assert summary["messages_set_aside"] == [] and events_of(deployment) == []


# ------------------------------------------------------------------ 4, 5: releases confirmed
def test_finding_4_a_number_moved_behind_the_scan_is_one_move_not_a_release(
    stack: StackControl, estate: Estate, deployment: Deployment
) -> None:
    # Given two instances, A listed before B (the scan lists targets in ARN order)
    first, second = sorted([estate.instance("a"), estate.instance("b")], key=lambda t: t["Arn"])
    estate.claim(first["Arn"], 3)
    mover, *_ = estate.claim(second["Arn"], 3)
    baseline(deployment)
    # When, after A is listed and before B is, a number moves from B to A: it is on neither listing
    stack.add_listing_change(on_call=1, action="move", listing_target=second["Arn"], phone_number_id=mover.id,
                             target_arn=first["Arn"])  # fmt: skip
    summary = scan(deployment)
    # Then it is one MOVED (DescribePhoneNumber said where it is), never a release
    assert summary["changes"] == {**NO_CHANGE, "MOVED": 1}
    (moved,) = changes(events_of(deployment))
    assert (moved["before"]["TargetArn"], moved["after"]["TargetArn"]) == (second["Arn"], first["Arn"])
    # And the next night, which lists it on A, is quiet
    assert scan(deployment)["changes"] == NO_CHANGE


def test_finding_4_a_number_invisible_while_its_move_is_in_progress_is_deferred_then_one_move(
    stack: StackControl, estate: Estate, deployment: Deployment
) -> None:
    # Given two instances, and a Connect that lists a number on no target while its move is IN_PROGRESS
    first, second = sorted([estate.instance("a"), estate.instance("b")], key=lambda t: t["Arn"])
    estate.claim(first["Arn"], 2)
    mover, *_ = estate.claim(second["Arn"], 2)
    baseline(deployment)
    stack.settings(hide_in_progress_moves=True, async_delay_seconds=3600)
    # When the number starts moving from B to A and the night's scan runs before the move ends
    stack.console_change("move", phone_number_id=mover.id, target_arn=first["Arn"])
    summary = scan(deployment)
    # Then nothing is reported: DescribePhoneNumber says IN_PROGRESS, so its release waits
    assert summary["changes"] == NO_CHANGE
    assert summary["releases_deferred"] == 1
    assert changes(events_of(deployment)) == []
    # And once the move has ended, the next night reports it as one MOVED from B to A
    assert stack.complete_pending() == 1
    stack.settle()
    summary = scan(deployment)
    assert summary["changes"] == {**NO_CHANGE, "MOVED": 1}
    (moved,) = changes(events_of(deployment))
    assert (moved["before"]["TargetArn"], moved["after"]["TargetArn"]) == (second["Arn"], first["Arn"])
    # And the night after is quiet
    stack.settle()
    assert scan(deployment)["changes"] == NO_CHANGE


def test_finding_5_a_number_moved_to_a_region_not_scanned_is_a_move_not_a_release(
    estate: Estate, deployment: Deployment
) -> None:
    # Given only us-east-1 is scanned, and a TDG spanning it and us-west-2 holds numbers claimed from both
    primary = estate.instance("primary")
    group = estate.replicate(primary)
    west_instance = estate.instance("west", region=WEST)
    from_west, *_ = estate.claim(group["Arn"], 3, region=WEST)
    estate.claim(group["Arn"], 3)
    scan(deployment, SCAN_REGIONS=HOME)
    deployment.received(deployment.machines_queue)
    # When a number of the TDG claimed from us-west-2 moves to an instance there (never listed)
    estate.move(from_west, west_instance["Arn"])
    summary = scan(deployment, SCAN_REGIONS=HOME)
    # Then it is a MOVED to that instance, not a release
    assert summary["changes"] == {**NO_CHANGE, "MOVED": 1}
    (moved,) = changes(events_of(deployment))
    assert moved["after"]["TargetArn"] == west_instance["Arn"]
    assert scan(deployment, SCAN_REGIONS=HOME)["changes"] == NO_CHANGE


# ------------------------------------------------------------------ 6: discovery
def test_finding_6_tdgs_that_hold_no_number_are_not_targets_and_defer_nothing(
    stack: StackControl, estate: Estate, deployment: Deployment
) -> None:
    primary = estate.instance("primary")
    estate.replicate(primary)
    failed = estate.tdg(primary, "never-made")
    stack.set_tdg_status(failed["Arn"], "CREATION_FAILED")
    doomed = estate.tdg(primary, "being-deleted")
    stack.set_tdg_status(doomed["Arn"], "PENDING_DELETION")
    numbers = estate.claim(primary["Arn"], 4)
    baseline(deployment)
    estate.release(numbers[0])
    summary = scan(deployment)
    assert summary["targets_unobserved"] == [] and summary["status"] == "COMPLETED"
    assert summary["changes"] == {**NO_CHANGE, "RELEASED": 1}


# ------------------------------------------------------------------ 7: an empty description
@pytest.mark.slow
def test_finding_7_a_description_set_to_empty_is_no_change_when_a_neighbour_reloads_its_bucket(
    estate: Estate, deployment: Deployment
) -> None:
    target = estate.instance("a")
    numbers = estate.claim(target["Arn"], 300)
    baseline(deployment)
    estate.clients[HOME].update_phone_number_metadata(PhoneNumberId=numbers[0].id, PhoneNumberDescription="")
    for neighbour in numbers[1:]:
        estate.describe(neighbour, "edited")
    summary = scan(deployment)
    assert summary["changes"] == {**NO_CHANGE, "UPDATED": 299}
    assert numbers[0].e164 not in [e["phone_number"] for e in changes(events_of(deployment))]


# ------------------------------------------------------------------ 9: one alert
def test_finding_9_an_estate_wide_outage_is_one_mass_release_alert(estate: Estate, deployment: Deployment) -> None:
    targets = [estate.instance(f"t{i}") for i in range(4)]
    claimed = [estate.claim(t["Arn"], 15) for t in targets]
    baseline(deployment)
    for numbers in claimed:
        estate.release(*numbers[:12])
    summary = scan(deployment)
    assert summary["releases_held"] == 48
    alerts = [b for b in events_of(deployment, deployment.people_queue) if b["event_type"] == "SUSPECTED_MASS_RELEASE"]
    assert len(alerts) == 1 and sorted(t["target_arn"] for t in alerts[0]["targets"]) == sorted(
        t["Arn"] for t in targets
    )
    assert alerts[0]["missing"] == 48
