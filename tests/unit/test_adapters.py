"""The Connect and SNS adapters against in-memory fakes of their clients (no network)."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError, ReadTimeoutError

from numberwatch.adapters.connect import CallGate, ConnectInventory
from numberwatch.adapters.sns import SnsPublisher
from numberwatch.events import OutboxMessage
from numberwatch.models import EventType
from numberwatch.ports import OutOfTime, TargetUnavailable
from tests.unit.factories import instance, numbers, tdg


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def test_the_gate_paces_each_region_and_operation_and_counts_calls() -> None:
    clock = FakeClock()
    gate = CallGate(2.0, clock=clock, sleep=clock.sleep)
    for _ in range(3):
        gate._before_send("before-send.connect.ListPhoneNumbersV2")
    gate._before_send("before-send.connect.ListInstances")
    assert clock.slept == [0.5, 0.5]
    assert gate.calls == 4


def test_the_gate_stops_the_run_rather_than_sleep_past_the_deadline() -> None:
    clock = FakeClock()
    gate = CallGate(0.1, clock=clock, sleep=clock.sleep)
    gate.begin(lambda: 5.0)
    gate._before_send("before-send.connect.ListPhoneNumbersV2")
    with pytest.raises(OutOfTime):
        gate._before_send("before-send.connect.ListPhoneNumbersV2")


class FakeConnect:
    """Pages of ListPhoneNumbersV2 summaries; raises what it is told to, per target."""

    def __init__(
        self, by_target: dict[str, list[dict[str, str]]], failures: dict[str, Exception] | None = None
    ) -> None:
        self.by_target = by_target
        self.failures = failures or {}
        self.calls: list[dict[str, Any]] = []

    def list_phone_numbers_v2(self, **arguments: Any) -> dict[str, Any]:
        self.calls.append(arguments)
        target = arguments["TargetArn"]
        if target in self.failures:
            raise self.failures[target]
        start = int(arguments.get("NextToken", 0))
        items = self.by_target[target]
        page: dict[str, Any] = {"ListPhoneNumbersSummaryList": items[start : start + arguments["MaxResults"]]}
        if start + arguments["MaxResults"] < len(items):
            page["NextToken"] = str(start + arguments["MaxResults"])
        return page


def summaries(count: int, target_arn: str) -> list[dict[str, str]]:
    target = instance()
    return [{**n.as_summary(), "TargetArn": target_arn} for n in numbers(count, target)]


@pytest.mark.parametrize(("count", "pages"), [(0, 1), (999, 1), (1000, 1), (1001, 2), (2500, 3)])
def test_every_page_is_read_1000_at_a_time(count: int, pages: int) -> None:
    target = instance()
    client = FakeConnect({target.arn: summaries(count, target.arn)})
    listed = ConnectInventory(lambda region: client, CallGate(10)).list_numbers(target)  # type: ignore[arg-type,return-value]
    assert len(listed) == count
    assert len(client.calls) == pages
    assert all(call["MaxResults"] == 1000 for call in client.calls)


def test_a_tdg_falls_back_to_its_other_region() -> None:
    target = tdg()
    denied = ClientError({"Error": {"Code": "InternalServiceException", "Message": "boom"}}, "ListPhoneNumbersV2")
    clients = {
        "us-east-1": FakeConnect({}, {target.arn: denied}),
        "us-west-2": FakeConnect({target.arn: summaries(3, target.arn)}),
    }
    listed = ConnectInventory(clients.__getitem__, CallGate(10)).list_numbers(target)  # type: ignore[arg-type]
    assert len(listed) == 3


def test_a_timeout_in_every_region_makes_the_target_unavailable_with_its_reasons() -> None:
    target = tdg()
    timeout = ReadTimeoutError(endpoint_url="https://connect")
    client = FakeConnect({}, {target.arn: timeout})
    with pytest.raises(TargetUnavailable, match=r"us-east-1: .*ReadTimeoutError.*us-west-2"):
        ConnectInventory(lambda region: client, CallGate(10)).list_numbers(target)  # type: ignore[arg-type,return-value]


def message(index: int) -> OutboxMessage:
    return OutboxMessage(f"m{index}", EventType.NUMBER_CHANGE, "run", "t", {"i": index}, "text", attributes={"a": "b"})


class FakeSns:
    def __init__(self, answers: list[dict[str, Any] | Exception]) -> None:
        self.answers = answers
        self.batches: list[list[dict[str, Any]]] = []

    def publish_batch(self, TopicArn: str, PublishBatchRequestEntries: list[dict[str, Any]]) -> dict[str, Any]:  # noqa: N803 - boto3's names
        self.batches.append(PublishBatchRequestEntries)
        answer = self.answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer


def test_failed_entries_are_read_from_a_200_and_retried() -> None:
    sns = FakeSns(
        [
            {"Successful": [{"Id": "0"}], "Failed": [{"Id": "1", "Code": "InternalError", "SenderFault": False}]},
            {"Successful": [{"Id": "1"}], "Failed": []},
        ]
    )
    result = SnsPublisher(sns, "arn:topic", sleep=lambda s: None).publish([message(0), message(1)])  # type: ignore[arg-type]
    assert result.sent == ["m0", "m1"] and result.failed == {}
    assert [len(b) for b in sns.batches] == [2, 1]
    entry = sns.batches[0][0]
    assert entry["MessageStructure"] == "json"
    assert entry["MessageAttributes"]["event_type"] == {"DataType": "String", "StringValue": "NUMBER_CHANGE"}


def test_what_still_fails_is_reported_and_our_own_faults_are_not_retried() -> None:
    throttled = ClientError({"Error": {"Code": "Throttled", "Message": "slow down"}}, "PublishBatch")
    sns = FakeSns(
        [
            {"Successful": [], "Failed": [{"Id": "0", "Code": "InvalidParameter", "SenderFault": True},
                                          {"Id": "1", "Code": "InternalError", "SenderFault": False}]},
            throttled,
            throttled,
            throttled,
        ]
    )  # fmt: skip
    result = SnsPublisher(sns, "arn:topic", sleep=lambda s: None).publish([message(0), message(1)])  # type: ignore[arg-type]
    assert result.sent == []
    assert result.failed["m0"].startswith("InvalidParameter")
    assert "slow down" in result.failed["m1"]
    assert [len(b) for b in sns.batches] == [2, 1, 1, 1]
