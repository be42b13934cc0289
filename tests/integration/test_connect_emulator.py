"""The Connect emulator, through boto3 and the local stack's one endpoint, against the API reference."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from localaws.control import ControlRefused, StackControl
from localaws.demo import REPLICA_REGION, create_instance
from localaws.organization import as_account

ACCOUNT = "123456789012"


def connect(region: str = "us-east-1", **config: Any) -> Any:
    return boto3.client("connect", region_name=region, config=Config(**config) if config else None)


def error_of(excinfo: pytest.ExceptionInfo[ClientError]) -> tuple[str, int, str]:
    response = excinfo.value.response
    return response["Error"]["Code"], response["ResponseMetadata"]["HTTPStatusCode"], response["Error"]["Message"]


def claim(client: Any, target_arn: str, country: str = "US", number_type: str = "DID", **extra: Any) -> dict[str, str]:
    offer = client.search_available_phone_numbers(
        TargetArn=target_arn, PhoneNumberCountryCode=country, PhoneNumberType=number_type, MaxResults=1
    )["AvailableNumbersList"][0]
    claimed: dict[str, str] = client.claim_phone_number(TargetArn=target_arn, PhoneNumber=offer["PhoneNumber"], **extra)
    return claimed


def list_all(client: Any, **kwargs: Any) -> tuple[list[dict[str, Any]], int]:
    pages = list(client.get_paginator("list_phone_numbers_v2").paginate(**kwargs))
    return [n for p in pages for n in p["ListPhoneNumbersSummaryList"]], len(pages)


@pytest.fixture
def instance(stack: StackControl) -> dict[str, str]:
    stack.lift_quotas()
    return create_instance(connect(), "primary")


@pytest.mark.parametrize(("count", "pages"), [(999, 1), (1000, 1), (1001, 2), (2500, 3)])
def test_paginator_pages_every_boundary(stack: StackControl, instance: dict[str, str], count: int, pages: int) -> None:
    # Given an instance with `count` numbers
    stack.seed(account=ACCOUNT, region="us-east-1", target_arn=instance["Arn"], count=count)
    # When boto3's paginator lists them 1,000 at a time
    numbers, seen_pages = list_all(connect(), TargetArn=instance["Arn"], PaginationConfig={"PageSize": 1000})
    # Then every number comes exactly once, in the fewest pages
    assert len(numbers) == count
    assert len({n["PhoneNumberArn"] for n in numbers}) == count
    assert seen_pages == pages


def test_summaries_carry_every_field_and_imports_carry_their_source(
    stack: StackControl, instance: dict[str, str]
) -> None:
    client = connect()
    claimed = claim(client, instance["Arn"], PhoneNumberDescription="Sales")
    imported = client.import_phone_number(
        InstanceId=instance["Id"], SourcePhoneNumberArn=f"arn:aws:sms-voice:us-east-1:{ACCOUNT}:phone-number/phone-1"
    )
    numbers = {n["PhoneNumberId"]: n for n in list_all(client, InstanceId=instance["Id"])[0]}
    claimed_summary = numbers[claimed["PhoneNumberId"]]
    assert set(claimed_summary) == {
        "PhoneNumberId",
        "PhoneNumberArn",
        "PhoneNumber",
        "PhoneNumberCountryCode",
        "PhoneNumberType",
        "TargetArn",
        "InstanceId",
        "PhoneNumberDescription",
    }
    assert (
        claimed_summary["PhoneNumberArn"]
        == f"arn:aws:connect:us-east-1:{ACCOUNT}:phone-number/{claimed['PhoneNumberId']}"
    )
    assert claimed_summary["TargetArn"] == instance["Arn"]
    assert numbers[imported["PhoneNumberId"]]["SourcePhoneNumberArn"].endswith("phone-number/phone-1")


def test_filters_by_country_type_and_prefix_with_or_without_plus(stack: StackControl, instance: dict[str, str]) -> None:
    client = connect()
    gb = claim(client, instance["Arn"], "GB", "DID")
    toll_free = claim(client, instance["Arn"], "US", "TOLL_FREE")
    claim(client, instance["Arn"], "US", "DID")
    by_country = list_all(client, InstanceId=instance["Id"], PhoneNumberCountryCodes=["GB"])[0]
    by_type = list_all(client, InstanceId=instance["Id"], PhoneNumberTypes=["TOLL_FREE"])[0]
    assert [n["PhoneNumberId"] for n in by_country] == [gb["PhoneNumberId"]]
    assert [n["PhoneNumberId"] for n in by_type] == [toll_free["PhoneNumberId"]]
    for prefix in ("+44", "44"):
        found = list_all(client, InstanceId=instance["Id"], PhoneNumberPrefix=prefix)[0]
        assert [n["PhoneNumberId"] for n in found] == [gb["PhoneNumberId"]]


@pytest.mark.parametrize(
    ("arguments", "named"),
    [
        ({"MaxResults": 0}, "MaxResults"),
        ({"MaxResults": 1001}, "MaxResults"),
        ({"PhoneNumberCountryCodes": ["US"] * 11}, "PhoneNumberCountryCodes"),
        ({"PhoneNumberCountryCodes": ["XX"]}, "PhoneNumberCountryCodes"),
        ({"PhoneNumberTypes": ["DID"] * 7}, "PhoneNumberTypes"),
        ({"PhoneNumberTypes": ["MOBILE"]}, "PhoneNumberTypes"),
        ({"PhoneNumberPrefix": "+1-800"}, "PhoneNumberPrefix"),
        ({"PhoneNumberPrefix": "+123456789012"}, "PhoneNumberPrefix"),
        ({"InstanceId": "x" * 101}, "InstanceId"),
        ({"NextToken": "forged-token"}, "NextToken"),
    ],
)
def test_invalid_parameters_are_named(
    stack: StackControl, instance: dict[str, str], arguments: dict[str, Any], named: str
) -> None:
    client = connect(parameter_validation=False)
    with pytest.raises(ClientError) as excinfo:
        client.list_phone_numbers_v2(**arguments)
    code, status, message = error_of(excinfo)
    assert (code, status) == ("InvalidParameterException", 400)
    assert named in message


def test_a_token_from_another_query_is_rejected_not_restarted(stack: StackControl, instance: dict[str, str]) -> None:
    stack.seed(account=ACCOUNT, region="us-east-1", target_arn=instance["Arn"], count=5)
    client = connect()
    token = client.list_phone_numbers_v2(InstanceId=instance["Id"], MaxResults=2)["NextToken"]
    with pytest.raises(ClientError) as excinfo:
        client.list_phone_numbers_v2(InstanceId=instance["Id"], PhoneNumberTypes=["DID"], NextToken=token)
    assert error_of(excinfo)[0] == "InvalidParameterException"
    stack.reset()
    with pytest.raises(ClientError) as stale:
        client.list_phone_numbers_v2(NextToken=token)
    assert error_of(stale)[0] == "InvalidParameterException"


def test_unknown_targets_are_not_found(stack: StackControl, instance: dict[str, str]) -> None:
    client = connect()
    missing_tdg = f"arn:aws:connect:us-east-1:{ACCOUNT}:traffic-distribution-group/00000000-0000-0000-0000-000000000000"
    for arguments in ({"InstanceId": "00000000-0000-0000-0000-000000000000"}, {"TargetArn": missing_tdg}):
        with pytest.raises(ClientError) as excinfo:
            client.list_phone_numbers_v2(**arguments)
        assert error_of(excinfo)[:2] == ("ResourceNotFoundException", 404)


def test_list_instances_answers_only_its_own_errors(stack: StackControl) -> None:
    with pytest.raises(ClientError) as excinfo:
        connect(parameter_validation=False).list_instances(MaxResults=11)
    assert error_of(excinfo)[:2] == ("InvalidRequestException", 400)


def test_list_instances_pages_by_ten(stack: StackControl) -> None:
    stack.lift_quotas()
    client = connect()
    for index in range(12):
        create_instance(client, f"i{index}")
    pages = list(client.get_paginator("list_instances").paginate())
    assert [len(p["InstanceSummaryList"]) for p in pages] == [10, 2]
    assert {i["InstanceStatus"] for p in pages for i in p["InstanceSummaryList"]} == {"ACTIVE"}


def test_listing_with_neither_target_nor_instance_covers_the_region_s_instances(stack: StackControl) -> None:
    stack.lift_quotas()
    client = connect()
    first, second = create_instance(client, "a"), create_instance(client, "b")
    west = create_instance(connect(REPLICA_REGION), "w")
    numbers = [claim(client, first["Arn"]), claim(client, second["Arn"])]
    claim(connect(REPLICA_REGION), west["Arn"])
    listed = list_all(client)[0]
    assert {n["PhoneNumberId"] for n in listed} == {n["PhoneNumberId"] for n in numbers}


def test_replication_creates_a_default_tdg_listable_from_both_regions(
    stack: StackControl, instance: dict[str, str]
) -> None:
    home, west = connect(), connect(REPLICA_REGION)
    replica = home.replicate_instance(InstanceId=instance["Id"], ReplicaRegion=REPLICA_REGION)
    assert replica["Id"] == instance["Id"]
    assert replica["Arn"] == instance["Arn"].replace("us-east-1", REPLICA_REGION)
    tdgs = home.list_traffic_distribution_groups(InstanceId=instance["Id"])["TrafficDistributionGroupSummaryList"]
    assert [(t["IsDefault"], t["InstanceArn"]) for t in tdgs] == [(True, instance["Arn"])]
    tdg = tdgs[0]
    number = claim(west, tdg["Arn"])
    for client in (home, west):
        assert [n["PhoneNumberId"] for n in list_all(client, TargetArn=tdg["Arn"])[0]] == [number["PhoneNumberId"]]
    # From the replica Region a TDG is named by ARN, not by ID.
    with pytest.raises(ClientError) as excinfo:
        west.describe_traffic_distribution_group(TrafficDistributionGroupId=tdg["Id"])
    assert error_of(excinfo)[0] == "ResourceNotFoundException"
    assert west.describe_traffic_distribution_group(TrafficDistributionGroupId=tdg["Arn"])["TrafficDistributionGroup"][
        "IsDefault"
    ]


def test_replication_only_between_supported_region_pairs(stack: StackControl, instance: dict[str, str]) -> None:
    with pytest.raises(ClientError) as excinfo:
        connect().replicate_instance(InstanceId=instance["Id"], ReplicaRegion="eu-west-1")
    assert error_of(excinfo)[0] == "InvalidRequestException"


def test_tdgs_need_a_replicated_instance_and_page_by_ten(stack: StackControl, instance: dict[str, str]) -> None:
    client = connect()
    with pytest.raises(ClientError) as excinfo:
        client.create_traffic_distribution_group(Name="early", InstanceId=instance["Id"])
    assert error_of(excinfo)[0] == "InvalidRequestException"
    client.replicate_instance(InstanceId=instance["Id"], ReplicaRegion=REPLICA_REGION)
    for index in range(10):
        client.create_traffic_distribution_group(Name=f"tdg-{index}", InstanceId=instance["Arn"])
    pages = list(client.get_paginator("list_traffic_distribution_groups").paginate(InstanceId=instance["Id"]))
    assert [len(p["TrafficDistributionGroupSummaryList"]) for p in pages] == [10, 1]


def test_moves_keep_id_and_arn_and_stay_in_their_region(stack: StackControl, instance: dict[str, str]) -> None:
    client = connect()
    other = create_instance(client, "other")
    west = create_instance(connect(REPLICA_REGION), "west")
    number = claim(client, instance["Arn"])
    moved = client.update_phone_number(PhoneNumberId=number["PhoneNumberId"], TargetArn=other["Arn"])
    assert moved == {**moved, "PhoneNumberId": number["PhoneNumberId"], "PhoneNumberArn": number["PhoneNumberArn"]}
    assert [n["PhoneNumberId"] for n in list_all(client, TargetArn=other["Arn"])[0]] == [number["PhoneNumberId"]]
    assert list_all(client, TargetArn=instance["Arn"])[0] == []
    with pytest.raises(ClientError) as excinfo:
        client.update_phone_number(PhoneNumberId=number["PhoneNumberId"], TargetArn=west["Arn"])
    assert error_of(excinfo)[0] == "ResourceNotFoundException"


def test_async_changes_pass_through_in_progress_and_can_fail(stack: StackControl, instance: dict[str, str]) -> None:
    client = connect()
    number = claim(client, instance["Arn"])
    stack.settings(async_delay_seconds=60)
    client.update_phone_number_metadata(PhoneNumberId=number["PhoneNumberId"], PhoneNumberDescription="new")
    described = client.describe_phone_number(PhoneNumberId=number["PhoneNumberId"])["ClaimedPhoneNumberSummary"]
    assert described["PhoneNumberStatus"]["Status"] == "IN_PROGRESS"
    assert "PhoneNumberDescription" not in described
    with pytest.raises(ClientError) as busy:
        client.release_phone_number(PhoneNumberId=number["PhoneNumberId"])
    assert error_of(busy)[:2] == ("ResourceInUseException", 409)
    stack.settings(async_delay_seconds=0)
    other = create_instance(client, "other")
    second = claim(client, instance["Arn"])
    stack.settings(fail_next_async=1)
    client.update_phone_number(PhoneNumberId=second["PhoneNumberId"], TargetArn=other["Arn"])
    failed = client.describe_phone_number(PhoneNumberId=second["PhoneNumberId"])["ClaimedPhoneNumberSummary"]
    assert failed["PhoneNumberStatus"]["Status"] == "FAILED"
    assert failed["TargetArn"] == instance["Arn"]


def test_release_tags_and_delete_instance(stack: StackControl, instance: dict[str, str]) -> None:
    client = connect()
    kept, released = claim(client, instance["Arn"]), claim(client, instance["Arn"])
    client.tag_resource(resourceArn=kept["PhoneNumberArn"], tags={"team": "sales"})
    assert client.describe_phone_number(PhoneNumberId=kept["PhoneNumberId"])["ClaimedPhoneNumberSummary"]["Tags"] == {
        "team": "sales"
    }
    client.release_phone_number(PhoneNumberId=released["PhoneNumberId"])
    assert [n["PhoneNumberId"] for n in list_all(client, InstanceId=instance["Id"])[0]] == [kept["PhoneNumberId"]]
    client.delete_instance(InstanceId=instance["Id"])
    with pytest.raises(ClientError) as excinfo:
        client.describe_phone_number(PhoneNumberId=kept["PhoneNumberId"])
    assert error_of(excinfo)[0] == "ResourceNotFoundException"


def test_state_is_per_account_including_assumed_roles(stack: StackControl, instance: dict[str, str]) -> None:
    # The role must exist in its account: the stack's STS refuses roles that do not (as AWS does)
    as_account(boto3.client("iam"), "210987654321").create_role(RoleName="scanner", AssumeRolePolicyDocument="{}")
    credentials = boto3.client("sts").assume_role(
        RoleArn="arn:aws:iam::210987654321:role/scanner", RoleSessionName="scan"
    )["Credentials"]
    other_account = boto3.client(
        "connect",
        region_name="us-east-1",
        aws_access_key_id=credentials["AccessKeyId"],
        aws_secret_access_key=credentials["SecretAccessKey"],
        aws_session_token=credentials["SessionToken"],
    )
    assert other_account.list_instances()["InstanceSummaryList"] == []
    created = create_instance(other_account, "elsewhere")
    assert ":210987654321:" in created["Arn"]
    assert [i["Id"] for i in connect().list_instances()["InstanceSummaryList"]] == [instance["Id"]]


def test_a_burst_beyond_the_bucket_is_throttled_and_standard_retries_recover(stack: StackControl) -> None:
    # Given a bucket of 5 that does not refill during the test
    stack.set_quotas(enabled=True, rate=0.001, burst=5)
    eager = connect(retries={"mode": "standard", "total_max_attempts": 1})
    # When 8 calls arrive at once
    outcomes = []
    for _ in range(8):
        try:
            eager.list_instances()
            outcomes.append("ok")
        except ClientError as exc:
            outcomes.append(exc.response["Error"]["Code"])
    # Then the bucket's burst passes and the rest meet 429 ThrottlingException
    assert outcomes.count("ok") == 5
    assert outcomes.count("ThrottlingException") == 3
    assert stack.requests()["operations"]["ListInstances"]["throttled"] == 3
    # And, under a quota that refills, boto3's standard retries get every call through
    stack.set_quotas(rate=2, burst=1)
    patient = connect(retries={"mode": "standard", "max_attempts": 10})
    for _ in range(3):
        assert patient.list_instances()["InstanceSummaryList"] == []
    assert stack.requests()["operations"]["ListInstances"]["throttled"] > 3


def test_faults_by_target_by_call_and_the_request_log(stack: StackControl, instance: dict[str, str]) -> None:
    client = connect(retries={"mode": "standard", "total_max_attempts": 1})
    other = create_instance(client, "other")
    stack.clear_requests()
    stack.add_fault(operation="ListPhoneNumbersV2", target=instance["Arn"], error="AccessDeniedException")
    stack.add_fault(operation="ListInstances", error="InternalServiceException", on_call=2)
    with pytest.raises(ClientError) as denied:
        client.list_phone_numbers_v2(TargetArn=instance["Arn"])
    assert error_of(denied)[:2] == ("AccessDeniedException", 403)
    assert client.list_phone_numbers_v2(TargetArn=other["Arn"])["ListPhoneNumbersSummaryList"] == []
    client.list_instances()
    with pytest.raises(ClientError) as failing:
        client.list_instances()
    assert error_of(failing)[:2] == ("InternalServiceException", 500)
    client.list_instances()
    log = stack.requests()["operations"]
    assert log["ListPhoneNumbersV2"] == {"calls": 2, "ok": 1, "throttled": 0, "faulted": 1, "error": 0}
    assert log["ListInstances"] == {"calls": 3, "ok": 2, "throttled": 0, "faulted": 1, "error": 0}


def test_a_fault_its_operation_cannot_raise_is_refused_naming_the_operation_s_errors(stack: StackControl) -> None:
    # ListInstances models no AccessDeniedException: the rule is refused, not silently dropped
    with pytest.raises(ControlRefused) as refused:
        stack.add_fault(operation="ListInstances", error="AccessDeniedException")
    assert refused.value.status == 400
    assert "InternalServiceException, InvalidRequestException, ThrottlingException" in refused.value.reason
    with pytest.raises(ControlRefused) as unknown:
        stack.add_fault(error="NoSuchException")
    assert unknown.value.status == 400
    with pytest.raises(ControlRefused):
        stack.add_fault(operation="ListEverything", error="InternalServiceException")
    assert stack.faults() == []
    # ThrottlingException is allowed everywhere; a rule for any operation needs an error one of them raises
    stack.add_fault(operation="ListInstances", error="ThrottlingException", times=1)
    stack.add_fault(error="AccessDeniedException", times=1)
    assert len(stack.faults()) == 2


def test_moto_services_answer_through_the_same_endpoint(stack: StackControl) -> None:
    dynamodb, sns, sqs = boto3.client("dynamodb"), boto3.client("sns"), boto3.client("sqs")
    dynamodb.create_table(
        TableName="t",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    dynamodb.put_item(TableName="t", Item={"pk": {"S": "a"}})
    assert dynamodb.get_item(TableName="t", Key={"pk": {"S": "a"}}, ConsistentRead=True)["Item"] == {"pk": {"S": "a"}}
    topic = sns.create_topic(Name="numbers")["TopicArn"]
    queue = sqs.create_queue(QueueName="subscriber")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn, Attributes={"RawMessageDelivery": "true"})
    sns.publish(TopicArn=topic, Message="hello")
    assert [m["Body"] for m in sqs.receive_message(QueueUrl=queue)["Messages"]] == ["hello"]


def test_added_latency_delays_but_does_not_fail(stack: StackControl) -> None:
    stack.add_fault(operation="ListInstances", latency_ms=50, times=1)
    assert connect().list_instances()["InstanceSummaryList"] == []
    (rule,) = stack.faults()
    assert (rule["seen"], rule["fired"]) == (1, 1)
    assert stack.requests()["operations"]["ListInstances"]["ok"] == 1


def test_tag_keys_and_values_of_any_script_with_spaces_and_punctuation_are_accepted(
    stack: StackControl, instance: dict[str, str]
) -> None:
    # Given a number, and tags of letters of several scripts, spaces and -_.:/=+@
    client = connect()
    number = claim(client, instance["Arn"])
    tags = {"cost-center": "Kostenstelle Ü-7", "Größe_東京.:/=+@": "Київ значення", "Cost Center 2": "数字"}
    # When they are put on it, then they are kept
    client.tag_resource(resourceArn=number["PhoneNumberArn"], tags=tags)
    described = client.describe_phone_number(PhoneNumberId=number["PhoneNumberId"])["ClaimedPhoneNumberSummary"]
    assert described["Tags"] == tags
    # While a key the pattern excludes is refused
    for key in ("aws:reserved", "hash#key"):
        with pytest.raises(ClientError) as excinfo:
            client.tag_resource(resourceArn=number["PhoneNumberArn"], tags={key: "x"})
        assert error_of(excinfo)[0] == "InvalidParameterException"


def replicated_tdg(stack: StackControl, instance: dict[str, str]) -> dict[str, str]:
    connect().replicate_instance(InstanceId=instance["Id"], ReplicaRegion=REPLICA_REGION)
    created: dict[str, str] = connect().create_traffic_distribution_group(Name="tdg", InstanceId=instance["Id"])
    return created


def tdg_status(arn: str) -> str:
    status: str = connect().describe_traffic_distribution_group(TrafficDistributionGroupId=arn)[
        "TrafficDistributionGroup"
    ]["Status"]
    return status


def test_a_tdg_whose_creation_fails_ends_creation_failed_and_cannot_be_listed_or_claimed_to(
    stack: StackControl, instance: dict[str, str]
) -> None:
    connect().replicate_instance(InstanceId=instance["Id"], ReplicaRegion=REPLICA_REGION)
    stack.settings(fail_next_async=1)
    tdg = connect().create_traffic_distribution_group(Name="doomed", InstanceId=instance["Id"])
    assert tdg_status(tdg["Arn"]) == "CREATION_FAILED"
    listed = connect().list_traffic_distribution_groups(InstanceId=instance["Id"])[
        "TrafficDistributionGroupSummaryList"
    ]
    assert {t["Arn"]: t["Status"] for t in listed}[tdg["Arn"]] == "CREATION_FAILED"
    with pytest.raises(ClientError) as not_listed:
        connect().list_phone_numbers_v2(TargetArn=tdg["Arn"])
    assert error_of(not_listed)[:2] == ("ResourceNotFoundException", 404)
    offer = connect().search_available_phone_numbers(
        TargetArn=instance["Arn"], PhoneNumberCountryCode="US", PhoneNumberType="DID", MaxResults=1
    )["AvailableNumbersList"][0]["PhoneNumber"]
    with pytest.raises(ClientError) as not_claimed:
        connect().claim_phone_number(TargetArn=tdg["Arn"], PhoneNumber=offer)
    assert error_of(not_claimed)[0] == "ResourceNotFoundException"
    with pytest.raises(ClientError) as not_searched:
        connect().search_available_phone_numbers(
            TargetArn=tdg["Arn"], PhoneNumberCountryCode="US", PhoneNumberType="DID", MaxResults=1
        )
    assert error_of(not_searched)[0] == "InvalidParameterException"  # its model lists no ResourceNotFound


def test_deleting_a_tdg_passes_through_pending_deletion_or_ends_deletion_failed(
    stack: StackControl, instance: dict[str, str]
) -> None:
    tdg = replicated_tdg(stack, instance)
    # A deletion that takes a minute: PENDING_DELETION, and no longer listable
    stack.settings(async_delay_seconds=60)
    connect().delete_traffic_distribution_group(TrafficDistributionGroupId=tdg["Id"])
    assert tdg_status(tdg["Arn"]) == "PENDING_DELETION"
    with pytest.raises(ClientError) as pending:
        connect().list_phone_numbers_v2(TargetArn=tdg["Arn"])
    assert error_of(pending)[0] == "ResourceNotFoundException"
    # A deletion that fails: DELETION_FAILED, and the TDG still answers
    stack.set_tdg_status(tdg["Arn"], "ACTIVE")
    stack.settings(async_delay_seconds=0, fail_next_async=1)
    connect().delete_traffic_distribution_group(TrafficDistributionGroupId=tdg["Id"])
    assert tdg_status(tdg["Arn"]) == "DELETION_FAILED"
    assert connect().list_phone_numbers_v2(TargetArn=tdg["Arn"])["ListPhoneNumbersSummaryList"] == []
    # A deletion that completes at once: gone
    connect().delete_traffic_distribution_group(TrafficDistributionGroupId=tdg["Id"])
    with pytest.raises(ClientError) as gone:
        tdg_status(tdg["Arn"])
    assert error_of(gone)[0] == "ResourceNotFoundException"


def error_code(call: Callable[[], Any]) -> str | None:
    """The error code `call` answers, None if it succeeds."""
    try:
        call()
    except ClientError as exc:
        return str(exc.response["Error"]["Code"])
    return None


# What ListPhoneNumbersV2 and ClaimPhoneNumber answer for a TDG in each status (None: they serve it).
TDG_STATUS_ANSWERS = {
    "ACTIVE": (None, None),
    "UPDATE_IN_PROGRESS": (None, None),
    "DELETION_FAILED": (None, None),
    "CREATION_IN_PROGRESS": (None, "InvalidParameterException"),
    "CREATION_FAILED": ("ResourceNotFoundException", "ResourceNotFoundException"),
    "PENDING_DELETION": ("ResourceNotFoundException", "ResourceNotFoundException"),
}


@pytest.mark.parametrize("status", sorted(TDG_STATUS_ANSWERS))
def test_a_tdg_can_be_put_in_any_status_and_answers_as_documented(
    stack: StackControl, instance: dict[str, str], status: str
) -> None:
    # Given a TDG with a number, put in `status` through the control API, and a number to claim
    tdg = replicated_tdg(stack, instance)
    number = claim(connect(), tdg["Arn"])
    offer = connect().search_available_phone_numbers(
        TargetArn=instance["Arn"], PhoneNumberCountryCode="US", PhoneNumberType="DID", MaxResults=1
    )["AvailableNumbersList"][0]["PhoneNumber"]
    assert stack.set_tdg_status(tdg["Arn"], status)["Status"] == status
    listing_error, claim_error = TDG_STATUS_ANSWERS[status]
    # Then it shows that status everywhere it is described
    assert tdg_status(tdg["Arn"]) == status
    # And its listing and a claim to it answer as documented
    assert error_code(lambda: connect().list_phone_numbers_v2(TargetArn=tdg["Arn"])) == listing_error
    assert error_code(lambda: connect().claim_phone_number(TargetArn=tdg["Arn"], PhoneNumber=offer)) == claim_error
    if listing_error is None:
        listed = connect().list_phone_numbers_v2(TargetArn=tdg["Arn"])["ListPhoneNumbersSummaryList"]
        assert number["PhoneNumberId"] in [n["PhoneNumberId"] for n in listed]


def test_an_unknown_tdg_status_is_refused(stack: StackControl, instance: dict[str, str]) -> None:
    tdg = replicated_tdg(stack, instance)
    with pytest.raises(ControlRefused) as refused:
        stack.set_tdg_status(tdg["Arn"], "ASLEEP")
    assert refused.value.status == 400
    assert "UPDATE_IN_PROGRESS" in refused.value.reason


@pytest.mark.parametrize("distinct", [False, True])
def test_a_tdg_s_numbers_name_the_instance_of_the_region_they_are_listed_from(
    stack: StackControl, instance: dict[str, str], distinct: bool
) -> None:
    # Given replica instances that keep the instance's id (AWS's documented behaviour) or get their own
    stack.settings(distinct_replica_ids=distinct)
    replica = connect().replicate_instance(InstanceId=instance["Id"], ReplicaRegion=REPLICA_REGION)
    assert (replica["Id"] != instance["Id"]) is distinct
    assert replica["Arn"] == f"arn:aws:connect:{REPLICA_REGION}:{ACCOUNT}:instance/{replica['Id']}"
    west = connect(REPLICA_REGION)
    assert west.describe_instance(InstanceId=replica["Id"])["Instance"]["Arn"] == replica["Arn"]
    # And a TDG with a number
    tdg = connect().list_traffic_distribution_groups(InstanceId=instance["Id"])["TrafficDistributionGroupSummaryList"][
        0
    ]
    assert [
        t["Arn"]
        for t in west.list_traffic_distribution_groups(InstanceId=replica["Id"])["TrafficDistributionGroupSummaryList"]
    ] == [tdg["Arn"]]
    claim(connect(), tdg["Arn"])
    # When it is listed from each Region, then its InstanceId is the instance of that Region
    for client, expected in ((connect(), instance["Id"]), (west, replica["Id"])):
        (number,) = client.list_phone_numbers_v2(TargetArn=tdg["Arn"])["ListPhoneNumbersSummaryList"]
        assert number["InstanceId"] == expected


def test_untag_resource_removes_only_the_keys_named(stack: StackControl, instance: dict[str, str]) -> None:
    client = connect()
    number = claim(client, instance["Arn"], Tags={"cost-center": "cc-7", "owner": "sales", "keep": "me"})
    client.untag_resource(resourceArn=number["PhoneNumberArn"], tagKeys=["cost-center", "owner", "never-set"])
    described = client.describe_phone_number(PhoneNumberId=number["PhoneNumberId"])["ClaimedPhoneNumberSummary"]
    assert described["Tags"] == {"keep": "me"}
    with pytest.raises(ClientError) as missing:
        client.untag_resource(resourceArn=number["PhoneNumberArn"].replace("us-east-1", "us-west-2"), tagKeys=["keep"])
    assert error_of(missing)[0] == "ResourceNotFoundException"


def test_a_failed_claim_is_listed_and_described_failed_and_holds_its_number(
    stack: StackControl, instance: dict[str, str]
) -> None:
    # Given a claim that fails
    client = connect()
    offer = client.search_available_phone_numbers(
        TargetArn=instance["Arn"], PhoneNumberCountryCode="US", PhoneNumberType="DID", MaxResults=1
    )["AvailableNumbersList"][0]["PhoneNumber"]
    stack.settings(fail_next_async=1)
    failed = client.claim_phone_number(TargetArn=instance["Arn"], PhoneNumber=offer)
    # Then it is listed on its target, and described FAILED with a message
    assert [n["PhoneNumberId"] for n in list_all(client, TargetArn=instance["Arn"])[0]] == [failed["PhoneNumberId"]]
    status = client.describe_phone_number(PhoneNumberId=failed["PhoneNumberId"])["ClaimedPhoneNumberSummary"][
        "PhoneNumberStatus"
    ]
    assert status == {"Status": "FAILED", "Message": "Claim failed"}
    # And, for the day AWS holds it, it is offered to nobody, and cannot be moved or routed
    offers = client.search_available_phone_numbers(
        TargetArn=instance["Arn"], PhoneNumberCountryCode="US", PhoneNumberType="DID", MaxResults=5
    )["AvailableNumbersList"]
    assert offer not in [o["PhoneNumber"] for o in offers]
    with pytest.raises(ClientError) as not_moved:
        client.update_phone_number(PhoneNumberId=failed["PhoneNumberId"], TargetArn=instance["Arn"])
    assert error_of(not_moved)[0] == "InvalidParameterException"
    # When the account retries the claim within the day, then it is claimed afresh
    retried = client.claim_phone_number(TargetArn=instance["Arn"], PhoneNumber=offer)
    assert retried["PhoneNumberId"] != failed["PhoneNumberId"]
    listed = list_all(client, TargetArn=instance["Arn"])[0]
    assert [(n["PhoneNumberId"], n["PhoneNumber"]) for n in listed] == [(retried["PhoneNumberId"], offer)]
    described = client.describe_phone_number(PhoneNumberId=retried["PhoneNumberId"])["ClaimedPhoneNumberSummary"]
    assert described["PhoneNumberStatus"] == {"Status": "CLAIMED"}
