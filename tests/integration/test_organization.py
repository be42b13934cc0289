"""Organization mode, on the real engine: the template's own state machine executed by moto's States
Language interpreter, its Lambda tasks running our handler in-process, Organizations and STS from
moto, and the Connect emulator keeping each member account's estate apart."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from moto.sts.models import sts_backends

from localaws.control import StackControl
from localaws.lambda_runtime import ACCOUNT
from localaws.organization import EXTERNAL_ID, OrganizationDeployment, deploy_organization, member_connect
from localaws.stack import LocalStack

REGIONS = ("us-east-1", "us-west-2")


def build_estate(stack: StackControl, account: str) -> dict[str, str]:
    """One instance per Region, 5 numbers each: the instance ARNs by Region."""
    instances = {}
    for region in REGIONS:
        created = member_connect(account, region).create_instance(
            IdentityManagementType="CONNECT_MANAGED",
            InstanceAlias=f"contact-{account[-4:]}-{region}",
            InboundCallsEnabled=True,
            OutboundCallsEnabled=True,
        )
        stack.seed(account=account, region=region, target_arn=created["Arn"], count=5)
        instances[region] = created["Arn"]
    return instances


def claim_one(account: str, target_arn: str, region: str) -> str:
    client = member_connect(account, region)
    (offer,) = client.search_available_phone_numbers(
        TargetArn=target_arn, PhoneNumberCountryCode="US", PhoneNumberType="DID", MaxResults=1
    )["AvailableNumbersList"]
    client.claim_phone_number(TargetArn=target_arn, PhoneNumber=offer["PhoneNumber"])
    return str(offer["PhoneNumber"])


@pytest.fixture
def organization(stack: StackControl, local_stack: LocalStack) -> OrganizationDeployment:
    """Three member accounts in two Regions; the third never got the read role. The management
    account (which ListAccounts lists too) is on the deny-list."""
    return deploy_organization(local_stack.app, 3, REGIONS, without_role=[2], ExcludedAccounts=ACCOUNT)


def organization_digests(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [m for m in messages if m["body"]["event_type"] == "ORGANIZATION_DIGEST"]


@pytest.mark.slow
def test_organization_of_three_accounts_in_two_regions_one_digest_names_the_change_and_the_unobserved_account(
    stack: StackControl, organization: OrganizationDeployment
) -> None:
    changed, quiet, roleless = organization.members
    estates = {account: build_estate(stack, account) for account in organization.members}
    deployment = organization.deployment
    # Given a first organization run that recorded every readable account's baseline
    first = organization.run()["summary"]
    assert first["accounts_by_status"] == {"COMPLETED": sorted([changed, quiet]), "UNOBSERVED": [roleless]}
    first_people = deployment.received(deployment.people_queue)
    assert [m["body"]["event_type"] for m in first_people] == ["ORGANIZATION_DIGEST"]
    assert "BASELINES RECORDED (2)" in digest_text(stack, deployment.topic_arn)
    deployment.received(deployment.machines_queue)
    deployment.received(deployment.chat_queue)
    stack.clear_requests()

    # When one account claims a number in its second Region overnight, and the next run comes
    claimed = claim_one(changed, estates[changed]["us-west-2"], "us-west-2")
    execution = organization.start()
    described = organization.wait(execution)
    assert described["status"] == "SUCCEEDED"
    summary = json.loads(described["output"])["summary"]

    # Then people get one email: the organization digest, naming the change and the unobserved account
    people = deployment.received(deployment.people_queue)
    assert [m["body"]["event_type"] for m in people] == ["ORGANIZATION_DIGEST"]
    (digest,) = people
    assert digest["subject"] == "Connect numbers: 1 claimed in 3 accounts; 1 not observed"
    assert digest["body"]["counts"] == {"CLAIMED": 1, "RELEASED": 0, "MOVED": 0, "UPDATED": 0}
    assert [a["account"] for a in digest["body"]["accounts_not_observed"]] == [roleless]
    text = digest_text(stack, deployment.topic_arn)
    assert f"CLAIMED (1)\n  {changed}  {claimed}" in text
    assert f"ACCOUNTS NOT OBSERVED (1): nothing of theirs is reported released\n  {roleless}: not read" in text
    # And the chat channel one copy of it, in the organization's own thread (none of the accounts' scans)
    chats = [message["body"] for message in deployment.received(deployment.chat_queue)]
    assert [(c["metadata"]["eventType"], c["metadata"]["threadId"]) for c in chats] == [
        ("ORGANIZATION_DIGEST", "connect-number-watch-organization")
    ]
    machines = deployment.received(deployment.machines_queue)
    # And machines get the account's own event, with its account and Region
    changes = [m for m in machines if m["body"]["event_type"] == "NUMBER_CHANGE"]
    assert [(m["body"]["change_type"], m["body"]["phone_number"]) for m in changes] == [("CLAIMED", claimed)]
    assert (changes[0]["attributes"]["account"], changes[0]["attributes"]["region"]) == (changed, "us-west-2")
    # And nothing anywhere is reported released; the account without a role was never read
    assert all(m["body"].get("change_type") != "RELEASED" for m in machines)
    assert summary["accounts_by_status"] == {"COMPLETED": sorted([changed, quiet]), "UNOBSERVED": [roleless]}
    read_accounts = {entry["account"] for entry in stack.requests(entries=True)["entries"]}
    assert read_accounts == {changed, quiet}
    # And each member account's CloudTrail would show the organization run as the session name
    sessions = {
        account: {r.session_name for r in sts_backends[account]["aws"].assumed_roles} for account in (changed, quiet)
    }
    assert sessions == {changed: {first["run_id"], summary["run_id"]}, quiet: {first["run_id"], summary["run_id"]}}


def test_organization_digest_step_retried_sends_no_second_digest(
    stack: StackControl, organization: OrganizationDeployment
) -> None:
    # Given an organization run that sent its digest
    for account in organization.members:
        build_estate(stack, account)
    execution = organization.start()
    described = organization.wait(execution)
    summary = json.loads(described["output"])["summary"]
    deployment = organization.deployment
    assert len(organization_digests(deployment.received(deployment.people_queue))) == 1
    # When Step Functions runs the digest step of the same execution again, with the same input (a
    # retry, a redrive)
    history = boto3.client("stepfunctions").get_execution_history(executionArn=execution)["events"]
    (payload,) = [
        json.loads(e["taskScheduledEventDetails"]["parameters"])["Payload"]
        for e in history
        if e["type"] == "TaskScheduled" and "organization-digest" in e["taskScheduledEventDetails"]["parameters"]
    ]
    again = organization.function.invoke(payload)
    # Then no second digest goes out, and the run keeps one record
    assert again["digest"] == f"organization-digest-{summary['run_id']}"
    assert organization_digests(deployment.received(deployment.people_queue)) == []
    records = [
        item
        for item in boto3.client("dynamodb").scan(TableName=deployment.table)["Items"]
        if item["PK"]["S"] == "RUN#organization"
    ]
    assert len(records) == 1


def test_organization_an_account_whose_connect_denies_is_partial_and_releases_nothing(
    stack: StackControl, organization: OrganizationDeployment
) -> None:
    # Given a baseline of every readable account
    changed, quiet, _ = organization.members
    for account in organization.members:
        build_estate(stack, account)
    organization.run()
    deployment = organization.deployment
    deployment.received(deployment.people_queue)
    deployment.received(deployment.machines_queue)
    # When Connect denies every listing in one account's us-east-1 (its role lost the permission)
    stack.add_fault(error="AccessDeniedException", operation="ListPhoneNumbersV2", region="us-east-1")
    summary = organization.run()["summary"]
    # Then those targets are unobserved, the accounts partly observed, and nothing is released
    assert summary["accounts_by_status"]["PARTIAL"] == sorted([changed, quiet])
    machines = deployment.received(deployment.machines_queue)
    assert [m for m in machines if m["body"]["event_type"] == "NUMBER_CHANGE"] == []
    (digest,) = organization_digests(deployment.received(deployment.people_queue))
    assert digest["body"]["counts"] == {"CLAIMED": 0, "RELEASED": 0, "MOVED": 0, "UPDATED": 0}
    assert "ACCOUNTS PARTLY OBSERVED (2)" in digest_text(stack, deployment.topic_arn)


def test_organization_member_role_refuses_a_caller_without_its_external_id(
    stack: StackControl, organization: OrganizationDeployment
) -> None:
    # Given a member role whose trust policy requires the stack's external id
    role_arn = f"arn:aws:iam::{organization.members[0]}:role/ConnectNumberWatchRead"
    sts = boto3.client("sts")
    # When someone assumes it without it, or with another, they are refused; with it, they get in
    for external_id in (None, "guessed"):
        arguments = {"ExternalId": external_id} if external_id else {}
        with pytest.raises(ClientError, match="AccessDenied"):
            sts.assume_role(RoleArn=role_arn, RoleSessionName="probe", **arguments)
    assert sts.assume_role(RoleArn=role_arn, RoleSessionName="scan", ExternalId=EXTERNAL_ID)["Credentials"]


def digest_text(stack: StackControl, topic_arn: str) -> str:
    """The email text of the last organization digest sent to the topic."""
    topic = next(t for t in stack.moto_data()["sns"]["Topic"] if t["arn"] == topic_arn)
    texts = [
        json.loads(message)["email"]
        for _, message, _, attributes, *_ in topic["sent_notifications"]
        if attributes.get("event_type", {}).get("Value") == "ORGANIZATION_DIGEST"
    ]
    return texts[-1]
