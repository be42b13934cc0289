"""The Connect emulator outside the `aws` partition: a small estate in each partition where botocore
says Connect exists (today aws-us-gov's us-gov-west-1; botocore lists no Connect Region in aws-cn),
driven through boto3 and AWS_ENDPOINT_URL, with the partition right in every ARN it answers."""

from __future__ import annotations

from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from localaws.control import StackControl
from localaws.demo import create_instance

ACCOUNT = "123456789012"


def partitions_with_connect() -> list[Any]:
    session = boto3.session.Session()
    return [
        pytest.param(regions[0], id=f"{partition}-{regions[0]}")
        for partition in session.get_available_partitions()
        if partition != "aws" and (regions := session.get_available_regions("connect", partition_name=partition))
    ]


def arns_in(value: Any) -> list[str]:
    if isinstance(value, dict):
        return [a for v in value.values() for a in arns_in(v)]
    if isinstance(value, list):
        return [a for v in value for a in arns_in(v)]
    return [value] if isinstance(value, str) and value.startswith("arn:") else []


@pytest.mark.parametrize("region", partitions_with_connect())
def test_a_small_estate_outside_the_aws_partition_has_that_partition_in_every_arn(
    stack: StackControl, region: str
) -> None:
    partition = boto3.session.Session().get_partition_for_region(region)
    client = boto3.client("connect", region_name=region)
    stack.lift_quotas()
    # Given an instance, a claimed number, an imported one and seeded ones
    instance = create_instance(client, "sovereign")
    offer = client.search_available_phone_numbers(
        TargetArn=instance["Arn"], PhoneNumberCountryCode="US", PhoneNumberType="DID", MaxResults=1
    )["AvailableNumbersList"][0]["PhoneNumber"]
    claimed = client.claim_phone_number(TargetArn=instance["Arn"], PhoneNumber=offer)
    client.tag_resource(resourceArn=claimed["PhoneNumberArn"], tags={"team": "ops"})
    source = f"arn:{partition}:sms-voice:{region}:{ACCOUNT}:phone-number/phone-1"
    client.import_phone_number(InstanceId=instance["Id"], SourcePhoneNumberArn=source)
    stack.seed(account=ACCOUNT, region=region, target_arn=instance["Arn"], count=3, imported_every=1)
    # When everything is read back
    answers = [
        client.describe_instance(InstanceId=instance["Id"]),
        client.list_instances(),
        client.list_phone_numbers_v2(TargetArn=instance["Arn"]),
        client.list_phone_numbers_v2(InstanceId=instance["Id"]),
        client.describe_phone_number(PhoneNumberId=claimed["PhoneNumberId"]),
    ]
    # Then every ARN is in the Region's partition, imports' SourcePhoneNumberArn included
    arns = [a for answer in answers for a in arns_in({k: v for k, v in answer.items() if k != "ResponseMetadata"})]
    assert len(arns) > 20
    assert [a for a in arns if not a.startswith(f"arn:{partition}:")] == []
    listed = client.list_phone_numbers_v2(TargetArn=instance["Arn"])["ListPhoneNumbersSummaryList"]
    assert len([n for n in listed if "SourcePhoneNumberArn" in n]) == 4
    # And a source number of another partition is refused
    with pytest.raises(ClientError) as refused:
        client.import_phone_number(
            InstanceId=instance["Id"], SourcePhoneNumberArn=f"arn:aws:sms-voice:us-east-1:{ACCOUNT}:phone-number/p-2"
        )
    assert refused.value.response["Error"]["Code"] == "InvalidParameterException"


def test_the_partition_test_above_has_a_partition_to_run_in() -> None:
    # An empty parameter set would be skipped silently: say so loudly instead
    assert [p.id for p in partitions_with_connect()] == ["aws-us-gov-us-gov-west-1"]
