"""The evidence archive against the local stack's S3 (Object Lock enforced as S3 does): a few nights
answer the README's own queries on DuckDB exactly as the scans observed (and described: tags and
status); S3 refusing a write costs
no event and is caught up; locked objects cannot be deleted, replaced or unlocked; a retry writes
the same bytes to the same keys; dry and partial runs write no inventory."""

from __future__ import annotations

import datetime as dt
import os
import re
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import boto3
import duckdb
import pytest
from botocore.awsrequest import AWSResponse
from botocore.exceptions import ClientError

from localaws.lambda_runtime import ACCOUNT, Deployment
from localaws.template import ROOT
from numberwatch.adapters.dynamodb import DynamoSnapshotStore
from numberwatch.adapters.s3_archive import S3Archive
from numberwatch.archive_format import DETAILS, INVENTORY, TABLES, Manifest, duckdb_view, manifest_prefix, rows_of
from numberwatch.dependencies import aws_clients, build_scan_service
from numberwatch.evidence import verify_chain
from numberwatch.request import parse_scan_request
from numberwatch.run import RunContext, no_checkpoint
from numberwatch.settings import Settings
from tests.integration.test_reliability import FAST, SCHEDULED, changes, events_of
from tests.support.estate import HOME, WEST, Estate, Number
from tests.support.kill_switch import Crash, crash_at

WITH_DETAILS = {"DETAIL_CALLS_PER_RUN": "300"}


def at(day: int, month: int = 9) -> dt.datetime:
    return dt.datetime(2026, month, day, 6, 0, tzinfo=dt.UTC)


def scan(
    deployment: Deployment,
    now: dt.datetime | None = None,
    run_id: str | None = None,
    checkpoint: Callable[[str], None] = no_checkpoint,
    event: dict[str, Any] | None = None,
    **overrides: str,
) -> dict[str, Any]:
    """One run of the real service on the night `now` (the lease's clock too), with a kill switch."""
    settings = Settings.from_environment({**os.environ, **deployment.env, **FAST, **overrides})
    service = build_scan_service(settings, lambda: 900_000, checkpoint)
    moment = now or dt.datetime.now(dt.UTC)
    assert isinstance(service.store, DynamoSnapshotStore)
    service.store.clock = moment.timestamp
    context = RunContext(run_id=run_id or str(uuid.uuid4()), remaining_ms=lambda: 900_000, now=lambda: moment)
    return service.run(parse_scan_request(event or SCHEDULED), context).model_dump(mode="json")


def readme_queries() -> dict[str, str]:
    """The README's ready queries, by their number, exactly as written there."""
    text = (ROOT / "README.md").read_text()
    section = text.split("### The evidence archive", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```sql\n(.*?)```", section, flags=re.DOTALL)
    return {re.match(r"-- (\d)\.", block)[1]: block for block in blocks}  # type: ignore[index]


def download(bucket: str, folder: Path) -> None:
    """The bucket's current objects into `folder`, keys as paths (DuckDB here has no S3 extension)."""
    s3 = boto3.client("s3")
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket):
        for item in page.get("Contents", []):
            path = folder / item["Key"]
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(s3.get_object(Bucket=bucket, Key=item["Key"])["Body"].read())


def duckdb_over(bucket: str, folder: Path) -> duckdb.DuckDBPyConnection:
    download(bucket, folder)
    connection = duckdb.connect()
    for table in TABLES:
        connection.execute(duckdb_view(table, str(folder)))
    return connection


def every_target(estate: Estate) -> dict[str, str]:
    """Name -> ARN of every instance and TDG of both Regions, named as the scan names them."""
    targets = {}
    for client in estate.clients.values():
        for instance in client.list_instances()["InstanceSummaryList"]:
            targets[instance["InstanceAlias"]] = instance["Arn"]
            groups = client.list_traffic_distribution_groups(InstanceId=instance["Arn"])
            targets.update({t["Name"]: t["Arn"] for t in groups["TrafficDistributionGroupSummaryList"]})
    return targets


def listing(estate: Estate, targets: dict[str, str]) -> list[tuple[str, str, str, str, str]]:
    """What Connect lists now: (number, country, type, target name, Region) for every target."""
    found = []
    for name, arn in targets.items():
        region = arn.split(":")[3]
        pages = estate.clients[region].get_paginator("list_phone_numbers_v2").paginate(TargetArn=arn)
        for page in pages:
            for n in page["ListPhoneNumbersSummaryList"]:
                found.append((n["PhoneNumber"], n["PhoneNumberCountryCode"], n["PhoneNumberType"], name, region))
    return sorted(found)


def archive_keys(bucket: str, prefix: str = "") -> list[str]:
    pages = boto3.client("s3").get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
    return sorted(item["Key"] for page in pages for item in page.get("Contents", []))


def manifests(bucket: str) -> list[Manifest]:
    s3 = boto3.client("s3")
    return [
        Manifest.decode(s3.get_object(Bucket=bucket, Key=key)["Body"].read())
        for key in archive_keys(bucket, manifest_prefix(ACCOUNT))
    ]


# ------------------------------------------------------------------ the README's SQL on DuckDB
def test_a_few_nights_answer_the_readme_queries_on_duckdb_as_the_scans_observed(
    estate: Estate, deployment: Deployment, tmp_path: Path
) -> None:
    # Given an estate over two Regions: two instances and a TDG
    alpha, charlie = estate.instance("alpha"), estate.instance("charlie", region=WEST)
    replicated = estate.instance("replicated")
    estate.replicate(replicated)
    global_tdg = estate.tdg(replicated, "global")
    targets = every_target(estate)
    assert {"alpha", "charlie", "replicated", "global"} <= set(targets)
    on_alpha = estate.claim(alpha["Arn"], 4) + estate.claim(alpha["Arn"], 2, country="GB")
    estate.claim(charlie["Arn"], 3, kind="TOLL_FREE")
    on_tdg = estate.claim(global_tdg["Arn"], 2)
    # And a description a spreadsheet or browser would execute
    formula = '=HYPERLINK("http://evil.example","x")<img src=x onerror=alert(1)>'
    estate.describe(on_alpha[0], formula)
    observed: dict[str, list[tuple[str, str, str, str, str]]] = {}
    summaries = {}
    # When four nights run, details asked for (the README's details query reads them): a baseline, then
    # claims, releases, moves and an edit
    summaries[28] = scan(deployment, now=at(28), **WITH_DETAILS)
    observed["2026-09-28"] = listing(estate, targets)
    estate.claim(charlie["Arn"], 2)
    estate.release(on_alpha[1])
    estate.describe(on_alpha[2], "front desk")
    summaries[29] = scan(deployment, now=at(29), **WITH_DETAILS)
    observed["2026-09-29"] = listing(estate, targets)
    estate.move(on_alpha[3], targets["replicated"])
    estate.claim(alpha["Arn"], 1, country="GB")
    estate.release(on_tdg[0])
    summaries[30] = scan(deployment, now=at(30), **WITH_DETAILS)
    observed["2026-09-30"] = listing(estate, targets)
    estate.release(on_alpha[4])
    summaries[1] = scan(deployment, now=at(1, month=10), **WITH_DETAILS)
    assert all(s["archive"]["status"] == "WRITTEN" and s["archive"]["full_inventory"] for s in summaries.values())

    # Then the README's queries, run unchanged on DuckDB over the archive, answer what the scans saw
    queries = readme_queries()
    connection = duckdb_over(deployment.archive_bucket, tmp_path)
    held = connection.execute(queries["1"]).fetchall()
    assert sorted((r[0], r[1], r[2], r[3], r[5]) for r in held) == observed["2026-09-30"]
    kinds = {r[3]: r[4] for r in held}
    assert (kinds["global"], kinds["alpha"]) == ("TRAFFIC_DISTRIBUTION_GROUP", "INSTANCE")
    first_seen = {r[0]: r[6] for r in held}
    assert first_seen[on_alpha[0].e164] == "2026-09-28T06:00:00Z"
    assert Counter(first_seen.values()) == Counter({"2026-09-28T06:00:00Z": 9, "2026-09-29T06:00:00Z": 2,
                                                    "2026-09-30T06:00:00Z": 1})  # fmt: skip

    september = Counter()
    for day in (29, 30):
        september.update({k: v for k, v in summaries[day]["changes"].items() if v})
    assert dict(connection.execute(queries["2"]).fetchall()) == dict(september)
    assert september == Counter({"CLAIMED": 3, "RELEASED": 2, "MOVED": 1, "UPDATED": 1})

    per_night = Counter((night, n[1], n[2]) for night, numbers in observed.items() for n in numbers)
    assert {(r[0], r[1], r[2]): r[3] for r in connection.execute(queries["3"]).fetchall()} == dict(per_night)

    # And the description is stored exactly as Connect returned it
    (stored,) = connection.execute(
        "SELECT description FROM inventory WHERE account = ? AND run_date = '2026-09-28' AND phone_number = ?",
        [ACCOUNT, on_alpha[0].e164],
    ).fetchone() or (None,)
    assert stored == formula
    # And the chain is intact, the newest manifest vouched for by the last run's summary
    archive = S3Archive(boto3.client("s3"), deployment.archive_bucket)
    report = verify_chain(archive, ACCOUNT, summaries[1]["archive"]["manifest_sha256"])
    assert report.intact and report.manifests == 4


def described(estate: Estate, numbers: list[Number]) -> dict[str, tuple[str, dict[str, str]]]:
    """What DescribePhoneNumber answers now: number -> (status, tags)."""
    found = {}
    for n in numbers:
        summary = estate.clients[n.region].describe_phone_number(PhoneNumberId=n.arn)["ClaimedPhoneNumberSummary"]
        found[n.e164] = (summary["PhoneNumberStatus"]["Status"], summary.get("Tags") or {})
    return found


def test_the_tags_and_status_each_night_described_are_in_its_details_and_readme_query_4_answers_them_as_of_a_date(
    estate: Estate, deployment: Deployment, tmp_path: Path
) -> None:
    # Given numbers in two Regions, tagged through TagResource (one left untagged)
    alpha, charlie = estate.instance("alpha"), estate.instance("charlie", region=WEST)
    held = estate.claim(alpha["Arn"], 3) + estate.claim(charlie["Arn"], 2)
    for n, added in ((held[0], {"owner": "sales", "cost-center": "42"}), (held[1], {"owner": "ops"}),
                     (held[3], {"cost-center": "7"})):  # fmt: skip
        estate.clients[n.region].tag_resource(resourceArn=n.arn, tags=added)
    budget = {"DESCRIBE_CALLS_PER_RUN": "50", "DETAIL_CALLS_PER_RUN": "50"}  # the rotation covers them all
    # When a baseline night runs, then two nights that describe every number, a tag changed between them
    scan(deployment, now=at(28), **budget)
    second = scan(deployment, now=at(29), **budget)
    as_of_29 = described(estate, held)
    estate.clients[HOME].tag_resource(resourceArn=held[1].arn, tags={"owner": "support"})
    third = scan(deployment, now=at(30), **budget)
    as_of_30 = described(estate, held)
    assert as_of_29 != as_of_30 and as_of_30[held[1].e164] == ("CLAIMED", {"owner": "support"})
    # Then the second night's details objects, one per Region, hold what DescribePhoneNumber answered
    s3 = boto3.client("s3")
    (manifest,) = [m for m in manifests(deployment.archive_bucket) if m.run_id == second["run_id"]]
    assert [key.split("/")[2] for key in manifest.details_keys] == [f"region={HOME}", f"region={WEST}"]
    rows = [row for key in manifest.details_keys
            for row in rows_of(s3.get_object(Bucket=deployment.archive_bucket, Key=key)["Body"].read())]  # fmt: skip
    assert {r["phone_number"]: (r["claim_status"], r["tags"]) for r in rows} == as_of_29
    assert {r["described_at"] for r in rows} == {"2026-09-29T06:00:00Z"}
    # And its inventory rows hold no tags
    inventory = [row for key in manifest.inventory_keys for row in rows_of(s3.get_object(
                 Bucket=deployment.archive_bucket, Key=key)["Body"].read())]  # fmt: skip
    assert len(inventory) == 5 and {tuple(row) for row in inventory} == {INVENTORY.names}
    # And the README's query 4, run on DuckDB, answers each number's newest description as of each date
    query = readme_queries()["4"]
    connection = duckdb_over(deployment.archive_bucket, tmp_path)
    for date, expected, run in (("2026-09-29", as_of_29, second), ("2026-09-30", as_of_30, third)):
        answered = connection.execute(query.replace("2026-09-30", date)).fetchall()
        assert [row[0] for row in answered] == sorted(n.e164 for n in held)
        assert {row[0]: (row[2], row[4]) for row in answered} == expected, date
        assert {row[1] for row in answered} == {HOME, WEST}
        assert {row[5] for row in answered} == {f"{date}T06:00:00Z"}, run["run_id"]
    assert {c.name for c in DETAILS.columns} <= {d[0] for d in connection.execute("DESCRIBE details").fetchall()}


# ------------------------------------------------------------------ S3 refusing
class _Refusal:
    """S3 answering 403 AccessDenied to every PutObject of the function's client, on the wire."""

    def __init__(self) -> None:
        self.active = False
        self.refused = 0

    def __call__(self, request: Any, **_: Any) -> AWSResponse | None:
        if not self.active:
            return None
        self.refused += 1
        body = b"<Error><Code>AccessDenied</Code><Message>Access Denied</Message></Error>"
        return AWSResponse(request.url, 403, {"Content-Type": "application/xml"}, _Raw(body))


class _Raw:
    def __init__(self, body: bytes) -> None:
        self.body = body

    def stream(self, **_: Any) -> Iterator[bytes]:
        yield self.body


@pytest.fixture
def s3_refuses(deployment: Deployment) -> Iterator[_Refusal]:
    settings = Settings.from_environment({**os.environ, **deployment.env, **FAST})
    client = aws_clients(settings).s3
    assert client is not None
    refusal = _Refusal()
    client.meta.events.register_first("before-send.s3.PutObject", refusal)
    yield refusal
    client.meta.events.unregister("before-send.s3.PutObject", refusal)


def test_s3_refusing_the_evidence_costs_no_event_and_the_next_run_writes_it(
    estate: Estate, deployment: Deployment, s3_refuses: _Refusal
) -> None:
    # Given a baseline archived, then S3 refusing every write
    alpha = estate.instance("alpha")
    estate.claim(alpha["Arn"], 3)
    scan(deployment, now=at(28))
    deployment.received(deployment.machines_queue)
    s3_refuses.active = True
    before = archive_keys(deployment.archive_bucket)
    claimed = estate.claim(alpha["Arn"], 2)
    refused = scan(deployment, now=at(29))
    # Then the run completes, its changes are published and the snapshot written; the failure is named
    assert s3_refuses.refused >= 1
    assert refused["status"] == "COMPLETED"
    assert refused["archive"]["status"] == "FAILED" and "AccessDenied" in refused["archive"]["note"]
    assert sorted(e["phone_number"] for e in changes(events_of(deployment))) == sorted(n.e164 for n in claimed)
    numbers = [i for i in deployment.items() if i["PK"]["S"].startswith("NUM#")]
    assert len(numbers) == 5
    assert archive_keys(deployment.archive_bucket) == before
    # When S3 accepts again, the next run writes the refused run's changes and summary first
    s3_refuses.active = False
    caught_up = scan(deployment, now=at(30))
    assert caught_up["archive"]["backfilled_runs"] == [refused["run_id"]]
    late = {m.run_id: m for m in manifests(deployment.archive_bucket)}[refused["run_id"]]
    assert (late.full_inventory, late.inventory_keys, len(late.change_keys)) == (False, [], 1)
    archive = S3Archive(boto3.client("s3"), deployment.archive_bucket)
    assert verify_chain(archive, ACCOUNT).intact


# ------------------------------------------------------------------ locked evidence
@pytest.mark.parametrize("mode", ["GOVERNANCE", "COMPLIANCE"])
def test_a_locked_object_cannot_be_deleted_replaced_or_unlocked(
    estate: Estate, deployment: Deployment, mode: str
) -> None:
    s3 = boto3.client("s3")
    bucket = deployment.archive_bucket
    if mode == "COMPLIANCE":
        bucket = f"evidence-{uuid.uuid4().hex[:8]}"
        s3.create_bucket(Bucket=bucket, ObjectLockEnabledForBucket=True)
        s3.put_object_lock_configuration(
            Bucket=bucket,
            ObjectLockConfiguration={"ObjectLockEnabled": "Enabled",
                                     "Rule": {"DefaultRetention": {"Mode": "COMPLIANCE", "Days": 400}}},
        )  # fmt: skip
    alpha = estate.instance("alpha")
    estate.claim(alpha["Arn"], 2)
    scan(deployment, ARCHIVE_BUCKET=bucket)
    (key,) = archive_keys(bucket, "inventory/")
    (version,) = s3.list_object_versions(Bucket=bucket, Prefix=key)["Versions"]
    original = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    assert s3.head_object(Bucket=bucket, Key=key)["ObjectLockMode"] == mode

    def refused(call: Callable[[], object]) -> str:
        with pytest.raises(ClientError) as error:
            call()
        return str(error.value.response["Error"]["Code"])

    # Deleting the version is refused (with the governance bypass too, in COMPLIANCE mode)
    assert refused(lambda: s3.delete_object(Bucket=bucket, Key=key, VersionId=version["VersionId"])) == "AccessDenied"
    # Shortening or removing its retention is refused
    earlier = dt.datetime.now(dt.UTC) + dt.timedelta(days=1)
    shorter = {"Mode": mode, "RetainUntilDate": earlier}
    assert refused(lambda: s3.put_object_retention(Bucket=bucket, Key=key, VersionId=version["VersionId"],
                                                   Retention=shorter)) == "AccessDenied"  # fmt: skip
    if mode == "COMPLIANCE":
        assert refused(lambda: s3.delete_object(Bucket=bucket, Key=key, VersionId=version["VersionId"],
                                                BypassGovernanceRetention=True)) == "AccessDenied"  # fmt: skip
        assert refused(lambda: s3.put_object_retention(Bucket=bucket, Key=key, VersionId=version["VersionId"],
                                                       Retention={"Mode": "GOVERNANCE", "RetainUntilDate": earlier},
                                                       BypassGovernanceRetention=True)) == "AccessDenied"  # fmt: skip
    # A write that would replace it is refused, as every write of ours is made
    assert refused(lambda: s3.put_object(Bucket=bucket, Key=key, Body=b"forged", IfNoneMatch="*",
                                         ChecksumAlgorithm="SHA256")) == "PreconditionFailed"  # fmt: skip
    # A put without the condition (which the bucket policy denies in AWS) only adds a version: the locked
    # one is intact, and the chain names the object that no longer matches
    s3.put_object(Bucket=bucket, Key=key, Body=b"forged", ChecksumAlgorithm="SHA256")
    kept = s3.get_object(Bucket=bucket, Key=key, VersionId=version["VersionId"])["Body"].read()
    assert kept == original
    mismatch = verify_chain(S3Archive(s3, bucket), ACCOUNT).mismatch
    assert mismatch is not None and mismatch.key == key


# ------------------------------------------------------------------ retries, dry and partial runs
def test_a_retry_of_the_same_run_writes_the_same_bytes_to_the_same_keys(estate: Estate, deployment: Deployment) -> None:
    alpha, bravo = estate.instance("alpha"), estate.instance("bravo")
    estate.claim(alpha["Arn"], 3)
    estate.claim(bravo["Arn"], 2, country="GB")
    scan(deployment, now=at(28), **WITH_DETAILS)
    estate.claim(alpha["Arn"], 2)
    # Given a run, details asked for, that dies once its objects are written, before its manifest
    run_id = str(uuid.uuid4())
    with pytest.raises(Crash):
        scan(deployment, run_id=run_id, now=at(29), checkpoint=crash_at("archive_objects_written"), **WITH_DETAILS)
    s3 = boto3.client("s3")
    first = {k: s3.get_object(Bucket=deployment.archive_bucket, Key=k)["Body"].read()
             for k in archive_keys(deployment.archive_bucket) if run_id in k}  # fmt: skip
    assert {k.split("/")[0] for k in first} == {"inventory", "details", "changes"}
    # When Lambda retries the same invocation
    retried = scan(deployment, run_id=run_id, now=at(29, month=9), **WITH_DETAILS)
    # Then every key it wrote before holds one version, the same bytes; the manifest and runs row follow
    assert retried["archive"]["status"] == "WRITTEN"
    for key, body in first.items():
        versions = s3.list_object_versions(Bucket=deployment.archive_bucket, Prefix=key)["Versions"]
        assert len(versions) == 1, key
        assert s3.get_object(Bucket=deployment.archive_bucket, Key=key)["Body"].read() == body
    now_written = [k for k in archive_keys(deployment.archive_bucket) if run_id in k]
    assert {k.split("/")[0] for k in now_written} == {"inventory", "details", "changes", "runs", "manifests"}
    assert set(first) < set(now_written)
    assert verify_chain(S3Archive(s3, deployment.archive_bucket), ACCOUNT).intact


def test_a_finished_run_invoked_again_keeps_one_record_and_one_manifest_and_leaves_a_later_change_to_the_next_run(
    estate: Estate, deployment: Deployment
) -> None:
    # Given a baseline, then a night with two claims that finished: archived, its lease released
    alpha = estate.instance("alpha")
    estate.claim(alpha["Arn"], 3)
    scan(deployment, now=at(28))
    estate.claim(alpha["Arn"], 2)
    run_id = str(uuid.uuid4())
    finished = scan(deployment, run_id=run_id, now=at(29))
    assert len(changes(events_of(deployment))) == 2
    # And a claim made an hour later
    (later,) = estate.claim(alpha["Arn"], 1)
    # When the same run id comes again (an event delivered twice, a redriven step)
    again = scan(deployment, run_id=run_id, now=at(29) + dt.timedelta(hours=1))
    # Then it answers the run's recorded summary and tells nothing
    assert again["replayed"] is True and again["changes"] == finished["changes"]
    assert changes(events_of(deployment)) == []
    # And DynamoDB keeps one record of the run, S3 one manifest
    records = boto3.client("dynamodb").query(
        TableName=deployment.table,
        KeyConditionExpression="PK = :pk",
        ExpressionAttributeValues={":pk": {"S": f"RUN#{ACCOUNT}"}},
    )["Items"]
    assert [r["SK"]["S"] for r in records if r["SK"]["S"].endswith(run_id)] == [f"{at(29).isoformat()}#{run_id}"]
    assert [m.run_id for m in manifests(deployment.archive_bucket)].count(run_id) == 1
    # And the next night reports the later claim under its own time, and archives it
    following = scan(deployment, now=at(30))
    (event,) = changes(events_of(deployment))
    assert (event["phone_number"], event["observed_at"]) == (later.e164, "2026-09-30T06:00:00Z")
    assert following["archive"]["status"] == "WRITTEN"
    assert verify_chain(S3Archive(boto3.client("s3"), deployment.archive_bucket), ACCOUNT).intact


def test_dry_and_partial_runs_write_no_inventory_and_say_so(stack: Any, estate: Estate, deployment: Deployment) -> None:
    alpha, bravo = estate.instance("alpha"), estate.instance("bravo")
    estate.claim(alpha["Arn"], 2)
    estate.claim(bravo["Arn"], 2)
    scan(deployment, now=at(28))
    before = archive_keys(deployment.archive_bucket)
    dry = scan(deployment, event={"source": "manual", "dry_run": True}, now=at(29))
    assert dry["archive"]["status"] == "NOT_WRITTEN" and archive_keys(deployment.archive_bucket) == before
    stack.add_fault(operation="ListPhoneNumbersV2", target=bravo["Arn"], error="AccessDeniedException")
    partial = scan(deployment, now=at(29), **WITH_DETAILS)
    assert partial["status"] == "PARTIAL"
    assert partial["archive"]["full_inventory"] is False and partial["archive"]["note"].startswith("a partial run")
    written = [k for k in archive_keys(deployment.archive_bucket) if partial["run_id"] in k]
    assert sorted(k.split("/")[0] for k in written) == ["details", "manifests", "runs"]  # what it described, kept
