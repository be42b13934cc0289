"""Who signed a request: the account it acts in, and the identity CloudTrail records for it.

Both come from moto's IAM and STS, which the stack runs in-process, so the emulators agree with
`sts get-caller-identity` on the account: credentials from STS AssumeRole act in the role's account
as an `AssumedRole` (its session name is the caller's user name, as CloudTrail has it); an IAM user's
access key as that `IAMUser`. Any other key (the tests' `testing`, the CLI's `x`) acts in moto's
default account as the IAM user `moto`, the user moto answers for such keys.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from typing import Any

from moto.iam.exceptions import NotFoundException
from moto.iam.models import get_account_id_from, iam_backends
from moto.sts.models import sts_backends
from moto.utilities.utils import get_partition

UNKNOWN_KEY_USER = "moto"


def account_for(access_key: str, environ: dict[str, Any]) -> str:
    """The caller's account, resolved as moto resolves it (STS assumed-role keys included)."""
    if "MOTO_ACCOUNT_ID" in os.environ:
        return os.environ["MOTO_ACCOUNT_ID"]
    if environ.get("HTTP_X_MOTO_ACCOUNT_ID"):
        return str(environ["HTTP_X_MOTO_ACCOUNT_ID"])
    return str(get_account_id_from(access_key))


def _stable_id(prefix: str, text: str) -> str:
    return prefix + hashlib.sha256(text.encode()).hexdigest()[:17].upper()


@dataclass(frozen=True)
class Caller:
    account: str
    access_key: str
    identity: dict[str, Any]  # CloudTrail's userIdentity
    username: str  # LookupEvents' Username: the IAM user's name, or the role session's
    source_ip: str
    user_agent: str


def _identity(access_key: str, account: str, region: str) -> tuple[dict[str, Any], str]:
    partition = get_partition(region)
    role = sts_backends[account][partition].get_assumed_role_from_access_key(access_key)
    if role is not None:
        role_name = role.role_arn.rsplit("/", 1)[-1]
        try:
            role_id = iam_backends[account][partition].get_role_by_arn(role.role_arn).id
        except NotFoundException:  # moto lets a caller assume a role that does not exist
            role_id = _stable_id("AROA", role.role_arn)
        identity = {
            "type": "AssumedRole",
            "principalId": f"{role_id}:{role.session_name}",
            "arn": role.arn,
            "accountId": account,
            "accessKeyId": access_key,
            "sessionContext": {
                "sessionIssuer": {
                    "type": "Role",
                    "principalId": role_id,
                    "arn": role.role_arn,
                    "accountId": account,
                    "userName": role_name,
                },
                "attributes": {"mfaAuthenticated": "false"},
            },
        }
        return identity, str(role.session_name)
    user = iam_backends[account][partition].get_user_from_access_key_id(access_key)
    name = user.name if user is not None else UNKNOWN_KEY_USER
    identity = {
        "type": "IAMUser",
        "principalId": user.id if user is not None else _stable_id("AIDA", f"{account}/{name}"),
        "arn": user.arn if user is not None else f"arn:{partition}:iam::{account}:user/{name}",
        "accountId": account,
        "accessKeyId": access_key,
        "userName": name,
    }
    return identity, name


def caller_of(access_key: str, region: str, environ: dict[str, Any]) -> Caller:
    account = account_for(access_key, environ)
    identity, username = _identity(access_key, account, region)
    return Caller(
        account=account,
        access_key=access_key,
        identity=identity,
        username=username,
        source_ip=str(environ.get("REMOTE_ADDR", "")),
        user_agent=str(environ.get("HTTP_USER_AGENT", "")),
    )


def iam_user(account: str, region: str, name: str, source_ip: str, user_agent: str) -> Caller:
    """A named IAM user of `account` who holds no key the stack knows (for changes the stack makes itself)."""
    partition = get_partition(region)
    access_key = _stable_id("AKIA", f"{account}/{name}")
    identity = {
        "type": "IAMUser",
        "principalId": _stable_id("AIDA", f"{account}/{name}"),
        "arn": f"arn:{partition}:iam::{account}:user/{name}",
        "accountId": account,
        "accessKeyId": access_key,
        "userName": name,
    }
    return Caller(account, access_key, identity, name, source_ip, user_agent)
