"""Account directory adapter: AWS Organizations, through a boto3 client it is given.

`ListAccounts` (or, for an OU filter, `ListAccountsForParent` and `ListOrganizationalUnitsForParent`
down the tree) from the management account or a delegated administrator. Only ACTIVE accounts are
scanned: a suspended or closing account answers nothing worth reporting. Newer answers carry `State`
(ACTIVE, SUSPENDED, PENDING_CLOSURE, CLOSED, ...), older ones `Status`; either is read.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mypy_boto3_organizations import OrganizationsClient


def _active(account: dict[str, Any]) -> bool:
    return str(account.get("State") or account.get("Status")) == "ACTIVE"


class OrganizationsDirectory:
    def __init__(self, client: OrganizationsClient) -> None:
        self.client = client

    def active_accounts(self, parents: Sequence[str]) -> list[str]:
        if not parents:
            pages = self.client.get_paginator("list_accounts").paginate()
            return sorted(a["Id"] for page in pages for a in page["Accounts"] if _active(dict(a)))
        found: set[str] = set()
        for parent in parents:
            for unit in self._tree(parent):
                pages = self.client.get_paginator("list_accounts_for_parent").paginate(ParentId=unit)
                found.update(a["Id"] for page in pages for a in page["Accounts"] if _active(dict(a)))
        return sorted(found)

    def _tree(self, parent: str) -> Iterator[str]:
        """`parent` and every OU below it."""
        yield parent
        pages = self.client.get_paginator("list_organizational_units_for_parent").paginate(ParentId=parent)
        for page in pages:
            for unit in page["OrganizationalUnits"]:
                yield from self._tree(unit["Id"])
