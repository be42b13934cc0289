"""The demo estate and page boundaries, read by clients nobody here wrote: the AWS CLI and boto3's paginators."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import boto3
import pytest

from localaws.control import StackControl
from localaws.demo import (
    CLAIMS,
    FAILED_CLAIM_TARGET,
    FLOW_NAMES,
    HOME_REGION,
    IMPORTED,
    REPLICA_REGION,
    ROUTED_IN,
    DemoEstate,
    seed_demo_estate,
)
from localaws.stack import LocalStack

ROOT = Path(__file__).resolve().parents[2]
AWS_CLI = Path(os.environ.get("AWS_CLI", ROOT / ".venv-awscli" / "bin" / "aws"))

pytestmark = pytest.mark.slow  # the demo estate is seeded once for the module: 15 s


def aws(*arguments: str) -> Any:
    assert AWS_CLI.exists(), f"the AWS CLI is missing at {AWS_CLI}: `make awscli` installs it"
    completed = subprocess.run(
        [str(AWS_CLI), *arguments, "--output", "json"], capture_output=True, text=True, check=True, timeout=120
    )
    return json.loads(completed.stdout)


@pytest.fixture(scope="module")
def demo(local_stack: LocalStack) -> DemoEstate:
    """Seeded once for the module: the tests here only read it."""
    StackControl(local_stack.endpoint_url).reset()
    return seed_demo_estate(local_stack.endpoint_url)


def expected_counts() -> dict[str, int]:
    """Numbers listed per target: the claims, the imports, and the failed claim (listed for a day)."""
    counts: dict[str, int] = {}
    for name, _, _, _, count in CLAIMS:
        counts[name] = counts.get(name, 0) + count
    counts["branch"] += IMPORTED
    counts[FAILED_CLAIM_TARGET] += 1
    return counts


def test_the_demo_estate_has_what_it_promises(demo: DemoEstate) -> None:
    assert {name: len(numbers) for name, numbers in demo.numbers.items()} == expected_counts()
    assert 2_400 <= demo.total() <= 2_700
    west_instances = boto3.client("connect", region_name=REPLICA_REGION).list_instances()["InstanceSummaryList"]
    assert {i["InstanceAlias"] for i in west_instances} == {"numberwatch-west", "numberwatch-primary-west"}


def test_the_aws_cli_lists_every_target_of_the_demo_estate_from_both_regions(demo: DemoEstate) -> None:
    expected = expected_counts()
    for name, arn in demo.targets.items():
        region = arn.split(":")[3]
        listed = aws("connect", "list-phone-numbers-v2", "--target-arn", arn, "--region", region)
        assert len(listed["ListPhoneNumbersSummaryList"]) == expected[name], name
    for tdg in ("default-tdg", "global-tdg"):
        listed = aws("connect", "list-phone-numbers-v2", "--target-arn", demo.targets[tdg], "--region", REPLICA_REGION)
        assert len(listed["ListPhoneNumbersSummaryList"]) == expected[tdg]
    tdgs = aws("connect", "list-traffic-distribution-groups", "--region", HOME_REGION)
    assert {t["Name"] for t in tdgs["TrafficDistributionGroupSummaryList"]} == {
        "numberwatch-primary-default",
        "numberwatch-global",
    }


def instance_region(name: str) -> str:
    return REPLICA_REGION if name in ("west", "primary-replica") else HOME_REGION


def test_every_instance_has_the_demo_flows_and_most_numbers_are_routed_to_one(demo: DemoEstate) -> None:
    # Given the demo estate, read with the AWS CLI
    associated: dict[str, dict[str, str]] = {}
    for name, instance_id in demo.instance_ids.items():
        region = instance_region(name)
        flows = aws("connect", "list-contact-flows", "--instance-id", instance_id, "--region", region)
        # Then each instance has the four flows (the replica has its instance's, mirrored)
        assert sorted(f["Name"] for f in flows["ContactFlowSummaryList"]) == sorted(FLOW_NAMES)
        listed = aws(
            "connect", "list-flow-associations", "--instance-id", instance_id, "--resource-type",
            "VOICE_PHONE_NUMBER", "--region", region,
        )  # fmt: skip
        associated[name] = {
            a["ResourceId"].rsplit("/", 1)[-1]: a["FlowId"].rsplit("/", 1)[-1]
            for a in listed["FlowAssociationSummaryList"]
        }
        assert set(associated[name].values()) <= {f["Id"] for f in flows["ContactFlowSummaryList"]}
    # And each target's numbers are routed in the instance that owns it, most of them, never the failed claim
    for target, numbers in demo.numbers.items():
        routed = {n["id"] for n in numbers} & set(associated[ROUTED_IN[target]])
        assert len(routed) >= 0.8 * len(numbers), target
        assert len(routed) < len(numbers), f"{target} has no unrouted number"
    assert demo.failed_claim["id"] not in associated[FAILED_CLAIM_TARGET]
    # And a TDG number's association is mirrored to the TDG's instance in the other Region
    tdg_numbers = {n["id"] for name in ("default-tdg", "global-tdg") for n in demo.numbers[name]}
    home_routes = {k: v for k, v in associated["primary"].items() if k in tdg_numbers}
    assert home_routes
    assert {k: v for k, v in associated["primary-replica"].items() if k in tdg_numbers} == home_routes


def test_most_numbers_are_tagged_and_the_failed_claim_is_described_failed(
    demo: DemoEstate, local_stack: LocalStack
) -> None:
    StackControl(local_stack.control_url).lift_quotas()  # one DescribePhoneNumber per number sampled
    client = boto3.client("connect", region_name=HOME_REGION)
    sample = demo.numbers["primary"][:120]
    tags = [
        client.describe_phone_number(PhoneNumberId=n["id"])["ClaimedPhoneNumberSummary"].get("Tags", {}) for n in sample
    ]
    assert sum(1 for t in tags if set(t) == {"cost-center", "owner"}) >= 0.9 * len(sample)
    assert any("owner" not in t for t in tags)
    assert any("cost-center" not in t for t in tags)
    failed = client.describe_phone_number(PhoneNumberId=demo.failed_claim["id"])["ClaimedPhoneNumberSummary"]
    assert failed["PhoneNumberStatus"]["Status"] == "FAILED"
    assert failed["TargetArn"] == demo.targets[FAILED_CLAIM_TARGET]


# Last: it resets the stack, and with it the module's demo estate.
@pytest.mark.parametrize("count", [999, 1000, 1001, 2500])
def test_the_aws_cli_pages_every_boundary(stack: StackControl, count: int) -> None:
    stack.lift_quotas()
    instance = boto3.client("connect").create_instance(
        IdentityManagementType="CONNECT_MANAGED",
        InstanceAlias="cli",
        InboundCallsEnabled=True,
        OutboundCallsEnabled=True,
    )
    stack.seed(account="123456789012", region=HOME_REGION, target_arn=instance["Arn"], count=count)
    stack.clear_requests()
    listed = aws("connect", "list-phone-numbers-v2", "--instance-id", instance["Id"], "--page-size", "1000")
    assert len({n["PhoneNumberArn"] for n in listed["ListPhoneNumbersSummaryList"]}) == count
    assert stack.requests()["operations"]["ListPhoneNumbersV2"]["calls"] == -(-count // 1000)
