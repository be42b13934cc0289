"""`make run-org`: organization mode on the embedded local AWS stack, no AWS account, no Docker.

An AWS Organization of three member accounts, each with Connect in two Regions; the third never got
the read role. The template's own state machine runs on moto's Step Functions interpreter: it plans
the accounts, scans each through its read role (the real handler, in-process), and sends one
organization digest. A first night records the baselines; overnight one account claims two numbers
and releases one; the second night's digest is printed as people would read it, with the events
machines received and the execution's steps.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import sys
import time
from typing import Any

import boto3

from .control import StackControl
from .lambda_runtime import ACCOUNT, use_local_stack
from .organization import OrganizationDeployment, deploy_organization, member_connect
from .stack import LocalStack
from .walkthrough import heading

REGIONS = ("us-east-1", "us-west-2")
NUMBERS_PER_INSTANCE = 250


def build_estate(control: StackControl, account: str) -> dict[str, str]:
    instances = {}
    for region in REGIONS:
        created = member_connect(account, region).create_instance(
            IdentityManagementType="CONNECT_MANAGED",
            InstanceAlias=f"contact-center-{region}",
            InboundCallsEnabled=True,
            OutboundCallsEnabled=True,
        )
        control.seed(
            account=account, region=region, target_arn=created["Arn"], count=NUMBERS_PER_INSTANCE, description_every=5
        )
        instances[region] = created["Arn"]
    return instances


def run_night(organization: OrganizationDeployment) -> tuple[dict[str, Any], str]:
    """One organization run; the handler's JSON logs and EMF metrics (CloudWatch's business) are not shown."""
    with contextlib.redirect_stdout(io.StringIO()):
        execution = organization.start()
        described = organization.wait(execution)
    if described["status"] != "SUCCEEDED":
        raise RuntimeError(f"execution {described['status']}: {described.get('error')}")
    return json.loads(described["output"])["summary"], execution


def organization_emails(control: StackControl, topic_arn: str) -> list[tuple[str, str]]:
    topic = next(t for t in control.moto_data()["sns"]["Topic"] if t["arn"] == topic_arn)
    return [
        (subject, json.loads(message)["email"])
        for _, message, subject, attributes, *_ in topic["sent_notifications"]
        if attributes.get("event_type", {}).get("Value") == "ORGANIZATION_DIGEST"
    ]


def main() -> int:
    started = time.monotonic()
    os.environ["POWERTOOLS_LOG_LEVEL"] = "WARNING"
    heading("1. The local AWS stack, with Step Functions executing state machines")
    stack = LocalStack(port=0).start()
    use_local_stack(stack.endpoint_url)
    control = StackControl(stack.endpoint_url)
    control.lift_quotas()
    print(f"AWS_ENDPOINT_URL={stack.endpoint_url}")

    heading("2. An organization: 3 member accounts, Connect in 2 Regions each; the third has no read role")
    # Connect's quota is lifted for the demo, and our own pace raised to match: a night's rotation of
    # 300 DescribePhoneNumber calls per account would take minutes at the default 1 per second.
    organization = deploy_organization(
        stack.app, 3, REGIONS, without_role=[2], ExcludedAccounts=ACCOUNT, ConnectRequestsPerSecond="25"
    )
    changed, _, roleless = organization.members
    estates = {account: build_estate(control, account) for account in organization.members}
    for account in organization.members:
        role = "no read role" if account == roleless else "read role from member-role.yaml"
        print(f"  {account}: {2 * NUMBERS_PER_INSTANCE} numbers in {', '.join(REGIONS)}; {role}")
    print(f"  {ACCOUNT} (management, runs the stack): on the deny-list (ExcludedAccounts)")
    print(f"State machine: {organization.state_machine_arn} (the template's own definition)")

    heading("3. The first night: every readable account records its baseline")
    summary, _ = run_night(organization)
    print(json.dumps(summary["accounts_by_status"], indent=2))
    deployment = organization.deployment
    first = organization_emails(control, deployment.topic_arn)
    for subject, text in first:
        print(f"\n--- email: {subject}\n{text}")
    deployment.received(deployment.machines_queue)

    heading(f"4. Overnight, by hand, in account {changed}: claim 2 numbers in us-west-2, release 1 in us-east-1")
    west = member_connect(changed, "us-west-2")
    offers = west.search_available_phone_numbers(
        TargetArn=estates[changed]["us-west-2"], PhoneNumberCountryCode="US", PhoneNumberType="DID", MaxResults=2
    )["AvailableNumbersList"]
    for offer in offers:
        west.claim_phone_number(TargetArn=estates[changed]["us-west-2"], PhoneNumber=offer["PhoneNumber"])
        print(f"claimed  {offer['PhoneNumber']}")
    east = member_connect(changed, "us-east-1")
    victim = east.list_phone_numbers_v2(TargetArn=estates[changed]["us-east-1"], MaxResults=1)[
        "ListPhoneNumbersSummaryList"
    ][0]
    east.release_phone_number(PhoneNumberId=victim["PhoneNumberId"])
    print(f"released {victim['PhoneNumber']}")

    heading("5. The next night: one execution, one digest")
    summary, execution = run_night(organization)
    history = boto3.client("stepfunctions").get_execution_history(executionArn=execution)["events"]
    steps = [e["stateEnteredEventDetails"]["name"] for e in history if e["type"].endswith("StateEntered")]
    print(f"Execution {execution.rsplit(':', 1)[-1]}: {' -> '.join(dict.fromkeys(steps))}")
    print(f"Lambda invocations so far: {organization.function.invocations} (plan, one per account, digest; twice)")

    heading("6. What people get: the organization digest (the only email of the night)")
    for subject, text in organization_emails(control, deployment.topic_arn)[len(first) :]:
        print(f"Subject: {subject}\n\n{text}")

    heading("7. What machines get: each account's own events (an SQS subscriber)")
    for message in deployment.received(deployment.machines_queue):
        body = message["body"]
        if body["event_type"] == "NUMBER_CHANGE":
            where = f"account={body['account']} region={body['region']}"
            print(f"{body['change_type']:<8} {body['phone_number']:<14} {where}")
        else:
            print(f"{body['event_type']:<20} account={message['attributes'].get('account')}")
    print(f"\nDone in {time.monotonic() - started:.0f} s. `pytest -k organization` runs its tests.")
    stack.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
