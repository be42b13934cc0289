"""What the emulated services do as days pass, on a clock the test moves: a failed claim holds its number
for one day, and CloudTrail keeps 90 days of events."""

from __future__ import annotations

from typing import Any

import pytest

from localaws.callers import Caller
from localaws.cloudtrail.trail import Trail
from localaws.connect.backend import FAILED_CLAIM_HOLD_SECONDS, ConnectBackend
from localaws.service_model import ApiError

ACCOUNT, REGION = "123456789012", "us-east-1"
DAY = 24 * 3600


class Clock:
    def __init__(self) -> None:
        self.now = 1_700_000_000.0

    def __call__(self) -> float:
        return self.now


def invalid(message: str) -> ApiError:
    return ApiError("InvalidParameterException", message)


class Connect:
    """The emulated service, called as the emulator's front calls it (parameters already validated)."""

    def __init__(self, clock: Clock) -> None:
        self.backend = ConnectBackend(clock=clock)

    def __call__(self, operation: str, **params: Any) -> dict[str, Any]:
        return self.backend.call(operation, ACCOUNT, REGION, params, invalid)

    def offers(self, target_arn: str) -> list[str]:
        found = self(
            "SearchAvailablePhoneNumbers",
            TargetArn=target_arn,
            PhoneNumberCountryCode="US",
            PhoneNumberType="DID",
            MaxResults=3,
        )
        return [offer["PhoneNumber"] for offer in found["AvailableNumbersList"]]


@pytest.fixture
def clock() -> Clock:
    return Clock()


def test_a_failed_claim_holds_its_number_for_one_day_then_returns_it_to_the_pool(clock: Clock) -> None:
    # Given a claim that fails
    connect = Connect(clock)
    instance = connect(
        "CreateInstance", IdentityManagementType="CONNECT_MANAGED", InboundCallsEnabled=True, OutboundCallsEnabled=True
    )
    wanted = connect.offers(instance["Arn"])[0]
    connect.backend.configure({"fail_next_async": 1})
    failed = connect("ClaimPhoneNumber", TargetArn=instance["Arn"], PhoneNumber=wanted)
    # Then, until a day has passed, it is described FAILED, listed, and offered to nobody
    clock.now += FAILED_CLAIM_HOLD_SECONDS - 1
    described = connect("DescribePhoneNumber", PhoneNumberId=failed["PhoneNumberId"])
    assert described["ClaimedPhoneNumberSummary"]["PhoneNumberStatus"]["Status"] == "FAILED"
    listed = connect("ListPhoneNumbersV2", TargetArn=instance["Arn"])["ListPhoneNumbersSummaryList"]
    assert [n["PhoneNumberId"] for n in listed] == [failed["PhoneNumberId"]]
    assert wanted not in connect.offers(instance["Arn"])
    # When the day is over, then the number is gone from the account and back in the pool
    clock.now += 1
    with pytest.raises(ApiError) as gone:
        connect("DescribePhoneNumber", PhoneNumberId=failed["PhoneNumberId"])
    assert gone.value.code == "ResourceNotFoundException"
    assert connect("ListPhoneNumbersV2", TargetArn=instance["Arn"])["ListPhoneNumbersSummaryList"] == []
    assert connect.offers(instance["Arn"])[0] == wanted


def caller() -> Caller:
    identity = {"type": "IAMUser", "arn": f"arn:aws:iam::{ACCOUNT}:user/alice", "userName": "alice"}
    return Caller(ACCOUNT, "AKIAALICE", identity, "alice", "127.0.0.1", "Boto3/1")


def test_cloudtrail_keeps_ninety_days_of_events(clock: Clock) -> None:
    # Given an event recorded now
    trail = Trail(clock=clock)
    recorded = trail.record(caller(), REGION, "ReleasePhoneNumber", {"PhoneNumberId": "n-1"}, None)
    # Then it is kept for 90 days
    clock.now += 90 * DAY
    assert [e.event_id for e in trail.newest_first(ACCOUNT, REGION)] == [recorded.event_id]
    # And forgotten a second later
    clock.now += 1
    assert trail.newest_first(ACCOUNT, REGION) == []


def test_cloudtrail_records_whole_seconds_and_the_newest_comes_first(clock: Clock) -> None:
    trail = Trail(clock=clock)
    clock.now = 1_700_000_000.75
    first = trail.record(caller(), REGION, "ClaimPhoneNumber", {"PhoneNumber": "+12065550100"}, None)
    second = trail.record(caller(), REGION, "ReleasePhoneNumber", {"PhoneNumberId": "n-1"}, None)
    assert first.event_time == 1_700_000_000
    assert first.record["eventTime"] == "2023-11-14T22:13:20Z"
    assert [e.event_id for e in trail.newest_first(ACCOUNT, REGION)] == [second.event_id, first.event_id]
    assert trail.newest_first(ACCOUNT, "us-west-2") == []
