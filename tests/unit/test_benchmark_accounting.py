"""The benchmark's own arithmetic: DynamoDB capacity as DynamoDB bills it, and the least time our pace
allows. The figures in benchmarks/results are only as good as these."""

from __future__ import annotations

from typing import Any

from benchmarks.calls import DynamoDBCounts, item_size
from benchmarks.costs import Deployment
from benchmarks.report import reference_loop_lines
from benchmarks.run import paced_bound
from localaws.template import template


def number_item(pk: str, **extra: Any) -> dict[str, Any]:
    return {"PK": {"S": pk}, "SK": {"S": "NUM"}, "version": {"N": "12"}, "released": {"BOOL": False}, **extra}


def test_an_item_is_sized_by_its_names_and_values_as_dynamodb_counts_them() -> None:
    # 2+4 (PK), 2+3 (SK), 7 + 2 (N "12": two digits, one byte per two plus one), 8 + 1 (BOOL)
    assert item_size(number_item("NUM#")) == 6 + 5 + 9 + 9
    assert item_size({"blob": {"B": b"\x00" * 32}, "tags": {"M": {"k": {"S": "v"}}}}) == (4 + 32) + (4 + 3 + 1 + 1 + 1)


def test_a_transaction_costs_twice_a_batch_s_write_units_and_its_lease_check_two_read_units() -> None:
    counts = DynamoDBCounts()
    lease_check = {"ConditionCheck": {"TableName": "t", "Key": {"PK": {"S": "LEASE#1"}}}}
    big = number_item("NUM#big", blob={"S": "x" * 1500})  # 2 KB
    counts.request("TransactWriteItems", {"TransactItems": [lease_check, {"Put": {"TableName": "t", "Item": big}}]})
    assert (counts.write_units, counts.read_units) == (4, 2)
    counts.request("BatchWriteItem", {"RequestItems": {"t": [{"PutRequest": {"Item": big}}]}})
    assert counts.write_units == 4 + 2
    assert counts.as_dict()["items_written"] == 2


def test_a_message_pays_for_each_index_that_holds_it_and_for_leaving_the_outbox() -> None:
    counts = DynamoDBCounts()
    unsent = {**number_item("MSG#1"), "GSI2PK": {"S": "UNSENT#1"}, "GSI3PK": {"S": "NUM#a"}}
    counts.request("PutItem", {"Item": unsent})
    assert counts.write_units == 1 + 2  # the table and two indexes
    sent = {k: v for k, v in unsent.items() if k != "GSI2PK"}
    counts.request("BatchWriteItem", {"RequestItems": {"t": [{"PutRequest": {"Item": sent}}]}})
    assert counts.write_units == 3 + (1 + 1) + 1  # the table, the history index, and the outbox entry removed


def test_strongly_consistent_reads_cost_a_unit_per_4_kb_and_a_missing_key_the_minimum() -> None:
    counts = DynamoDBCounts()
    item = number_item("NUM#a", blob={"S": "x" * 5000})  # over 4 KB: 2 units
    request = {
        "RequestItems": {"t": {"Keys": [{"PK": {"S": "NUM#a"}}, {"PK": {"S": "NUM#gone"}}], "ConsistentRead": True}}
    }
    counts.response("BatchGetItem", request, {"Responses": {"t": [item]}})
    assert counts.read_units == 2 + 1 and counts.as_dict()["items_read"] == 1
    counts.response("Query", {"IndexName": "Unsent"}, {"Items": [item]})  # an index: eventually consistent
    assert counts.read_units == 3 + 1


def test_the_paced_bound_lets_the_burst_go_at_once_then_one_request_a_second_per_region_and_api() -> None:
    pace = {"rate": 1.0, "burst": 2, "trail_rate": 0.5, "trail_burst": 1}
    listing = [{"region": "us-east-1", "operation": "ListPhoneNumbersV2"}] * 5
    assert paced_bound(listing, pace) == 3.0
    # Another API, or another Region, has a bucket of its own: its calls wait for nothing
    others = [{"region": "us-west-2", "operation": "ListPhoneNumbersV2"}, {"region": "us-east-1", "operation": "X"}]
    assert paced_bound(listing + others, pace) == 3.0
    # And CloudTrail's lookups go at their own pace: one at once, then one every 2 seconds
    assert paced_bound([{"region": "us-east-1", "operation": "LookupEvents"}] * 3, pace) == 4.0


def test_the_bill_counts_only_the_alarms_a_deployment_creates() -> None:
    # Given the template, whose subscription alarm needs an alert email and whose accounts alarm needs
    # organization mode
    alarms = [r for r in template()["Resources"].values() if r["Type"] == "AWS::CloudWatch::Alarm"]
    conditional = {r.get("Condition") for r in alarms} - {None}
    assert conditional == {"HasAlertEmail", "IsOrganization"}
    # When it is priced for one account, with and without an alert email, and for an organization
    alone = Deployment.from_template(template(), alert_email=False)
    emailed = Deployment.from_template(template(), alert_email=True)
    organization = Deployment.from_template(template(), alert_email=True, organization=True)
    # Then each counts the alarms it deploys, and no more
    assert (alone.alarms, emailed.alarms, organization.alarms) == (len(alarms) - 2, len(alarms) - 1, len(alarms))


def test_the_report_gives_the_range_of_the_reference_loop_and_nothing_for_runs_without_it() -> None:
    # Given the rows of a run whose nights timed the reference loop, and of a run from before it
    timed = [{"ours": {"reference_loop_ms": ms}} for ms in (170.4, 362.0, 240.0)]
    untimed: list[dict[str, Any]] = [{"ours": {}}]
    # When the report is written, then it names the range of the first, and says nothing of the second
    (line,) = reference_loop_lines(timed)
    assert "170 to 362 ms" in line
    assert reference_loop_lines(untimed) == []
