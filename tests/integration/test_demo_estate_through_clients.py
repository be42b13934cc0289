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
from localaws.demo import CLAIMS, HOME_REGION, IMPORTED, REPLICA_REGION, DemoEstate, seed_demo_estate
from localaws.stack import LocalStack

ROOT = Path(__file__).resolve().parents[2]
AWS_CLI = Path(os.environ.get("AWS_CLI", ROOT / ".venv-awscli" / "bin" / "aws"))


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
    counts: dict[str, int] = {}
    for name, _, _, _, count in CLAIMS:
        counts[name] = counts.get(name, 0) + count
    counts["branch"] += IMPORTED
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
