"""Small Connect estates built through the public API of the local stack, for one test each."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import boto3

from localaws.control import StackControl

HOME, WEST = "us-east-1", "us-west-2"


@dataclass
class Number:
    id: str
    arn: str
    e164: str
    region: str


class Estate:
    def __init__(self, stack: StackControl) -> None:
        stack.lift_quotas()
        self.stack = stack
        self.clients = {r: boto3.client("connect", region_name=r) for r in (HOME, WEST)}

    def instance(self, alias: str, region: str = HOME) -> dict[str, str]:
        created: dict[str, str] = self.clients[region].create_instance(
            IdentityManagementType="CONNECT_MANAGED",
            InstanceAlias=alias,
            InboundCallsEnabled=True,
            OutboundCallsEnabled=True,
        )
        return created

    def replicate(self, instance: dict[str, str]) -> dict[str, Any]:
        """Replicate to us-west-2; returns the default TDG the service creates."""
        self.clients[HOME].replicate_instance(InstanceId=instance["Id"], ReplicaRegion=WEST)
        tdgs = self.clients[HOME].list_traffic_distribution_groups(InstanceId=instance["Id"])
        default: dict[str, Any] = tdgs["TrafficDistributionGroupSummaryList"][0]
        return default

    def tdg(self, instance: dict[str, str], name: str) -> dict[str, str]:
        created: dict[str, str] = self.clients[HOME].create_traffic_distribution_group(
            Name=name, InstanceId=instance["Id"]
        )
        return created

    def claim(
        self, target_arn: str, count: int = 1, country: str = "US", kind: str = "DID", region: str | None = None
    ) -> list[Number]:
        region = region or target_arn.split(":")[3]
        client = self.clients[region]
        claimed = []
        while len(claimed) < count:
            offers = client.search_available_phone_numbers(
                TargetArn=target_arn,
                PhoneNumberCountryCode=country,
                PhoneNumberType=kind,
                MaxResults=min(10, count - len(claimed)),
            )["AvailableNumbersList"]
            for offer in offers:
                result = client.claim_phone_number(TargetArn=target_arn, PhoneNumber=offer["PhoneNumber"])
                claimed.append(Number(result["PhoneNumberId"], result["PhoneNumberArn"], offer["PhoneNumber"], region))
        return claimed

    def release(self, *numbers: Number) -> None:
        for number in numbers:
            self.clients[number.region].release_phone_number(PhoneNumberId=number.id)

    def move(self, number: Number, target_arn: str) -> None:
        self.clients[number.region].update_phone_number(PhoneNumberId=number.id, TargetArn=target_arn)

    def describe(self, number: Number, text: str) -> None:
        self.clients[number.region].update_phone_number_metadata(PhoneNumberId=number.id, PhoneNumberDescription=text)

    def import_number(self, instance: dict[str, str], source: str) -> Number:
        result = self.clients[HOME].import_phone_number(
            InstanceId=instance["Id"],
            SourcePhoneNumberArn=f"arn:aws:sms-voice:us-east-1:123456789012:phone-number/{source}",
        )
        described = self.clients[HOME].describe_phone_number(PhoneNumberId=result["PhoneNumberId"])
        return Number(
            result["PhoneNumberId"],
            result["PhoneNumberArn"],
            described["ClaimedPhoneNumberSummary"]["PhoneNumber"],
            HOME,
        )
