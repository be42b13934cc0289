"""The demo estate, seeded through the public Connect API of a running local stack.

Two Regions; three instances (one replicated from us-east-1 to us-west-2, which creates its
default TDG); one more TDG spanning both Regions; about 2,500 numbers of mixed types and
countries, some claimed to TDGs from either Region, some imported, some with descriptions and
contact flows. The seeding client's access key is exempt from the emulator's quota, so this takes
seconds rather than the twenty minutes 2 requests per second would impose.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Any

import boto3

from .control import StackControl

HOME_REGION = "us-east-1"
REPLICA_REGION = "us-west-2"
SEEDER_ACCESS_KEY = "AKIADEMOESTATESEEDER"
ACCOUNT_ID = "123456789012"

# (target name, Region to claim from, country, type, how many)
CLAIMS: tuple[tuple[str, str, str, str, int], ...] = (
    ("primary", HOME_REGION, "US", "DID", 700),
    ("primary", HOME_REGION, "US", "TOLL_FREE", 200),
    ("primary", HOME_REGION, "CA", "DID", 100),
    ("branch", HOME_REGION, "GB", "DID", 300),
    ("branch", HOME_REGION, "DE", "DID", 150),
    ("branch", HOME_REGION, "FR", "TOLL_FREE", 130),
    ("west", REPLICA_REGION, "US", "DID", 200),
    ("west", REPLICA_REGION, "AU", "DID", 100),
    ("primary-replica", REPLICA_REGION, "US", "DID", 30),
    ("default-tdg", HOME_REGION, "US", "DID", 200),
    ("default-tdg", REPLICA_REGION, "US", "TOLL_FREE", 50),
    ("global-tdg", HOME_REGION, "JP", "DID", 150),
    ("global-tdg", HOME_REGION, "US", "UIFN", 100),
    ("global-tdg", REPLICA_REGION, "US", "DID", 100),
)
IMPORTED = 20
DESCRIBED_EVERY = 5
FLOW_EVERY = 50


@dataclass
class DemoEstate:
    targets: dict[str, str] = field(default_factory=dict)  # name -> ARN
    instance_ids: dict[str, str] = field(default_factory=dict)  # name -> instance id
    numbers: dict[str, list[dict[str, str]]] = field(default_factory=dict)  # name -> claimed numbers

    def total(self) -> int:
        return sum(len(v) for v in self.numbers.values())

    def summary(self) -> str:
        counts = ", ".join(f"{name} {len(v)}" for name, v in self.numbers.items())
        return f"{self.total()} numbers ({counts})"


def seeding_client(endpoint_url: str, region: str) -> Any:
    return boto3.client(
        "connect",
        region_name=region,
        endpoint_url=endpoint_url,
        aws_access_key_id=SEEDER_ACCESS_KEY,
        aws_secret_access_key="demo",
    )


def create_instance(client: Any, alias: str) -> dict[str, str]:
    """A Connect-managed instance with inbound and outbound calls: its Id and Arn."""
    created: dict[str, str] = client.create_instance(
        IdentityManagementType="CONNECT_MANAGED",
        InstanceAlias=alias,
        InboundCallsEnabled=True,
        OutboundCallsEnabled=True,
    )
    return created


def seed_demo_estate(endpoint_url: str) -> DemoEstate:
    control = StackControl(endpoint_url)
    quotas = control.set_quotas()
    control.set_quotas(unlimited_access_keys=sorted({*quotas["unlimited_access_keys"], SEEDER_ACCESS_KEY}))
    clients = {r: seeding_client(endpoint_url, r) for r in (HOME_REGION, REPLICA_REGION)}
    home, west = clients[HOME_REGION], clients[REPLICA_REGION]
    estate = DemoEstate()

    primary = create_instance(home, "numberwatch-primary")
    branch = create_instance(home, "numberwatch-branch")
    west_instance = create_instance(west, "numberwatch-west")
    replica = home.replicate_instance(
        InstanceId=primary["Id"], ReplicaRegion=REPLICA_REGION, ReplicaAlias="numberwatch-primary-west"
    )
    default_tdg = home.list_traffic_distribution_groups(InstanceId=primary["Id"])[
        "TrafficDistributionGroupSummaryList"
    ][0]
    global_tdg = home.create_traffic_distribution_group(
        Name="numberwatch-global", InstanceId=primary["Id"], Description="Spans us-east-1 and us-west-2"
    )
    estate.targets = {
        "primary": primary["Arn"],
        "branch": branch["Arn"],
        "west": west_instance["Arn"],
        "primary-replica": replica["Arn"],
        "default-tdg": default_tdg["Arn"],
        "global-tdg": global_tdg["Arn"],
    }
    estate.instance_ids = {
        "primary": primary["Id"],
        "branch": branch["Id"],
        "west": west_instance["Id"],
        "primary-replica": replica["Id"],
    }
    serial = itertools.count(1)
    for name, region, country, number_type, count in CLAIMS:
        client = clients[region]
        claimed = estate.numbers.setdefault(name, [])
        while count > 0:
            available = client.search_available_phone_numbers(
                TargetArn=estate.targets[name],
                PhoneNumberCountryCode=country,
                PhoneNumberType=number_type,
                MaxResults=min(10, count),
            )["AvailableNumbersList"]
            for offer in available:
                index = next(serial)
                extra = {"PhoneNumberDescription": f"Demo line {index}"} if index % DESCRIBED_EVERY == 0 else {}
                result = client.claim_phone_number(
                    TargetArn=estate.targets[name], PhoneNumber=offer["PhoneNumber"], **extra
                )
                claimed.append({"id": result["PhoneNumberId"], "arn": result["PhoneNumberArn"], "region": region})
                if index % FLOW_EVERY == 0 and name in estate.instance_ids:
                    client.associate_phone_number_contact_flow(
                        PhoneNumberId=result["PhoneNumberId"],
                        InstanceId=estate.instance_ids[name],
                        ContactFlowId=f"demo-flow-{index % 3}",
                    )
            count -= len(available)
    imported = estate.numbers.setdefault("branch", [])
    for index in range(IMPORTED):
        result = home.import_phone_number(
            InstanceId=branch["Id"],
            SourcePhoneNumberArn=f"arn:aws:sms-voice:{HOME_REGION}:{ACCOUNT_ID}:phone-number/phone-demo{index:04d}",
            PhoneNumberDescription=f"Imported from End User Messaging {index}",
        )
        imported.append({"id": result["PhoneNumberId"], "arn": result["PhoneNumberArn"], "region": HOME_REGION})
    return estate
