"""No false release, no lost or duplicated alert: faults, throttling, crashes, retries, overlaps.

The scan runs against the local stack; faults come from the Connect emulator's control API and
crashes from a kill switch handed to the service (its `checkpoint` hook)."""

from __future__ import annotations

import json
import os
import uuid
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest

from localaws.aws_calls import AWS_CALLS
from localaws.control import StackControl
from localaws.demo import seed_demo_estate
from localaws.lambda_runtime import ACCOUNT, Deployment
from localaws.template import ROOT
from numberwatch.dependencies import build_scan_service
from numberwatch.ports import LeaseLost
from numberwatch.request import parse_scan_request
from numberwatch.run import RunContext, utc_now
from numberwatch.settings import Settings
from tests.support.estate import HOME, WEST, Estate, Number
from tests.support.kill_switch import Crash, crash_at

FAST = {"CONNECT_REQUESTS_PER_SECOND": "100", "CONNECT_MAX_ATTEMPTS": "2"}
SCHEDULED = json.loads((ROOT / "events" / "scheduled.json").read_text())
NO_CHANGE = {"CLAIMED": 0, "RELEASED": 0, "MOVED": 0, "UPDATED": 0}


def scan(
    deployment: Deployment,
    run_id: str | None = None,
    checkpoint: Callable[[str], None] | None = None,
    remaining_ms: Callable[[], int] = lambda: 900_000,
    now: Callable[[], datetime] = utc_now,
    event: dict[str, Any] | None = None,
    **overrides: str,
) -> dict[str, Any]:
    """One run of the real service with the deployment's settings, a kill switch and a clock."""
    settings = Settings.from_environment({**os.environ, **deployment.env, **FAST, **overrides})
    service = build_scan_service(settings, remaining_ms, **({"checkpoint": checkpoint} if checkpoint else {}))
    context = RunContext(run_id=run_id or str(uuid.uuid4()), remaining_ms=remaining_ms, now=now)
    return service.run(parse_scan_request(event or SCHEDULED), context).model_dump(mode="json")


def events_of(deployment: Deployment, queue: str | None = None) -> list[dict[str, Any]]:
    return [m["body"] for m in deployment.received(queue or deployment.machines_queue)]


def changes(bodies: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [b for b in bodies if b["event_type"] == "NUMBER_CHANGE"]


def baseline(deployment: Deployment) -> None:
    scan(deployment)
    deployment.received(deployment.machines_queue)
    deployment.received(deployment.people_queue)


# ------------------------------------------------------------------ failure isolation
def test_a_target_that_cannot_be_listed_is_carried_forward_and_named(
    stack: StackControl, estate: Estate, deployment: Deployment
) -> None:
    # Given a baseline of two instances
    denied, healthy = estate.instance("denied"), estate.instance("healthy")
    on_denied = estate.claim(denied["Arn"], 6)
    estate.claim(healthy["Arn"], 3)
    baseline(deployment)
    # When one is denied to us, and overnight a number moves from it to the other, one is released
    stack.add_fault(operation="ListPhoneNumbersV2", target=denied["Arn"], error="AccessDeniedException")
    estate.move(on_denied[0], healthy["Arn"])
    estate.release(on_denied[1])
    summary = scan(deployment)
    # Then nothing is reported released: its numbers are carried forward; the move is a MOVE
    assert summary["status"] == "PARTIAL"
    assert summary["changes"] == {**NO_CHANGE, "MOVED": 1}
    (unobserved,) = summary["targets_unobserved"]
    assert unobserved["target_arn"] == denied["Arn"]
    assert "AccessDeniedException" in unobserved["reason"]
    (moved,) = changes(events_of(deployment))
    assert moved["change_type"] == "MOVED" and moved["before"]["TargetArn"] == denied["Arn"]
    # And people hear of the unobserved target in the digest
    (digest,) = deployment.received(deployment.people_queue)
    assert "1 target not observed" in digest["subject"]
    assert digest["body"]["unobserved_targets"][0]["target_arn"] == denied["Arn"]
    # And once the target is readable again, the release is reported, once
    stack.clear_faults()
    summary = scan(deployment)
    assert summary["changes"] == {**NO_CHANGE, "RELEASED": 1}
    assert [e["phone_number"] for e in changes(events_of(deployment))] == [on_denied[1].e164]


def test_a_quiet_night_with_an_unobserved_target_still_tells_people(
    stack: StackControl, estate: Estate, deployment: Deployment
) -> None:
    target = estate.instance("only")
    estate.claim(target["Arn"], 2)
    baseline(deployment)
    stack.add_fault(operation="ListPhoneNumbersV2", target=target["Arn"], error="InternalServiceException")
    summary = scan(deployment)
    assert summary["changes"] == NO_CHANGE
    (digest,) = deployment.received(deployment.people_queue)
    assert digest["subject"] == f"Connect numbers: no change, 1 target not observed in {ACCOUNT}"


@pytest.mark.parametrize("error", ["InternalServiceException", "ResourceNotFoundException"])
def test_a_listing_that_fails_mid_scan_releases_nothing(
    stack: StackControl, estate: Estate, deployment: Deployment, error: str
) -> None:
    target = estate.instance("flaky")
    numbers = estate.claim(target["Arn"], 4)
    baseline(deployment)
    estate.release(*numbers)
    stack.add_fault(operation="ListPhoneNumbersV2", target=target["Arn"], error=error)
    summary = scan(deployment)
    assert summary["changes"] == NO_CHANGE
    assert error in summary["targets_unobserved"][0]["reason"]
    assert changes(events_of(deployment)) == []


def test_when_list_instances_fails_in_a_region_all_its_targets_are_unobserved(
    stack: StackControl, estate: Estate, deployment: Deployment
) -> None:
    east, west = estate.instance("east"), estate.instance("west", region=WEST)
    estate.claim(east["Arn"], 2)
    on_west = estate.claim(west["Arn"], 3)
    baseline(deployment)
    estate.release(on_west[0])
    estate.clients[WEST].delete_instance(InstanceId=west["Id"])
    stack.add_fault(operation="ListInstances", region=WEST, error="InternalServiceException")
    summary = scan(deployment)
    assert summary["changes"] == NO_CHANGE
    assert [u["target_arn"] for u in summary["targets_unobserved"]] == [west["Arn"]]
    assert "discovery incomplete in us-west-2" in summary["targets_unobserved"][0]["reason"]
    assert summary["releases_held"] == 0


# ------------------------------------------------------------------ throttling
@pytest.mark.slow
def test_under_the_default_quota_and_injected_throttling_every_target_is_observed(
    stack: StackControl, deployment: Deployment
) -> None:
    # Given the demo estate, Connect's default quota (2/s, burst 5) and the first three listings throttled
    estate = seed_demo_estate(stack.endpoint_url)
    stack.set_quotas(enabled=True, rate=2, burst=5, unlimited_access_keys=[])
    stack.add_fault(operation="ListPhoneNumbersV2", error="ThrottlingException", times=3)
    stack.clear_requests()
    # When the scan runs at its default pace (half the quota) with adaptive retries
    summary = scan(deployment, CONNECT_REQUESTS_PER_SECOND="1", CONNECT_MAX_ATTEMPTS="8")
    # Then every target is observed and the baseline is complete
    assert summary["targets_unobserved"] == []
    assert summary["numbers_observed"] == estate.total()
    assert summary["status"] == "COMPLETED" and summary["mode"] == "BASELINE"
    log = stack.requests()["operations"]
    assert log["ListPhoneNumbersV2"]["faulted"] == 3
    assert sum(op["throttled"] for op in log.values()) == 0  # our own pace never met the quota


@pytest.mark.slow
def test_under_connects_default_quota_two_regions_read_in_parallel_are_never_throttled(
    stack: StackControl, estate: Estate, deployment: Deployment
) -> None:
    # Given eight instances with a number each in each of two Regions, and Connect's default quota on:
    # 2 requests a second with a burst of 5, per account, Region and API (unpaced, the eight
    # ListTrafficDistributionGroups of a Region at once would be throttled)
    for region in (HOME, WEST):
        for index in range(8):
            estate.claim(estate.instance(f"pace-{region}-{index}", region)["Arn"], 1)
    stack.set_quotas(enabled=True, rate=2, burst=5, unlimited_access_keys=[])
    stack.clear_requests()
    # When the scan runs at its default pace (1 a second, burst 4, per Region and API), the Regions in
    # parallel and each Region's instances several at a time, with no retry to absorb a throttle (one
    # would leave its target unobserved)
    summary = scan(deployment, CONNECT_REQUESTS_PER_SECOND="1", CONNECT_MAX_ATTEMPTS="1")  # the burst: its default
    # Then every target of both Regions is observed and Connect throttled nothing
    assert summary["targets_unobserved"] == [] and summary["numbers_observed"] == 16
    log = stack.requests(entries=True)
    assert sum(op["throttled"] for op in log["operations"].values()) == 0
    # And each Region's listings went out alongside the other Region's, not after them
    listings = [e["region"] for e in log["entries"] if e["operation"] == "ListPhoneNumbersV2"]
    assert Counter(listings) == {HOME: 8, WEST: 8}
    last_of = {region: len(listings) - 1 - listings[::-1].index(region) for region in (HOME, WEST)}
    assert listings.index(WEST) < last_of[HOME] and listings.index(HOME) < last_of[WEST]


# ------------------------------------------------------------------ crashes and retries
KILL_POINTS = ["after_diff", "between_transactions", "after_snapshot_write", "published_batch", "after_publish"]


def overnight(estate: Estate) -> tuple[dict[str, str], dict[str, str], list[Number], list[Number], set[str]]:
    a, b = estate.instance("alpha"), estate.instance("bravo")
    on_a, on_b = estate.claim(a["Arn"], 20), estate.claim(b["Arn"], 20)
    return a, b, on_a, on_b, set()


def make_changes(estate: Estate, a: dict[str, str], b: dict[str, str], on_a: list[Number], on_b: list[Number]) -> int:
    """60 claims (two transactions for one target), 3 releases, 1 move, 1 edit: 65 changes."""
    estate.claim(a["Arn"], 60)
    estate.release(*on_b[:3])
    estate.move(on_b[3], a["Arn"])
    estate.describe(on_a[0], "edited")
    return 65


@pytest.mark.parametrize("step", KILL_POINTS)
@pytest.mark.parametrize("recovery", ["lambda retry", pytest.param("next night", marks=pytest.mark.slow)])
def test_a_run_killed_at_any_step_loses_and_repeats_nothing(
    stack: StackControl, estate: Estate, deployment: Deployment, step: str, recovery: str
) -> None:
    # Given a baseline, then 65 changes overnight
    a, b, on_a, on_b, _ = overnight(estate)
    baseline(deployment)
    expected = make_changes(estate, a, b, on_a, on_b)
    # When the run dies at `step`
    crashed_run = str(uuid.uuid4())
    with pytest.raises(Crash):
        scan(deployment, run_id=crashed_run, checkpoint=crash_at(step))
    # And is retried by Lambda (same request id), or replaced by the next night's run after its lease lapsed
    if recovery == "lambda retry":
        summary = scan(deployment, run_id=crashed_run)
    else:
        stack.settle()  # a night passes: the outbox index has long caught up
        tomorrow = utc_now() + timedelta(days=1)
        summary = scan(deployment, now=lambda: tomorrow)
    assert summary["status"] == "COMPLETED"
    # Then subscribers received every change, with at most the one in-flight batch twice
    bodies = events_of(deployment)
    received = Counter(e["event_id"] for e in changes(bodies))
    assert len(received) == expected
    assert sum(received.values()) - expected <= (10 if step == "published_batch" else 0)
    assert Counter(e["change_type"] for e in {e["event_id"]: e for e in changes(bodies)}.values()) == {
        "CLAIMED": 60, "RELEASED": 3, "MOVED": 1, "UPDATED": 1,
    }  # fmt: skip
    # And every change is in exactly one digest
    digests = {d["run_id"]: d for d in bodies if d["event_type"] == "DIGEST"}
    assert sum(sum(d["counts"].values()) for d in digests.values()) == expected
    if recovery == "lambda retry":
        # And the retried run's summary counts them all, those its first attempt wrote included
        assert sum(summary["changes"].values()) == expected
    # And a further night is quiet
    assert scan(deployment)["changes"] == NO_CHANGE
    assert changes(events_of(deployment)) == []


def test_event_ids_repeat_for_a_resend_and_differ_for_a_genuine_back_and_forth(
    estate: Estate, deployment: Deployment
) -> None:
    a, b = estate.instance("a"), estate.instance("b")
    (number,) = estate.claim(a["Arn"], 1)
    estate.claim(b["Arn"], 1)
    baseline(deployment)
    ids = []
    for target in (b, a, b):
        estate.move(number, target["Arn"])
        scan(deployment)
        (moved,) = changes(events_of(deployment))
        ids.append(moved["event_id"])
    assert len(set(ids)) == 3


# ------------------------------------------------------------------ overlapping runs
def test_a_run_finding_a_live_lease_exits_cleanly(estate: Estate, deployment: Deployment) -> None:
    estate.claim(estate.instance("a")["Arn"], 2)
    holder = str(uuid.uuid4())
    with pytest.raises(Crash):
        scan(deployment, run_id=holder, checkpoint=crash_at("after_diff"))
    summary = scan(deployment)
    assert summary["status"] == "SKIPPED"
    assert holder in summary["message"]
    assert deployment.received(deployment.machines_queue) == []
    # A dry run takes no lease, so it still works, and writes nothing
    before = deployment.items()
    dry = scan(deployment, event={"source": "manual", "dry_run": True})
    assert dry["status"] == "DRY_RUN" and dry["mode"] == "BASELINE"
    assert deployment.items() == before
    # The crashed run's own retry takes its lease back and finishes
    assert scan(deployment, run_id=holder)["status"] == "COMPLETED"


def steal_lease_at(table: str, step: str) -> Callable[[str], None]:
    """A kill switch of another kind: at `step`, another run takes the lease."""

    def checkpoint(name: str) -> None:
        if name == step:
            boto3.client("dynamodb").put_item(
                TableName=table,
                Item={
                    "PK": {"S": f"LEASE#{ACCOUNT}"},
                    "SK": {"S": "LEASE"},
                    "owner": {"S": "usurper"},
                    "expires_at": {"N": str(int(datetime.now(UTC).timestamp()) + 900)},
                    "started_at": {"S": datetime.now(UTC).isoformat()},
                },
            )

    return checkpoint


def test_a_run_that_lost_its_lease_cannot_write(estate: Estate, deployment: Deployment) -> None:
    # Given a baseline, then 3 numbers claimed overnight
    instance = estate.instance("a")
    estate.claim(instance["Arn"], 2)
    baseline(deployment)
    claimed = estate.claim(instance["Arn"], 3)
    before = deployment.items()
    # When another run takes the lease once this run has decided what changed
    with pytest.raises(LeaseLost):
        scan(deployment, checkpoint=steal_lease_at(deployment.table, "after_diff"))
    # Then it wrote nothing after: no number, no message, no bucket or target record, no finished run
    written = [i for i in deployment.items() if i not in before and i["PK"]["S"] != f"LEASE#{ACCOUNT}"]
    assert [(i["PK"]["S"].split("#")[0], i["status"]["S"]) for i in written] == [("RUN", "RUNNING")]
    assert not {f"NUM#{n.arn}" for n in claimed} & {i["PK"]["S"] for i in deployment.items()}


def test_a_baseline_that_lost_its_lease_while_listing_writes_no_further_page(
    stack: StackControl, estate: Estate, deployment: Deployment
) -> None:
    # Given a target of 2,500 numbers (3 pages): a baseline writes each page as it is listed
    instance = estate.instance("big")
    stack.seed(account=ACCOUNT, region=HOME, target_arn=instance["Arn"], count=2500)
    # When another run takes the lease once the first page is written
    with pytest.raises(LeaseLost):
        scan(deployment, checkpoint=steal_lease_at(deployment.table, "baseline_page_written"))
    # Then only the first page was written: nothing after the lease was lost
    numbers = [i for i in deployment.items() if i["PK"]["S"].startswith("NUM#")]
    assert len(numbers) == 1000


# ------------------------------------------------------------------ mass-release guard
def test_a_mass_release_is_held_and_alerted_then_confirmed_by_the_next_run(
    estate: Estate, deployment: Deployment
) -> None:
    target = estate.instance("big")
    numbers = estate.claim(target["Arn"], 30)
    baseline(deployment)
    estate.release(*numbers[:20])
    summary = scan(deployment)
    assert summary["releases_held"] == 20
    assert summary["changes"] == NO_CHANGE
    people = deployment.received(deployment.people_queue)
    alert = next(m for m in people if m["body"]["event_type"] == "SUSPECTED_MASS_RELEASE")
    assert alert["body"]["missing"] == 20
    assert [(t["target_arn"], t["missing"], t["of_total"]) for t in alert["body"]["targets"]] == [
        (target["Arn"], 20, 30)
    ]
    assert alert["subject"] == f"ALERT Connect numbers: 20 missing from 1 target(s) in {ACCOUNT}"
    assert changes(events_of(deployment)) == []
    # The next run confirms: the releases are reported then, once
    summary = scan(deployment)
    assert summary["changes"] == {**NO_CHANGE, "RELEASED": 20}
    assert len(changes(events_of(deployment))) == 20
    assert scan(deployment)["changes"] == NO_CHANGE


def test_small_releases_are_reported_at_once(estate: Estate, deployment: Deployment) -> None:
    target = estate.instance("small")
    numbers = estate.claim(target["Arn"], 12)
    baseline(deployment)
    estate.release(*numbers[:8])
    summary = scan(deployment)
    assert summary["changes"] == {**NO_CHANGE, "RELEASED": 8}
    assert summary["releases_held"] == 0


def test_a_target_no_longer_listed_is_guarded_too(estate: Estate, deployment: Deployment) -> None:
    doomed, kept = estate.instance("doomed"), estate.instance("kept")
    estate.claim(doomed["Arn"], 25)
    estate.claim(kept["Arn"], 2)
    baseline(deployment)
    estate.clients[HOME].delete_instance(InstanceId=doomed["Id"])
    summary = scan(deployment)
    assert summary["releases_held"] == 25 and summary["changes"] == NO_CHANGE
    summary = scan(deployment)
    assert summary["changes"] == {**NO_CHANGE, "RELEASED": 25}
    assert not [i for i in deployment.items() if i["SK"]["S"] == f"TGT#{doomed['Arn']}"]


# ------------------------------------------------------------------ Lambda limits
def test_a_run_short_of_time_stops_cleanly_and_the_next_run_finishes(estate: Estate, deployment: Deployment) -> None:
    targets = [estate.instance(f"t{i}") for i in range(4)]
    numbers = [estate.claim(t["Arn"], 5) for t in targets]
    baseline(deployment)
    for group in numbers:
        estate.release(group[0])
    estate.move(numbers[3][1], targets[0]["Arn"])
    AWS_CALLS.clear()

    def remaining_ms() -> int:
        listings = sum(1 for c in AWS_CALLS.of("connect") if c.operation == "ListPhoneNumbersV2")
        return 900_000 if listings < 2 else 10_000  # time runs out after two targets

    summary = scan(deployment, remaining_ms=remaining_ms)
    assert summary["status"] == "PARTIAL"
    assert summary["targets_not_reached"] > 0
    assert summary["changes"]["RELEASED"] == 0  # no release from a cut-short run
    first = changes(events_of(deployment))
    summary = scan(deployment)
    assert summary["status"] == "COMPLETED"
    later = changes(events_of(deployment))
    assert Counter(e["change_type"] for e in first + later) == {"RELEASED": 4, "MOVED": 1}


def test_change_records_are_kept_as_history_for_the_retention_period(
    stack: StackControl, estate: Estate, deployment: Deployment
) -> None:
    target = estate.instance("a")
    numbers = estate.claim(target["Arn"], 2)
    baseline(deployment)
    estate.release(numbers[0])
    scan(deployment, HISTORY_RETENTION_DAYS="500")
    records = [i for i in deployment.items() if i["SK"]["S"].startswith("NUMBER_CHANGE#")]
    assert len(records) == 1
    kept_for = int(records[0]["expires_at"]["N"]) - int(datetime.now(UTC).timestamp())
    assert timedelta(seconds=kept_for) > timedelta(days=499)
    assert "GSI2PK" not in records[0]  # published, so no longer in the outbox
    stack.settle()  # the history index is eventually consistent
    history = boto3.client("dynamodb").query(
        TableName=deployment.table,
        IndexName="NumberHistory",
        KeyConditionExpression="GSI3PK = :pk",
        ExpressionAttributeValues={":pk": {"S": f"NUM#{numbers[0].arn}"}},
    )["Items"]
    assert [json.loads(i["body"]["S"])["change_type"] for i in history] == ["RELEASED"]


def edited_then_released_within_one_second(stack: StackControl, estate: Estate, deployment: Deployment) -> list[Number]:
    """Numbers in a baseline, each edited before a run and released before the next, both runs starting
    within one second (observed_at, the history's time, keeps whole seconds). Eight of them: were their
    records ordered by chance, all eight in order would be one chance in 256."""
    target = estate.instance("a")
    numbers = estate.claim(target["Arn"], 8)
    baseline(deployment)
    # The next whole second: after the baseline's start, where CloudTrail's window for the first run begins
    second = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=1)
    for number in numbers:
        estate.describe(number, "Sales")
    scan(deployment, now=lambda: second)
    for number in numbers:
        estate.release(number)
    scan(deployment, now=lambda: second + timedelta(milliseconds=500))
    stack.settle()  # the history index is eventually consistent
    return numbers


def test_a_number_s_history_keeps_its_order_between_two_runs_of_one_second(
    stack: StackControl, estate: Estate, deployment: Deployment
) -> None:
    # Given numbers edited by one run and released by another of the same second
    numbers = edited_then_released_within_one_second(stack, estate, deployment)
    # When each number's history is read from the index, as the README's command does
    histories = [
        [
            json.loads(i["body"]["S"])["change_type"]
            for i in boto3.client("dynamodb").query(
                TableName=deployment.table,
                IndexName="NumberHistory",
                KeyConditionExpression="GSI3PK = :pk",
                ExpressionAttributeValues={":pk": {"S": f"NUM#{number.arn}"}},
            )["Items"]
        ]
        for number in numbers
    ]
    # Then every one is oldest first: the edit, then the release (by the number's versions, not by chance)
    assert histories == [["UPDATED", "RELEASED"]] * len(numbers)


# ------------------------------------------------------------------ the people's subscription
def test_a_run_says_when_the_people_s_email_subscription_is_gone(
    estate: Estate, deployment: Deployment, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given an alert email subscribed to the topic (the local stack confirms email subscriptions at once)
    sns = boto3.client("sns")
    subscription = sns.subscribe(TopicArn=deployment.topic_arn, Protocol="email", Endpoint="numbers@example.com",
                                 ReturnSubscriptionArn=True)["SubscriptionArn"]  # fmt: skip
    estate.claim(estate.instance("a")["Arn"], 2)
    summary = deployment.invoke(SCHEDULED, ALERT_EMAIL="numbers@example.com", **FAST)
    assert summary["alert_subscription"] == "CONFIRMED"
    # When someone clicks "unsubscribe" in a digest
    sns.unsubscribe(SubscriptionArn=subscription)
    capsys.readouterr()
    summary = deployment.invoke(SCHEDULED, ALERT_EMAIL="numbers@example.com", **FAST)
    # Then the run says so, and the metric the alarm watches is 1
    assert summary["alert_subscription"] == "MISSING"
    emitted = [json.loads(line) for line in capsys.readouterr().out.splitlines() if '"_aws"' in line]
    assert [m["AlertSubscriptionMissing"] for m in emitted if "AlertSubscriptionMissing" in m] == [[1.0]]
