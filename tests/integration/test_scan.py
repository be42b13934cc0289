"""The nightly scan, run as Lambda runs it (template Handler, layer, environment) against the local stack."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest

from localaws.aws_calls import AWS_CALLS
from localaws.control import StackControl
from localaws.lambda_runtime import ACCOUNT, Deployment, cold_start
from localaws.template import ROOT, resource
from numberwatch.archive_format import rows_of
from numberwatch.fingerprint import bucket_of, verified_buckets
from numberwatch.request import InvalidScanRequest, parse_scan_request
from tests.support.estate import HOME, WEST, Estate

FAST = {"CONNECT_REQUESTS_PER_SECOND": "100"}
SCHEDULED = json.loads((ROOT / "events" / "scheduled.json").read_text())


def number_events(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [m["body"] for m in messages if m["body"]["event_type"] == "NUMBER_CHANGE"]


def by_type(events: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    grouped: dict[str, list[dict[str, Any]]] = {}
    for event in events:
        grouped.setdefault(event["change_type"], []).append(event)
    return grouped


def test_the_first_run_records_a_baseline_and_sends_one_summary(estate: Estate, deployment: Deployment) -> None:
    # Given an estate of 25 numbers that the scan has never seen
    primary, branch = estate.instance("primary"), estate.instance("branch")
    estate.claim(primary["Arn"], 15)
    estate.claim(branch["Arn"], 10, country="GB")
    # When the scheduled run comes
    summary = deployment.invoke(SCHEDULED, **FAST)
    # Then it records a baseline, and tells people once, not 25 times
    assert (summary["status"], summary["mode"], summary["baseline_numbers"]) == ("COMPLETED", "BASELINE", 25)
    assert summary["changes"] == {"CLAIMED": 0, "RELEASED": 0, "MOVED": 0, "UPDATED": 0}
    machines = deployment.received(deployment.machines_queue)
    people = deployment.received(deployment.people_queue)
    assert [m["body"]["event_type"] for m in machines] == ["BASELINE"]
    assert [m["subject"] for m in people] == [f"Connect numbers: baseline of 25 numbers in {ACCOUNT}"]
    assert people[0]["body"]["numbers"] == 25


def test_every_change_type_reaches_subscribers_once_with_before_and_after(
    estate: Estate, deployment: Deployment
) -> None:
    # Given a baseline of an instance, a replicated instance with its default TDG, and a second TDG
    primary, branch = estate.instance("primary"), estate.instance("branch")
    default_tdg = estate.replicate(primary)
    numbers = estate.claim(primary["Arn"], 20)
    estate.claim(branch["Arn"], 20)
    estate.claim(default_tdg["Arn"], 5, region=WEST)
    deployment.invoke(SCHEDULED, **FAST)
    deployment.received(deployment.machines_queue)
    deployment.received(deployment.people_queue)
    # When, overnight, 3 numbers are claimed, 2 released, 1 moved to a TDG, 1 described and 1 imported
    claimed = [*estate.claim(branch["Arn"], 2), *estate.claim(default_tdg["Arn"], 1, region=WEST)]
    estate.release(numbers[0], numbers[1])
    estate.move(numbers[2], default_tdg["Arn"])
    estate.describe(numbers[3], "Sales hotline")
    imported = estate.import_number(branch, "phone-imported")
    summary = deployment.invoke(SCHEDULED, **FAST)
    # Then the summary counts each change once
    assert summary["changes"] == {"CLAIMED": 4, "RELEASED": 2, "MOVED": 1, "UPDATED": 1}
    assert summary["mode"] == "INCREMENTAL"
    machines = deployment.received(deployment.machines_queue)
    events = by_type(number_events(machines))
    assert {e["phone_number"] for e in events["CLAIMED"]} == {n.e164 for n in [*claimed, imported]}
    assert {e["phone_number"] for e in events["RELEASED"]} == {numbers[0].e164, numbers[1].e164}
    # And a move is one MOVED event, never a release plus a claim
    (moved,) = events["MOVED"]
    assert moved["phone_number_arn"] == numbers[2].arn
    assert (moved["before"]["TargetArn"], moved["after"]["TargetArn"]) == (primary["Arn"], default_tdg["Arn"])
    assert moved["changed_fields"] == ["TargetArn"]
    (updated,) = events["UPDATED"]
    assert updated["changed_fields"] == ["PhoneNumberDescription"]
    assert (updated["before"].get("PhoneNumberDescription"), updated["after"]["PhoneNumberDescription"]) == (
        None,
        "Sales hotline",
    )
    imported_event = next(e for e in events["CLAIMED"] if e["phone_number"] == imported.e164)
    assert imported_event["after"]["SourcePhoneNumberArn"].endswith("phone-imported")
    released = events["RELEASED"][0]
    assert released["after"] is None and released["target_arn"] == primary["Arn"]
    # And each of the 8 events carries the documented schema and filterable attributes
    change_messages = [m for m in machines if m["body"]["event_type"] == "NUMBER_CHANGE"]
    assert len(change_messages) == 8
    for message in change_messages:
        body = message["body"]
        assert set(body) - {"attribution"} == {
            "schema_version", "event_id", "event_type", "change_type", "phone_number", "phone_number_arn",
            "account", "region", "target_arn", "before", "after", "changed_fields", "actor", "run_id", "observed_at",
        }  # fmt: skip
        # Who made it: every change here was made through the API, so CloudTrail names the caller
        assert body["actor"] is not None and body["actor"]["event_time"].endswith("Z"), body
        assert body["schema_version"] == 1 and body["account"] == ACCOUNT and body["observed_at"].endswith("Z")
        assert message["attributes"] == {
            "event_type": "NUMBER_CHANGE",
            "change_type": body["change_type"],
            "country": (body["after"] or body["before"])["PhoneNumberCountryCode"],
            "number_type": (body["after"] or body["before"])["PhoneNumberType"],
            "account": ACCOUNT,
            "region": body["region"],
        }
    # And people get one digest, claimed and released first, never the per-number events
    people = deployment.received(deployment.people_queue)
    assert [m["subject"] for m in people] == [
        f"Connect numbers: 4 claimed, 2 released, 1 moved, 1 updated in {ACCOUNT}"
    ]
    digest = next(m for m in machines if m["body"]["event_type"] == "DIGEST")
    assert digest["body"]["counts"] == summary["changes"]


def test_email_gets_readable_text_and_sqs_gets_json(
    estate: Estate, deployment: Deployment, stack: StackControl
) -> None:
    primary = estate.instance("primary")
    numbers = estate.claim(primary["Arn"], 3)
    deployment.invoke(SCHEDULED, **FAST)
    estate.release(numbers[0])
    deployment.invoke(SCHEDULED, **FAST)
    published = [
        n
        for topic in stack.moto_data()["sns"]["Topic"]
        if topic["arn"] == deployment.topic_arn
        for n in topic["sent_notifications"]
    ]
    digest = next(json.loads(n[1]) for n in published if "DIGEST" in n[1])
    assert set(digest) == {"default", "email"}
    assert json.loads(digest["default"])["event_type"] == "DIGEST"
    email = digest["email"]
    assert email.splitlines()[0] == f"Amazon Connect phone numbers in account {ACCOUNT}"
    assert "RELEASED (1)" in email and numbers[0].e164 in email


def test_a_quiet_night_reads_only_the_verification_slice_writes_nothing_per_number_publishes_nothing(
    stack: StackControl, estate: Estate, deployment: Deployment
) -> None:
    # Given a baseline of an instance and a TDG, with enough numbers that every bucket holds some
    primary = estate.instance("primary")
    default_tdg = estate.replicate(primary)
    stack.seed(account=ACCOUNT, region=HOME, target_arn=primary["Arn"], count=2_000)
    estate.claim(default_tdg["Arn"], 10)
    deployment.invoke(SCHEDULED, **FAST)
    deployment.received(deployment.machines_queue)
    AWS_CALLS.clear()
    # When nothing changes overnight (and no DescribePhoneNumber is spent on the rotation of details)
    summary = deployment.invoke(SCHEDULED, **FAST, DESCRIBE_CALLS_PER_RUN="0")
    # Then no bucket is reloaded for a change
    assert summary["changes"] == {"CLAIMED": 0, "RELEASED": 0, "MOVED": 0, "UPDATED": 0}
    assert summary["buckets_reloaded"] == 0
    # And what is read back is the lease, the scopes and their targets' records (one small item per
    # target), plus tonight's slice of the rolling verification: its bucket items and their numbers
    verified = verified_buckets(1, int(deployment.env.get("FULL_VERIFICATION_RUNS", "30")))
    dynamodb = AWS_CALLS.of("dynamodb")
    assert {c.params.get("IndexName", "table") for c in dynamodb if c.operation == "Query"} == {"Unsent", "table"}
    scope_queries = [
        c
        for c in dynamodb
        if c.operation == "Query" and c.params["ExpressionAttributeValues"][":pk"]["S"].startswith("SCOPE#")
    ]
    assert sum(len(c.response["Items"]) for c in scope_queries) == summary["targets_scanned"]
    keys_read = [
        (key["PK"]["S"], key["SK"]["S"])
        for c in dynamodb
        if c.operation == "BatchGetItem"
        for request in c.params["RequestItems"].values()
        for key in request["Keys"]
    ]
    buckets_read = [(pk, sk[2:]) for pk, sk in keys_read if pk.startswith("TGT#")]
    assert buckets_read and all(bucket in verified for _, bucket in buckets_read)
    assert summary["buckets_verified"] == len(buckets_read)  # per target, each verified bucket it holds
    assert all(bucket_of(pk[4:]) in verified for pk, _ in keys_read if pk.startswith("NUM#"))
    numbers_written = [i for i in AWS_CALLS.written_items() if i["PK"]["S"].startswith(("NUM#", "MSG#", "TGT#"))]
    assert numbers_written == []
    assert AWS_CALLS.of("sns") == []
    assert deployment.received(deployment.machines_queue) == []


def test_a_night_counts_its_changes_in_its_digest_and_archive_without_reading_its_own_messages_back(
    estate: Estate, deployment: Deployment
) -> None:
    # Given a baseline, then overnight 3 claims, a release and an edit
    primary = estate.instance("primary")
    numbers = estate.claim(primary["Arn"], 10)
    deployment.invoke(SCHEDULED, **FAST)
    deployment.received(deployment.machines_queue)
    estate.claim(primary["Arn"], 3)
    estate.release(numbers[0])
    estate.describe(numbers[1], "Sales hotline")
    AWS_CALLS.clear()
    # When the night runs
    summary = deployment.invoke(SCHEDULED, **FAST)
    # Then its digest counts every change, and its archived changes are the events it published
    machines = deployment.received(deployment.machines_queue)
    (digest,) = [m["body"] for m in machines if m["body"]["event_type"] == "DIGEST"]
    assert digest["counts"] == summary["changes"] == {"CLAIMED": 3, "RELEASED": 1, "MOVED": 0, "UPDATED": 1}
    s3 = boto3.client("s3")
    listed = s3.list_objects_v2(Bucket=deployment.archive_bucket, Prefix="changes/")["Contents"]
    (key,) = [item["Key"] for item in listed if summary["run_id"] in item["Key"]]
    archived = rows_of(s3.get_object(Bucket=deployment.archive_bucket, Key=key)["Body"].read())
    assert sorted(row["event_id"] for row in archived) == sorted(e["event_id"] for e in number_events(machines))
    # And it read none of its own messages back: its one query of its partition found that no earlier
    # attempt of the run had written any (it is no retry)
    own_partition = f"MSG#{ACCOUNT}#{summary['run_id']}"
    reads = [c for c in AWS_CALLS.of("dynamodb") if c.operation in ("Query", "GetItem", "BatchGetItem")]
    (own_read,) = [c for c in reads if own_partition in json.dumps(c.params)]
    assert own_read.operation == "Query" and own_read.response["Items"] == []


@pytest.mark.parametrize(("count", "pages"), [(999, 1), (1000, 1), (1001, 2)])
def test_every_page_is_read_at_1000_numbers_a_page(
    stack: StackControl, estate: Estate, deployment: Deployment, count: int, pages: int
) -> None:
    primary = estate.instance("primary")
    stack.seed(account=ACCOUNT, region=HOME, target_arn=primary["Arn"], count=count)
    stack.clear_requests()
    summary = deployment.invoke(SCHEDULED, **FAST)
    assert summary["numbers_observed"] == summary["baseline_numbers"] == count
    assert stack.requests()["operations"]["ListPhoneNumbersV2"]["calls"] == pages


def test_a_tdg_is_listed_once_from_its_home_region_or_else_its_other_region(
    stack: StackControl, estate: Estate, deployment: Deployment
) -> None:
    primary = estate.instance("primary")
    default_tdg = estate.replicate(primary)
    estate.claim(default_tdg["Arn"], 4, region=WEST)
    deployment.invoke(SCHEDULED, **FAST)
    stack.clear_requests()
    stack.add_fault(
        operation="ListPhoneNumbersV2", region=HOME, target=default_tdg["Arn"], error="InternalServiceException"
    )
    summary = deployment.invoke(SCHEDULED, **FAST, CONNECT_MAX_ATTEMPTS="1")
    assert summary["targets_unobserved"] == []
    assert summary["numbers_by_target"][default_tdg["Arn"]] == 4
    assert summary["changes"] == {"CLAIMED": 0, "RELEASED": 0, "MOVED": 0, "UPDATED": 0}
    log = stack.requests(entries=True)["entries"]
    tdg_calls = [e["region"] for e in log if e["operation"] == "ListPhoneNumbersV2"]
    assert tdg_calls.count(WEST) == 2  # the replica instance, and the TDG's fallback
    assert tdg_calls.count(HOME) == 2  # the home instance, and the TDG's failed first try


def test_a_limited_run_observes_only_its_targets_and_confirms_their_releases(
    estate: Estate, deployment: Deployment
) -> None:
    # Given a baseline of two instances
    primary, branch = estate.instance("primary"), estate.instance("branch")
    on_primary = estate.claim(primary["Arn"], 5)
    on_branch = estate.claim(branch["Arn"], 5)
    deployment.invoke(SCHEDULED, **FAST)
    # When one number of each is released, one moves from primary to branch and one is claimed to branch
    estate.release(on_primary[0], on_branch[0])
    estate.move(on_primary[1], branch["Arn"])
    added = estate.claim(branch["Arn"], 1)
    # And a manual run looks at branch only
    summary = deployment.invoke({"source": "manual", "targets": [branch["Id"]]}, **FAST)
    # Then it reports what branch shows: the claim, the move, and branch's release (confirmed by Connect)
    assert summary["targets_scanned"] == 1
    assert summary["changes"] == {"CLAIMED": 1, "RELEASED": 1, "MOVED": 1, "UPDATED": 0}
    events = by_type(number_events(deployment.received(deployment.machines_queue)))
    assert [e["phone_number"] for e in events["CLAIMED"]] == [added[0].e164]
    assert [e["phone_number"] for e in events["RELEASED"]] == [on_branch[0].e164]
    # And the next full run finds primary's release, once
    summary = deployment.invoke(SCHEDULED, **FAST)
    assert summary["changes"] == {"CLAIMED": 0, "RELEASED": 1, "MOVED": 0, "UPDATED": 0}
    released = by_type(number_events(deployment.received(deployment.machines_queue)))["RELEASED"]
    assert [e["phone_number"] for e in released] == [on_primary[0].e164]


def test_a_dry_run_diffs_and_reports_but_writes_and_publishes_nothing(estate: Estate, deployment: Deployment) -> None:
    primary = estate.instance("primary")
    numbers = estate.claim(primary["Arn"], 5)
    deployment.invoke(SCHEDULED, **FAST)
    deployment.received(deployment.machines_queue)
    estate.release(numbers[0])
    before = deployment.items()
    AWS_CALLS.clear()
    summary = deployment.invoke(json.loads((ROOT / "events" / "dry-run.json").read_text()), **FAST)
    assert summary["status"] == "DRY_RUN"
    assert summary["changes"]["RELEASED"] == 1
    assert summary["preview"][0]["phone_number"] == numbers[0].e164
    assert AWS_CALLS.items_written() == 0
    assert AWS_CALLS.of("sns") == []
    assert deployment.items() == before
    assert deployment.received(deployment.machines_queue) == []


@pytest.mark.parametrize(
    ("event", "complaint"),
    [
        ({"source": "manual", "dry_run": "yes"}, "dry_run"),
        ({"source": "manual", "surprise": 1}, "surprise"),
        ({"source": "manual", "targets": ["arn:aws:connect:us-east-1:123456789012:queue/abc"]}, "targets.0"),
        ({"source": "manual", "targets": ["not-an-id"]}, "targets.0"),
        ({"source": "cron"}, "source"),
        (["not", "an", "object"], "event"),
    ],
)
def test_a_malformed_event_is_a_clear_error_with_nothing_read_or_written(
    estate: Estate, deployment: Deployment, event: Any, complaint: str
) -> None:
    estate.claim(estate.instance("primary")["Arn"], 2)
    AWS_CALLS.clear()
    with pytest.raises(Exception, match=complaint) as raised:
        deployment.invoke(event, **FAST)
    assert type(raised.value).__name__ == InvalidScanRequest.__name__
    assert [c for c in AWS_CALLS.calls if c.service in ("connect", "dynamodb", "sns")] == []
    assert deployment.items() == []


@pytest.mark.parametrize(
    ("change", "named"),
    [
        ({"TABLE_NAME": ""}, "TABLE_NAME"),
        ({"SCAN_REGIONS": "us-east-1;us-west-2"}, "SCAN_REGIONS"),
        ({"SCAN_REGIONS": "eu-north-9"}, "SCAN_REGIONS"),
        ({"TOPIC_ARN": "numbers"}, "TOPIC_ARN"),
        ({"MASS_RELEASE_SHARE": "2"}, "MASS_RELEASE_SHARE"),
    ],
)
def test_a_bad_configuration_fails_the_cold_start_naming_the_setting(
    deployment: Deployment, change: dict[str, str], named: str
) -> None:
    with pytest.raises(Exception, match=named) as raised:
        cold_start({**deployment.env, **change})
    assert type(raised.value).__name__ == "ConfigurationError"


def test_a_missing_table_name_fails_the_cold_start(deployment: Deployment, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TABLE_NAME", raising=False)
    env = {k: v for k, v in deployment.env.items() if k != "TABLE_NAME"}
    with pytest.raises(Exception, match="TABLE_NAME") as raised:
        cold_start(env)
    assert type(raised.value).__name__ == "ConfigurationError"


def test_the_scheduled_event_is_what_the_schedule_sends() -> None:
    schedule = resource("ScanNumbersFunction")["Properties"]["Events"]["Nightly"]["Properties"]
    template_input = json.loads(schedule["Input"])
    assert set(template_input) == set(SCHEDULED)
    assert template_input["source"] == SCHEDULED["source"] == "schedule"
    assert template_input["scheduled_time"] == "<aws.scheduler.scheduled-time>"
    for name in ("scheduled.json", "dry-run.json", "targets.json"):
        parse_scan_request(json.loads((ROOT / "events" / name).read_text()))
