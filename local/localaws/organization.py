"""An AWS Organization in the local stack, and the template's organization run deployed into it.

The management account (the stack's own, 123456789012) creates the organization and its member
accounts through moto's Organizations; each member gets the read role of `member-role.yaml` (its own
trust and permission policies, resolved) unless told otherwise; the template's own state machine
definition is created in moto's Step Functions, which executes it, and the scan function is
registered with the stack's Lambda service, which runs the real handler in-process. Each member's
Connect estate is its own: the emulator keys state on the caller's account, and the scan reaches a
member only through the credentials its role gives.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import boto3

from .demo import SEEDER_ACCESS_KEY
from .lambda_runtime import ACCOUNT, Deployment, FunctionHost, deploy
from .stack import LocalStackApp
from .template import member_role_template, resolve_all, resource

STATE_MACHINE = "OrganizationStateMachine"
STACK_NAME = "numberwatch"
EXTERNAL_ID = "numberwatch-local-external-id"
SCANNER_ROLE_ARN = f"arn:aws:iam::{ACCOUNT}:role/{STACK_NAME}-ScanFunctionRole"
FUNCTION_NAME = f"{STACK_NAME}-scan-numbers"
FUNCTION_ARN = f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:{FUNCTION_NAME}"


def as_account(client: Any, account: str) -> Any:
    """`client`, acting in `account` (moto's and the Connect emulator's `x-moto-account-id`)."""

    def add_header(request: Any, **_: Any) -> None:
        request.headers["x-moto-account-id"] = account

    client.meta.events.register("before-send", add_header)
    return client


def member_connect(account: str, region: str) -> Any:
    """A Connect client of a member account, exempt from the emulator's quota (for seeding)."""
    client = boto3.client(
        "connect", region_name=region, aws_access_key_id=SEEDER_ACCESS_KEY, aws_secret_access_key="seeder"
    )
    return as_account(client, account)


def state_machine_definition() -> str:
    """The template's own definition, its substitutions made."""
    definition = resource(STATE_MACHINE)["Properties"]["Definition"]
    return json.dumps(definition).replace("${ScanFunctionArn}", FUNCTION_ARN)


@dataclass
class OrganizationDeployment:
    deployment: Deployment
    function: FunctionHost
    state_machine_arn: str
    organization_id: str
    members: list[str] = field(default_factory=list)

    def start(self, name: str | None = None) -> str:
        sfn = boto3.client("stepfunctions")
        return str(
            sfn.start_execution(stateMachineArn=self.state_machine_arn, name=name or str(uuid.uuid4()), input="{}")[
                "executionArn"
            ]
        )

    def wait(self, execution_arn: str, timeout_seconds: float = 600) -> dict[str, Any]:
        """The execution once it has finished (bounded: an execution that never ends fails the caller)."""
        sfn = boto3.client("stepfunctions")
        deadline = time.monotonic() + timeout_seconds
        while True:
            described: dict[str, Any] = dict(sfn.describe_execution(executionArn=execution_arn))
            if described["status"] != "RUNNING":
                return described
            if time.monotonic() > deadline:
                raise TimeoutError(f"{execution_arn} still running after {timeout_seconds} s")
            time.sleep(0.2)

    def run(self, name: str | None = None) -> dict[str, Any]:
        """One organization run, start to end: the execution's final output."""
        described = self.wait(self.start(name))
        if described["status"] != "SUCCEEDED":
            raise RuntimeError(f"execution {described['status']}: {described.get('error')}: {described.get('cause')}")
        output: dict[str, Any] = json.loads(described["output"])
        return output


def create_member_role(account: str, organization_id: str, regions: Sequence[str]) -> None:
    """member-role.yaml's role in `account`, its policies resolved as CloudFormation would."""
    properties = member_role_template()["Resources"]["ConnectNumberWatchReadRole"]["Properties"]
    refs = {
        "ScannerRoleArn": SCANNER_ROLE_ARN,
        "OrganizationId": organization_id,
        "ExternalId": EXTERNAL_ID,
        "RoleName": "ConnectNumberWatchRead",
        "ScanRegions": list(regions),
        "AWS::Partition": "aws",
        "AWS::AccountId": account,
    }
    iam = as_account(boto3.client("iam"), account)
    name = resolve_all(properties["RoleName"], refs)
    iam.create_role(
        RoleName=name, AssumeRolePolicyDocument=json.dumps(resolve_all(properties["AssumeRolePolicyDocument"], refs))
    )
    for policy in properties["Policies"]:
        document = json.dumps(resolve_all(policy["PolicyDocument"], refs))
        iam.put_role_policy(RoleName=name, PolicyName=policy["PolicyName"], PolicyDocument=document)


def deploy_organization(
    app: LocalStackApp, members: int, regions: Sequence[str], without_role: Sequence[int] = (), **refs: Any
) -> OrganizationDeployment:
    """An organization of `members` member accounts (those at the indexes `without_role` never got the
    read role), the stack's table and topic in organization mode, and the state machine."""
    organizations = boto3.client("organizations")
    organization_id = organizations.create_organization(FeatureSet="ALL")["Organization"]["Id"]
    accounts = []
    for index in range(members):
        created = organizations.create_account(Email=f"member{index}@example.com", AccountName=f"member-{index}")
        account = created["CreateAccountStatus"]["AccountId"]
        accounts.append(account)
        if index not in without_role:
            create_member_role(account, organization_id, regions)
    deployment = deploy(
        ",".join(regions),
        OrganizationMode="Enabled",
        MemberExternalId=EXTERNAL_ID,
        **refs,
    )
    function = FunctionHost(deployment.env)
    app.lambdas.register(FUNCTION_NAME, function)
    sfn = boto3.client("stepfunctions")
    state_machine_arn = sfn.create_state_machine(
        name=f"{STACK_NAME}-organization-{uuid.uuid4().hex[:8]}",
        definition=state_machine_definition(),
        roleArn=f"arn:aws:iam::{ACCOUNT}:role/{STACK_NAME}-OrganizationStateMachineRole",
        type="STANDARD",
    )["stateMachineArn"]
    return OrganizationDeployment(deployment, function, state_machine_arn, organization_id, accounts)
