"""The account being scanned: the caller's own, from STS (no permission needed)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mypy_boto3_sts import STSClient


class CallerAccount:
    def __init__(self, client: STSClient) -> None:
        self.client = client
        self._account: str | None = None

    def __call__(self) -> str:
        if self._account is None:
            self._account = self.client.get_caller_identity()["Account"]
        return self._account
