"""STS as it is for roles in other accounts: `AssumeRole` of a role that does not exist, or whose trust
policy requires an external id the caller does not give, is refused with `AccessDenied`.

moto 5.2 hands out credentials for any role ARN ("the role does not need to exist"), so a member
account whose read role was never deployed would look readable. This checks the two things our
member role's trust policy decides on that the local stack can know: that the role exists in its
account, and the `sts:ExternalId` its `StringEquals` condition names. It does not evaluate the
principal or `aws:PrincipalOrgID` (every caller of the local stack is the scanner).
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import unquote

from moto.iam.exceptions import NotFoundException
from moto.iam.models import iam_backends
from moto.sts.exceptions import STSClientError
from moto.sts.models import STSBackend
from moto.utilities.utils import get_partition

_original_assume_role = STSBackend.assume_role
_applied = False


def _required_external_ids(trust_policy: str) -> set[str]:
    document = json.loads(unquote(trust_policy)) if trust_policy else {}
    statements = document.get("Statement", [])
    required: set[str] = set()
    for statement in statements if isinstance(statements, list) else [statements]:
        if statement.get("Effect") != "Allow":
            continue
        value = statement.get("Condition", {}).get("StringEquals", {}).get("sts:ExternalId")
        if value is not None:
            required.update(value if isinstance(value, list) else [value])
    return required


def assume_role(self: STSBackend, region_name: str, role_arn: str, external_id: str, **rest: Any) -> Any:
    account = role_arn.split(":")[4]
    refused = STSClientError(
        "AccessDenied", f"User is not authorized to perform: sts:AssumeRole on resource: {role_arn}"
    )
    try:
        role = iam_backends[account][get_partition(region_name)].get_role_by_arn(role_arn)
    except NotFoundException:
        raise refused from None
    required = _required_external_ids(role.assume_role_policy_document)
    if required and external_id not in required:
        raise refused
    return _original_assume_role(self, region_name=region_name, role_arn=role_arn, external_id=external_id, **rest)


def apply() -> None:
    global _applied
    if not _applied:
        STSBackend.assume_role = assume_role  # type: ignore[method-assign, assignment]
        _applied = True
