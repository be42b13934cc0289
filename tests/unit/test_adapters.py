"""The Connect and SNS adapters against in-memory fakes of their clients (no network)."""

from __future__ import annotations

import io
import json
from typing import Any

import boto3
import pytest
import urllib3
from botocore.awsrequest import AWSResponse, HTTPHeaders
from botocore.config import Config
from botocore.exceptions import ClientError, ReadTimeoutError
from botocore.stub import Stubber

from numberwatch.adapters.connect import CallGate, ConnectInventory, parse_listings_leanly
from numberwatch.adapters.member import MemberCredentials
from numberwatch.adapters.sns import SnsPublisher
from numberwatch.dependencies import AwsClients
from numberwatch.events import OutboxMessage
from numberwatch.models import EventType, PhoneNumber
from numberwatch.ports import OutOfTime, Presence, TargetUnavailable
from numberwatch.settings import Settings
from tests.unit.factories import instance, number, numbers, tdg
from tests.unit.test_scan_service import ENVIRONMENT


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def test_the_gate_paces_each_region_and_operation_apart_and_counts_calls() -> None:
    # Given a gate of 2 requests a second and no burst
    clock = FakeClock()
    gate = CallGate(2.0, clock=clock, sleep=clock.sleep)
    # When three listings go to one Region, then one to another Region, then one other operation
    for _ in range(3):
        gate.wait("us-east-1", "ListPhoneNumbersV2")
    gate.wait("us-west-2", "ListPhoneNumbersV2")
    gate.wait("us-east-1", "ListInstances")
    # Then only the second and third listings in us-east-1 waited: Connect's quota is per Region and API
    assert clock.slept == [0.5, 0.5]
    assert gate.calls == 5


def test_the_gate_lets_a_burst_through_then_keeps_the_pace() -> None:
    clock = FakeClock()
    gate = CallGate(1.0, burst=3, clock=clock, sleep=clock.sleep)
    for _ in range(5):
        gate.wait("us-east-1", "ListPhoneNumbersV2")
    assert clock.slept == [1.0, 1.0]
    clock.now += 10  # a quiet while refills the bucket, up to the burst
    for _ in range(4):
        gate.wait("us-east-1", "ListPhoneNumbersV2")
    assert clock.slept == [1.0, 1.0, 1.0]


def test_the_gate_keys_on_the_region_of_the_client_it_is_attached_to() -> None:
    clock = FakeClock()
    gate = CallGate(1.0, clock=clock, sleep=clock.sleep)
    clients = {r: boto3.client("connect", region_name=r, aws_access_key_id="x", aws_secret_access_key="x")
               for r in ("us-east-1", "us-west-2")}  # fmt: skip
    for region, client in clients.items():
        gate.attach(client, region)
    for client in (clients["us-east-1"], clients["us-west-2"], clients["us-east-1"]):
        client.meta.events.emit("before-send.connect.ListPhoneNumbersV2", request=None)
    assert clock.slept == [1.0]


def test_the_gate_stops_the_run_rather_than_sleep_past_the_deadline() -> None:
    clock = FakeClock()
    gate = CallGate(0.1, clock=clock, sleep=clock.sleep)
    gate.begin(lambda: 5.0)
    gate.wait("us-east-1", "ListPhoneNumbersV2")
    with pytest.raises(OutOfTime):
        gate.wait("us-east-1", "ListPhoneNumbersV2")


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
    assert result.refused["m0"].startswith("InvalidParameter") and "m0" not in result.failed
    assert "slow down" in result.failed["m1"]
    assert [len(b) for b in sns.batches] == [2, 1, 1, 1]


def stubbed(region: str = "us-east-1") -> tuple[Any, Stubber]:
    client = boto3.client("connect", region_name=region, aws_access_key_id="x", aws_secret_access_key="x")
    return client, Stubber(client)


def test_discovery_keeps_only_the_tdgs_that_can_hold_numbers() -> None:
    # Given an instance with a TDG in each of the six statuses
    client, stub = stubbed()
    target = instance()
    stub.add_response("list_instances", {"InstanceSummaryList": [
        {"Id": "i", "Arn": target.arn, "InstanceStatus": "ACTIVE", "InstanceAlias": "primary"}]})  # fmt: skip
    statuses = ["CREATION_IN_PROGRESS", "ACTIVE", "CREATION_FAILED", "PENDING_DELETION", "DELETION_FAILED",
                "UPDATE_IN_PROGRESS"]  # fmt: skip
    groups = [{**_tdg_summary(tdg(status.lower()[:8])), "Status": status} for status in statuses]
    stub.add_response("list_traffic_distribution_groups", {"TrafficDistributionGroupSummaryList": groups},
                      {"InstanceId": target.arn, "MaxResults": 10})  # fmt: skip
    # When discovery runs
    with stub:
        found = ConnectInventory(lambda region: client, CallGate(100)).discover("us-east-1")
    # Then the groups being created, failed or being deleted are not targets (none can hold a number)
    assert found.failures == []
    assert sorted(t.name for t in found.targets) == ["active", "deletion", "primary", "update_i"]


def _tdg_summary(target: Any) -> dict[str, Any]:
    return {"Id": target.arn.rsplit("/", 1)[-1], "Arn": target.arn, "Name": target.name,
            "InstanceArn": target.instance_arn, "IsDefault": False}  # fmt: skip


def test_a_summary_without_optional_fields_still_names_its_target() -> None:
    target = instance()
    bare = {"PhoneNumberArn": numbers(1, target)[0].arn, "PhoneNumber": "+12065550100"}
    client = FakeConnect({target.arn: [bare]})
    (listed,) = ConnectInventory(lambda region: client, CallGate(10)).list_numbers(target)  # type: ignore[arg-type,return-value]
    assert (listed.target_arn, listed.description, listed.type) == (target.arn, None, "")


def test_a_summary_without_its_arn_makes_the_target_unobserved_naming_the_field() -> None:
    target = instance()
    client = FakeConnect({target.arn: [{"PhoneNumber": "+12065550100"}]})
    with pytest.raises(TargetUnavailable, match="no PhoneNumberArn"):
        ConnectInventory(lambda region: client, CallGate(10)).list_numbers(target)  # type: ignore[arg-type,return-value]


def test_a_listing_that_shows_a_number_twice_keeps_it_once_as_last_shown() -> None:
    target = instance()
    first = {**numbers(1, target)[0].as_summary(), "PhoneNumberDescription": "before"}
    client = FakeConnect(
        {target.arn: [first, *summaries(5, target.arn)[1:], {**first, "PhoneNumberDescription": "after"}]}
    )
    listed = ConnectInventory(lambda region: client, CallGate(10)).list_numbers(target)  # type: ignore[arg-type,return-value]
    assert len(listed) == 5 and [n.description for n in listed if n.arn == first["PhoneNumberArn"]] == ["after"]


@pytest.mark.parametrize(
    ("answer", "presence"),
    [
        (ClientError({"Error": {"Code": "ResourceNotFoundException", "Message": "gone"}}, "DescribePhoneNumber"),
         Presence.GONE),
        (ClientError({"Error": {"Code": "ThrottlingException", "Message": "slow"}}, "DescribePhoneNumber"),
         Presence.UNKNOWN),
        (ClientError({"Error": {"Code": "AccessDeniedException", "Message": "no"}}, "DescribePhoneNumber"),
         Presence.UNKNOWN),
        ({"Status": "IN_PROGRESS"}, Presence.IN_PROGRESS),
        ({"Status": "FAILED", "Message": "the claim failed"}, Presence.FAILED),
        ({"Status": "CLAIMED"}, Presence.CLAIMED),
    ],
)  # fmt: skip
def test_describe_says_where_a_number_is_asked_in_its_own_region(answer: Any, presence: Presence) -> None:
    west = number(1, tdg(), region="us-west-2")
    asked: list[str] = []

    class Describer:
        def describe_phone_number(self, PhoneNumberId: str) -> dict[str, Any]:  # noqa: N803 - boto3's name
            if isinstance(answer, Exception):
                raise answer
            return {"ClaimedPhoneNumberSummary": {**west.as_summary(), "PhoneNumberStatus": answer}}

    def client_for(region: str) -> Any:
        asked.append(region)
        return Describer()

    described = ConnectInventory(client_for, CallGate(10)).describe(west.arn)
    assert described.presence is presence and asked == ["us-west-2"]
    if presence is Presence.UNKNOWN:
        assert described.reason.startswith("DescribePhoneNumber: ")
    # The status's message, when Connect gives one, is kept for the archive's details table
    assert described.status_message == (answer.get("Message") if isinstance(answer, dict) else None)


# ------------------------------------------------------------------ lean listing parse
def answered_by(status: int, body: bytes, lean: bool) -> tuple[Any, list[bytes]]:
    """A Connect client whose every request gets this HTTP answer (no network), parsed leanly or not, and
    the bodies botocore's own parser was then given."""
    client = boto3.client(
        "connect", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x",
        config=Config(retries={"total_max_attempts": 1}),
    )  # fmt: skip
    return answering(client, status, body, lean=lean)


def answering(client: Any, status: int, body: bytes, lean: bool = False) -> tuple[Any, list[bytes]]:
    headers = {"Content-Type": "application/json", "x-amzn-RequestId": "r-1"}
    if status != 200:
        headers["x-amzn-ErrorType"] = "AccessDeniedException"

    def answer(request: Any, **_: Any) -> AWSResponse:
        raw = urllib3.HTTPResponse(body=io.BytesIO(body), status=status, headers=headers, preload_content=False)
        return AWSResponse(request.url, status, HTTPHeaders.from_dict(headers), raw)

    client.meta.events.register("before-send.connect.ListPhoneNumbersV2", answer)
    if lean:
        parse_listings_leanly(client)
    parsed: list[bytes] = []  # registered last: sees what botocore's parser is handed
    client.meta.events.register(
        "before-parse.connect.ListPhoneNumbersV2", lambda response_dict, **_: parsed.append(response_dict["body"])
    )
    return client, parsed


SUMMARY = {
    "PhoneNumberId": "n1", "PhoneNumberArn": "arn:aws:connect:us-east-1:111122223333:phone-number/n1",
    "PhoneNumber": "+15550100", "PhoneNumberCountryCode": "US", "PhoneNumberType": "DID",
    "TargetArn": "arn:aws:connect:us-east-1:111122223333:instance/i", "InstanceId": "i",
    "PhoneNumberDescription": "<b>main</b> line",
}  # fmt: skip
LISTED = {
    "ListPhoneNumbersSummaryList": [
        {**SUMMARY, "SourcePhoneNumberArn": None},
        {**SUMMARY, "PhoneNumberId": "n2", "PhoneNumberArn": SUMMARY["PhoneNumberArn"][:-1] + "2",
         "PhoneNumberType": "TOLL_FREE", "PhoneNumberDescription": ""},
    ],
    "NextToken": "page-2",
}  # fmt: skip
PAGES = {"two-numbers": LISTED, "null-token": {**LISTED, "NextToken": None}, "empty-list": {
    "ListPhoneNumbersSummaryList": []}, "no-list": {}}  # fmt: skip


@pytest.mark.parametrize("page", PAGES.values(), ids=PAGES.keys())
def test_a_page_parsed_leanly_is_what_botocore_parses_without_botocore_walking_it(page: dict[str, Any]) -> None:
    # Given the same page answered to a plain client and to a lean one
    body = json.dumps(page).encode()
    plain, plain_parsed = answered_by(200, body, lean=False)
    lean, lean_parsed = answered_by(200, body, lean=True)
    # When each lists it
    plain_page, lean_page = (c.list_phone_numbers_v2(TargetArn="t") for c in (plain, lean))
    # Then both hold the same summaries and next token, with the response's metadata
    for key in ("ListPhoneNumbersSummaryList", "NextToken"):
        assert lean_page.get(key) == plain_page.get(key)
    assert lean_page["ResponseMetadata"]["RequestId"] == plain_page["ResponseMetadata"]["RequestId"] == "r-1"
    # And botocore's parser was handed the page itself only by the plain client
    assert (plain_parsed, lean_parsed) == ([body], [b"{}"])


def test_a_listing_never_brings_what_the_model_does_not_name_tags_status_or_a_flow() -> None:
    # Given a listing whose summary also carries tags, a claim status, a flow and a field no model names
    extra = {"Tags": {"owner": "\u202eevil"}, "PhoneNumberStatus": {"Status": "FAILED"}, "FlowId": "f",
             "FlowName": "Main", "Unmodelled": 1}  # fmt: skip
    body = json.dumps({"ListPhoneNumbersSummaryList": [{**SUMMARY, **extra}]}).encode()
    # When a plain and a lean client list it
    pages = [answered_by(200, body, lean)[0].list_phone_numbers_v2(TargetArn="t") for lean in (False, True)]
    # Then both keep the model's members alone, and the number has no tags, status or flow from the listing
    for page in pages:
        (summary,) = page["ListPhoneNumbersSummaryList"]
        assert summary == SUMMARY
        listed = PhoneNumber.from_summary(summary)
        assert (listed.tags, listed.status, listed.flow_id) == (None, None, None)


@pytest.mark.parametrize(
    "body",
    [b"{not json", b'{"ListPhoneNumbersSummaryList": "oops"}', b"[1]", b'{"ListPhoneNumbersSummaryList": [1]}',
     b'{"ListPhoneNumbersSummaryList": [], "NextToken": 7}'],
    ids=["not-json", "list-not-a-list", "not-an-object", "summary-not-an-object", "token-not-text"],
)  # fmt: skip
def test_a_successful_answer_that_is_not_a_listing_makes_its_target_unavailable(body: bytes) -> None:
    # Given a target whose listing answers 200 with something that is not a listing (botocore would read
    # an empty last page: every number after it would look released)
    client, _ = answered_by(200, body, lean=True)
    inventory = ConnectInventory(lambda region: client, CallGate(100))
    # When it is listed, then the target is unavailable, saying why
    with pytest.raises(TargetUnavailable, match="ListPhoneNumbersV2 answered a ListPhoneNumbersV2 page"):
        inventory.list_numbers(instance())


def test_an_error_answer_is_left_to_botocore_and_raises_what_it_raises() -> None:
    body = b'{"message": "denied"}'
    errors = []
    for lean in (False, True):
        with pytest.raises(ClientError) as raised:
            answered_by(403, body, lean)[0].list_phone_numbers_v2(TargetArn="t")
        errors.append(raised.value.response["Error"])
    assert errors[0] == errors[1] and errors[0]["Code"] == "AccessDeniedException"


def test_the_function_s_connect_clients_parse_listings_leanly_its_own_and_a_member_account_s(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Given the function's clients (with credentials of their own: none is looked for on the network)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "x")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "x")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    clients = AwsClients(Settings.from_environment(ENVIRONMENT))
    member = MemberCredentials("210987654321", "key", "secret", "token")
    body = json.dumps(LISTED).encode()
    for connect in (clients.connect("us-east-1"), clients.member_connect(member)("us-west-2")):
        # When one lists a page, then botocore's parser never walked it
        _, parsed = answering(connect, 200, body)
        connect.list_phone_numbers_v2(TargetArn="t")
        assert parsed == [b"{}"]
