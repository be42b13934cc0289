"""The demo estate, seeded through the public Connect API of a running local stack.

Two Regions; three instances (one replicated from us-east-1 to us-west-2, which creates its
default TDG and mirrors the instance's flows); one more TDG spanning both Regions; four contact
flows per instance; about 2,500 numbers of mixed types and countries, some claimed to TDGs from
either Region, some imported, some with descriptions. Most numbers are associated with a flow
(a TDG's in its home Region's instance, by ARN) and tagged `cost-center` and `owner`; every
UNROUTED_EVERY-th is associated with none, and a few lack one tag. One claim fails: it is listed
and described FAILED, as AWS keeps a failed claim for a day.

The seeding client's access key is exempt from the emulator's quotas, so this takes seconds rather
than the forty minutes 2 requests per second would impose. Its calls are recorded in the stack's
CloudTrail like anyone's (the IAM user `moto`, the user of a key IAM does not know): the demo has a
history, and a scan's lookups start after its baseline, so they never see the seeding.
"""

from __future__ import annotations

import itertools
import json
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
FLOW_NAMES = ("Main menu", "Sales", "Support", "After hours")
UNROUTED_EVERY = 12
OWNERS = ("sales", "support", "billing", "operations")
NO_OWNER_EVERY = 40
NO_COST_CENTER_EVERY = 55
FAILED_CLAIM_TARGET = "branch"
# Where each target's numbers are routed: the instance that owns it (a TDG's, in its home Region).
ROUTED_IN = {
    "primary": "primary",
    "branch": "branch",
    "west": "west",
    "primary-replica": "primary-replica",
    "default-tdg": "primary",
    "global-tdg": "primary",
}
FLOW_CONTENT = json.dumps({"Version": "2019-10-30", "StartAction": "end", "Actions": [{"Identifier": "end"}]})


@dataclass
class DemoEstate:
    targets: dict[str, str] = field(default_factory=dict)  # name -> ARN
    instance_ids: dict[str, str] = field(default_factory=dict)  # name -> instance id
    flows: dict[str, dict[str, str]] = field(default_factory=dict)  # instance name -> flow name -> flow id
    numbers: dict[str, list[dict[str, str]]] = field(default_factory=dict)  # name -> numbers listed on it
    failed_claim: dict[str, str] = field(default_factory=dict)  # listed too, on FAILED_CLAIM_TARGET

    def total(self) -> int:
        return sum(len(v) for v in self.numbers.values())


def seeding_client(endpoint_url: str, region: str) -> Any:
    """A client of its own session, so that the hooks of boto3's default session never see the seeding."""
    return boto3.session.Session().client(
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


def tagged(index: int) -> dict[str, dict[str, str]]:
    """The Tags argument of the index-th number: both tags, but every so often one (or both) missing."""
    tags = {"cost-center": f"CC-{100 + index % 7}", "owner": OWNERS[index % len(OWNERS)]}
    if index % NO_OWNER_EVERY == 0:
        del tags["owner"]
    if index % NO_COST_CENTER_EVERY == 0:
        del tags["cost-center"]
    return {"Tags": tags} if tags else {}


def create_flows(client: Any, instance_id: str) -> dict[str, str]:
    return {
        name: client.create_contact_flow(InstanceId=instance_id, Name=name, Type="CONTACT_FLOW", Content=FLOW_CONTENT)[
            "ContactFlowId"
        ]
        for name in FLOW_NAMES
    }


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
    estate.flows = {
        "primary": create_flows(home, primary["Id"]),
        "branch": create_flows(home, branch["Id"]),
        "west": create_flows(west, west_instance["Id"]),
    }
    replica = home.replicate_instance(
        InstanceId=primary["Id"], ReplicaRegion=REPLICA_REGION, ReplicaAlias="numberwatch-primary-west"
    )
    estate.flows["primary-replica"] = estate.flows["primary"]  # mirrored, with the same ids
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
    instance_regions = {
        "primary": HOME_REGION,
        "branch": HOME_REGION,
        "west": REPLICA_REGION,
        "primary-replica": REPLICA_REGION,
    }
    serial = itertools.count(1)

    def route(name: str, index: int, number: dict[str, str]) -> None:
        if index % UNROUTED_EVERY == 0:
            return
        instance = ROUTED_IN[name]
        flow_id = estate.flows[instance][FLOW_NAMES[index % len(FLOW_NAMES)]]
        clients[instance_regions[instance]].associate_phone_number_contact_flow(
            PhoneNumberId=number["arn"], InstanceId=estate.instance_ids[instance], ContactFlowId=flow_id
        )

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
                    TargetArn=estate.targets[name], PhoneNumber=offer["PhoneNumber"], **tagged(index), **extra
                )
                number = {"id": result["PhoneNumberId"], "arn": result["PhoneNumberArn"], "region": region}
                claimed.append(number)
                route(name, index, number)
            count -= len(available)
    imported = estate.numbers.setdefault("branch", [])
    for offset in range(IMPORTED):
        index = next(serial)
        result = home.import_phone_number(
            InstanceId=branch["Id"],
            SourcePhoneNumberArn=f"arn:aws:sms-voice:{HOME_REGION}:{ACCOUNT_ID}:phone-number/phone-demo{offset:04d}",
            PhoneNumberDescription=f"Imported from End User Messaging {offset}",
            **tagged(index),
        )
        number = {"id": result["PhoneNumberId"], "arn": result["PhoneNumberArn"], "region": HOME_REGION}
        imported.append(number)
        route("branch", index, number)

    offer = home.search_available_phone_numbers(
        TargetArn=branch["Arn"], PhoneNumberCountryCode="GB", PhoneNumberType="DID", MaxResults=1
    )["AvailableNumbersList"][0]
    control.settings(fail_next_async=1)
    failed = home.claim_phone_number(TargetArn=branch["Arn"], PhoneNumber=offer["PhoneNumber"])
    estate.failed_claim = {"id": failed["PhoneNumberId"], "arn": failed["PhoneNumberArn"], "region": HOME_REGION}
    estate.numbers[FAILED_CLAIM_TARGET].append(estate.failed_claim)
    return estate
