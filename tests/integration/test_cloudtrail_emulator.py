"""CloudTrail's LookupEvents as the local stack answers it, from the Connect emulator's record of its own
calls: through boto3 and through the product's own adapter (`CloudTrailLookup`)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from localaws.control import ControlRefused, StackControl
from localaws.organization import as_account
from numberwatch.adapters.cloudtrail import CloudTrailLookup, record_of
from numberwatch.adapters.connect import CallGate
from tests.support.estate import HOME, WEST, Estate

ACCOUNT = "123456789012"
CONTENT = json.dumps({"Version": "2019-10-30", "StartAction": "end", "Actions": [{"Identifier": "end"}]})
NO_RETRIES = {"retries": {"mode": "standard", "total_max_attempts": 1}}


def cloudtrail(region: str = HOME, credentials: dict[str, str] | None = None, **config: Any) -> Any:
    keys = (
        {
            "aws_access_key_id": credentials["AccessKeyId"],
            "aws_secret_access_key": credentials["SecretAccessKey"],
            "aws_session_token": credentials.get("SessionToken"),
        }
        if credentials
        else {}
    )
    return boto3.client("cloudtrail", region_name=region, config=Config(**config) if config else None, **keys)


def connect_as(credentials: dict[str, str], region: str = HOME) -> Any:
    return boto3.client(
        "connect",
        region_name=region,
        aws_access_key_id=credentials["AccessKeyId"],
        aws_secret_access_key=credentials["SecretAccessKey"],
        aws_session_token=credentials.get("SessionToken"),
    )


def events(event_name: str, region: str = HOME, **arguments: Any) -> list[dict[str, Any]]:
    pages = (
        cloudtrail(region)
        .get_paginator("lookup_events")
        .paginate(LookupAttributes=[{"AttributeKey": "EventName", "AttributeValue": event_name}], **arguments)
    )
    return [event for page in pages for event in page["Events"]]


def record(event: dict[str, Any]) -> dict[str, Any]:
    detail: dict[str, Any] = json.loads(event["CloudTrailEvent"])
    return detail


def error_code(excinfo: pytest.ExceptionInfo[ClientError]) -> str:
    return str(excinfo.value.response["Error"]["Code"])


def make_every_recorded_call(estate: Estate) -> dict[str, Any]:
    """One of each mutating call the emulator records (two CreateInstance); what they named."""
    client = estate.clients[HOME]
    primary, branch = estate.instance("primary"), estate.instance("branch")
    flow = client.create_contact_flow(InstanceId=primary["Id"], Name="Sales", Type="CONTACT_FLOW", Content=CONTENT)
    estate.replicate(primary)
    spare = estate.tdg(primary, "spare")
    (number,) = estate.claim(primary["Arn"])
    imported = estate.import_number(primary, "phone-imported")
    client.tag_resource(resourceArn=number.arn, tags={"owner": "sales"})
    client.untag_resource(resourceArn=number.arn, tagKeys=["owner"])
    estate.describe(number, "Sales line")
    client.associate_phone_number_contact_flow(
        PhoneNumberId=number.id, InstanceId=primary["Id"], ContactFlowId=flow["ContactFlowId"]
    )
    client.disassociate_phone_number_contact_flow(PhoneNumberId=number.id, InstanceId=primary["Id"])
    estate.move(number, branch["Arn"])
    estate.release(imported)
    client.delete_contact_flow(InstanceId=primary["Id"], ContactFlowId=flow["ContactFlowId"])
    client.delete_traffic_distribution_group(TrafficDistributionGroupId=spare["Id"])
    client.delete_instance(InstanceId=branch["Id"])
    return {"number": number, "imported": imported, "primary": primary}


RECORDED = {
    "CreateInstance": 2,
    "CreateContactFlow": 1,
    "ReplicateInstance": 1,
    "CreateTrafficDistributionGroup": 1,
    "ClaimPhoneNumber": 1,
    "ImportPhoneNumber": 1,
    "TagResource": 1,
    "UntagResource": 1,
    "UpdatePhoneNumberMetadata": 1,
    "AssociatePhoneNumberContactFlow": 1,
    "DisassociatePhoneNumberContactFlow": 1,
    "UpdatePhoneNumber": 1,
    "ReleasePhoneNumber": 1,
    "DeleteContactFlow": 1,
    "DeleteTrafficDistributionGroup": 1,
    "DeleteInstance": 1,
}


@pytest.mark.parametrize(("event_name", "count"), sorted(RECORDED.items()))
def test_each_mutating_call_is_found_by_its_event_name(estate: Estate, event_name: str, count: int) -> None:
    # Given one of each call the emulator records
    make_every_recorded_call(estate)
    # When CloudTrail is asked for one event name, then it answers those calls' events only
    found = events(event_name)
    assert [e["EventName"] for e in found] == [event_name] * count
    for event in found:
        detail = record(event)
        assert (event["EventSource"], detail["eventSource"]) == ("connect.amazonaws.com", "connect.amazonaws.com")
        assert (detail["eventName"], detail["awsRegion"], detail["eventID"]) == (event_name, HOME, event["EventId"])
        assert (detail["eventType"], detail["readOnly"], detail["recipientAccountId"]) == ("AwsApiCall", False, ACCOUNT)
        assert detail["requestParameters"]


def test_read_only_calls_leave_no_event(estate: Estate) -> None:
    instance = estate.instance("primary")
    before = cloudtrail().lookup_events()["Events"]
    client = estate.clients[HOME]
    client.describe_instance(InstanceId=instance["Id"])
    client.list_phone_numbers_v2(TargetArn=instance["Arn"])
    client.search_available_phone_numbers(
        TargetArn=instance["Arn"], PhoneNumberCountryCode="US", PhoneNumberType="DID", MaxResults=1
    )
    assert [e["EventName"] for e in before] == ["CreateInstance"]
    assert cloudtrail().lookup_events()["Events"] == before


def test_claims_and_imports_answer_the_number_s_id_and_arn(estate: Estate) -> None:
    done = make_every_recorded_call(estate)
    for event_name, number in (("ClaimPhoneNumber", done["number"]), ("ImportPhoneNumber", done["imported"])):
        (event,) = events(event_name)
        assert record(event)["responseElements"] == {"PhoneNumberId": number.id, "PhoneNumberArn": number.arn}
        assert {"ResourceType": "AWS::Connect::PhoneNumber", "ResourceName": number.arn} in event["Resources"]


def test_the_caller_s_iam_user_address_and_agent_are_recorded(estate: Estate) -> None:
    # Given an IAM user with an access key, and a caller whose key no IAM user holds (the tests' own)
    iam = boto3.client("iam")
    user = iam.create_user(UserName="alice")["User"]
    key = iam.create_access_key(UserName="alice")["AccessKey"]
    instance = estate.instance("primary")
    (number,) = estate.claim(instance["Arn"])
    # When alice releases a number
    connect_as(key).release_phone_number(PhoneNumberId=number.id)
    # Then her identity, her address and her SDK are recorded
    (released,) = events("ReleasePhoneNumber")
    detail = record(released)
    assert detail["userIdentity"] == {
        "type": "IAMUser",
        "principalId": user["UserId"],
        "arn": user["Arn"],
        "accountId": ACCOUNT,
        "accessKeyId": key["AccessKeyId"],
        "userName": "alice",
    }
    assert (released["Username"], released["AccessKeyId"]) == ("alice", key["AccessKeyId"])
    assert detail["sourceIPAddress"] == "127.0.0.1"
    assert detail["userAgent"].startswith("Boto3/")
    # And the caller with an unknown key is moto's default user
    (claimed,) = events("ClaimPhoneNumber")
    assert record(claimed)["userIdentity"]["arn"] == f"arn:aws:iam::{ACCOUNT}:user/moto"
    assert claimed["Username"] == "moto"


def test_an_assumed_role_is_recorded_with_its_arn_and_session_name(estate: Estate) -> None:
    # Given a number, and credentials of a role assumed in its account
    instance = estate.instance("primary")
    (number,) = estate.claim(instance["Arn"])
    role = boto3.client("iam").create_role(RoleName="number-admin", AssumeRolePolicyDocument="{}")["Role"]
    role_arn = role["Arn"]
    assumed = boto3.client("sts").assume_role(RoleArn=role_arn, RoleSessionName="bob")["Credentials"]
    # When the role's session releases the number
    connect_as(assumed).release_phone_number(PhoneNumberId=number.id)
    # Then the event names the assumed role, its session and the role that issued it
    (event,) = events("ReleasePhoneNumber")
    identity = record(event)["userIdentity"]
    assert identity["type"] == "AssumedRole"
    assert identity["arn"] == f"arn:aws:sts::{ACCOUNT}:assumed-role/number-admin/bob"
    assert identity["principalId"] == f"{role['RoleId']}:bob"
    assert identity["accessKeyId"] == assumed["AccessKeyId"]
    assert identity["sessionContext"]["sessionIssuer"]["arn"] == role_arn
    assert event["Username"] == "bob"
    # And the product reads who it was
    trail_record = record_of(event)
    assert (trail_record.principal_type, trail_record.principal_arn, trail_record.session_name) == (
        "AssumedRole",
        f"arn:aws:sts::{ACCOUNT}:assumed-role/number-admin/bob",
        "bob",
    )


def test_events_page_newest_first_up_to_fifty_a_page(estate: Estate) -> None:
    # Given seven tag changes of one number
    instance = estate.instance("primary")
    (number,) = estate.claim(instance["Arn"])
    for index in range(7):
        estate.clients[HOME].tag_resource(resourceArn=number.arn, tags={"n": str(index)})
    # When they are looked up three at a time
    pages = list(
        cloudtrail()
        .get_paginator("lookup_events")
        .paginate(
            LookupAttributes=[{"AttributeKey": "EventName", "AttributeValue": "TagResource"}],
            PaginationConfig={"PageSize": 3},
        )
    )
    # Then they come in three pages, newest first, each once
    assert [len(p["Events"]) for p in pages] == [3, 3, 1]
    found = [record(e)["requestParameters"]["tags"]["n"] for p in pages for e in p["Events"]]
    assert found == ["6", "5", "4", "3", "2", "1", "0"]


def test_the_time_range_bounds_the_events(estate: Estate) -> None:
    estate.instance("primary")
    now = datetime.now(UTC)
    hour = timedelta(hours=1)
    assert len(events("CreateInstance", StartTime=now - hour, EndTime=now + hour)) == 1
    assert events("CreateInstance", StartTime=now + hour) == []
    assert events("CreateInstance", EndTime=now - hour) == []


def test_events_are_kept_per_region_and_account(estate: Estate) -> None:
    # Given an instance created in each Region
    estate.instance("east")
    estate.instance("west", region=WEST)
    # Then each Region's CloudTrail has its own
    for region, alias in ((HOME, "east"), (WEST, "west")):
        (event,) = events("CreateInstance", region=region)
        assert record(event)["requestParameters"]["InstanceAlias"] == alias
    # And another account's CloudTrail has neither
    as_account(boto3.client("iam"), "210987654321").create_role(RoleName="auditor", AssumeRolePolicyDocument="{}")
    other = boto3.client("sts").assume_role(RoleArn="arn:aws:iam::210987654321:role/auditor", RoleSessionName="audit")
    assert cloudtrail(credentials=other["Credentials"]).lookup_events()["Events"] == []


@pytest.mark.parametrize(
    ("arguments", "code"),
    [
        (
            {
                "LookupAttributes": [
                    {"AttributeKey": "EventName", "AttributeValue": "ClaimPhoneNumber"},
                    {"AttributeKey": "Username", "AttributeValue": "moto"},
                ]
            },
            "InvalidLookupAttributesException",
        ),
        (
            {"LookupAttributes": [{"AttributeKey": "PhoneNumber", "AttributeValue": "x"}]},
            "InvalidLookupAttributesException",
        ),
        (
            {"LookupAttributes": [{"AttributeKey": "EventName", "AttributeValue": ""}]},
            "InvalidLookupAttributesException",
        ),
        ({"LookupAttributes": [{"AttributeKey": "EventName"}]}, "InvalidLookupAttributesException"),
        ({"MaxResults": 0}, "InvalidMaxResultsException"),
        ({"MaxResults": 51}, "InvalidMaxResultsException"),
        (
            {"StartTime": datetime(2026, 1, 2, tzinfo=UTC), "EndTime": datetime(2026, 1, 1, tzinfo=UTC)},
            "InvalidTimeRangeException",
        ),
        ({"NextToken": "forged"}, "InvalidNextTokenException"),
        ({"EventCategory": "everything"}, "InvalidEventCategoryException"),
    ],
)
def test_a_bad_lookup_is_refused_with_cloudtrail_s_own_error(
    stack: StackControl, arguments: dict[str, Any], code: str
) -> None:
    with pytest.raises(ClientError) as refused:
        cloudtrail(parameter_validation=False).lookup_events(**arguments)
    assert error_code(refused) == code
    assert refused.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400


def test_lookups_past_the_quota_are_throttled_until_the_quota_is_lifted(stack: StackControl) -> None:
    # Given a LookupEvents bucket of 2 that does not refill during the test
    stack.set_quotas(enabled=True, operations={"LookupEvents": {"rate": 0.001, "burst": 2}})
    eager = cloudtrail(**NO_RETRIES)
    # When 4 lookups arrive at once, then 2 pass and 2 are throttled
    outcomes = []
    for _ in range(4):
        try:
            eager.lookup_events()
            outcomes.append("ok")
        except ClientError as exc:
            outcomes.append(error_code_of(exc))
    assert outcomes == ["ok", "ok", "ThrottlingException", "ThrottlingException"]
    assert stack.requests()["operations"]["LookupEvents"]["throttled"] == 2
    # And the control that lifts Connect's quotas lifts it too
    stack.lift_quotas()
    assert eager.lookup_events()["Events"] == []


def error_code_of(exc: ClientError) -> str:
    return str(exc.response["Error"]["Code"])


def test_a_fault_can_deny_lookups_with_an_error_cloudtrail_answers(stack: StackControl) -> None:
    stack.add_fault(operation="LookupEvents", error="AccessDeniedException", times=1)
    with pytest.raises(ClientError) as denied:
        cloudtrail(**NO_RETRIES).lookup_events()
    assert error_code(denied) == "AccessDeniedException"
    assert cloudtrail().lookup_events()["Events"] == []
    with pytest.raises(ControlRefused) as refused:
        stack.add_fault(operation="LookupEvents", error="ResourceNotFoundException")
    assert "InvalidLookupAttributesException" in refused.value.reason


def test_a_console_change_leaves_no_event(stack: StackControl, estate: Estate) -> None:
    # Given two numbers and a second instance
    primary, branch = estate.instance("primary"), estate.instance("branch")
    released, changed = estate.claim(primary["Arn"], 2)
    # When they are released, tagged, described and moved in the admin website
    stack.console_change("release", phone_number_id=released.id)
    stack.console_change("tag", phone_number_id=changed.id, tags={"owner": "ops"})
    stack.console_change("describe", phone_number_id=changed.id, description="Moved by hand")
    moved = stack.console_change("move", phone_number_id=changed.id, target_arn=branch["Arn"])
    # Then the changes are made, as the API would make them
    assert moved["operation"] == "UpdatePhoneNumber"
    described = estate.clients[HOME].describe_phone_number(PhoneNumberId=changed.id)["ClaimedPhoneNumberSummary"]
    assert (described["TargetArn"], described["Tags"], described["PhoneNumberDescription"]) == (
        branch["Arn"],
        {"owner": "ops"},
        "Moved by hand",
    )
    # And CloudTrail has no record of any of them
    for event_name in ("ReleasePhoneNumber", "TagResource", "UpdatePhoneNumberMetadata", "UpdatePhoneNumber"):
        assert events(event_name) == []
    assert len(events("ClaimPhoneNumber")) == 2
    # While a console change the API would refuse is refused, naming why
    with pytest.raises(ControlRefused) as refused:
        stack.console_change("release", phone_number_id=released.id)
    assert "ResourceNotFoundException" in refused.value.reason


@pytest.mark.parametrize("recorded", [True, False])
def test_a_listing_change_is_an_api_call_in_cloudtrail_unless_told_otherwise(
    stack: StackControl, estate: Estate, recorded: bool
) -> None:
    primary = estate.instance("primary")
    (number,) = estate.claim(primary["Arn"])
    stack.add_listing_change(on_call=1, action="release", phone_number_id=number.id, recorded=recorded)
    estate.clients[HOME].list_phone_numbers_v2(TargetArn=primary["Arn"])
    assert stack.listing_changes()[0]["outcome"] == "applied"
    found = events("ReleasePhoneNumber")
    assert len(found) == (1 if recorded else 0)
    if recorded:
        assert record(found[0])["userIdentity"]["userName"] == "listing-change"
        assert record(found[0])["requestParameters"] == {"PhoneNumberId": number.id}


def test_the_product_s_trail_adapter_reads_who_changed_which_number(estate: Estate) -> None:
    # Given a number claimed and described
    instance = estate.instance("primary")
    (number,) = estate.claim(instance["Arn"])
    estate.describe(number, "Support")
    now = datetime.now(UTC)
    # When the product looks up the claims of the last hour
    trail = CloudTrailLookup(lambda region: cloudtrail(region), CallGate(100.0, burst=100.0))
    (claim,) = trail.lookup(HOME, "ClaimPhoneNumber", now - timedelta(hours=1), now + timedelta(minutes=1))
    # Then it knows the number by id and ARN, and who claimed it from where
    assert {number.id, number.arn} <= claim.references
    assert (claim.principal_type, claim.principal_arn) == ("IAMUser", f"arn:aws:iam::{ACCOUNT}:user/moto")
    assert claim.source_ip == "127.0.0.1"
    assert claim.user_agent is not None and claim.user_agent.startswith("Boto3/")
    (described,) = trail.lookup(HOME, "UpdatePhoneNumberMetadata", now - timedelta(hours=1), now)
    assert number.id in described.references
