"""Member accounts: their read role, assumed through STS for one run.

The session is named after the organization run, so that CloudTrail in the member account shows which
run read it; the external id is the one the member role's trust policy requires. A role that is
missing, or whose trust policy refuses us, is an `AccountUnavailable`: the account is not scanned.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import boto3
from botocore.exceptions import BotoCoreError, ClientError

if TYPE_CHECKING:
    from mypy_boto3_sts import STSClient


class AccountUnavailable(Exception):
    """A member account's read role could not be assumed; `reason` says why."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class MemberCredentials:
    account: str
    access_key_id: str
    secret_access_key: str
    session_token: str


class MemberRoles:
    def __init__(self, client: STSClient, role_name: str, external_id: str | None, region: str) -> None:
        self.client = client
        self.role_name = role_name
        self.external_id = external_id
        self.partition = boto3.session.Session().get_partition_for_region(region)

    def role_arn(self, account: str) -> str:
        return f"arn:{self.partition}:iam::{account}:role/{self.role_name}"

    def assume(self, account: str, session_name: str) -> MemberCredentials:
        arguments = {"RoleArn": self.role_arn(account), "RoleSessionName": session_name}
        if self.external_id:
            arguments["ExternalId"] = self.external_id
        try:
            credentials = self.client.assume_role(**arguments)["Credentials"]  # type: ignore[arg-type]
        except ClientError as exc:
            error = exc.response.get("Error", {})
            raise AccountUnavailable(
                f"AssumeRole {arguments['RoleArn']}: {error.get('Code', 'Error')}: {error.get('Message', '')}"
            ) from exc
        except BotoCoreError as exc:
            raise AccountUnavailable(f"AssumeRole {arguments['RoleArn']}: {exc}") from exc
        return MemberCredentials(
            account, credentials["AccessKeyId"], credentials["SecretAccessKey"], credentials["SessionToken"]
        )
