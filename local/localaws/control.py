"""A small client for the local stack's control APIs (its own, the Connect emulator's and moto's)."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any


class ControlRefused(Exception):
    """The control API refused a request: `status` and the reason it gave."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(f"{status}: {reason}")
        self.status = status
        self.reason = reason


class StackControl:
    def __init__(self, endpoint_url: str) -> None:
        self.endpoint_url = endpoint_url.rstrip("/")

    def _request(self, method: str, path: str, payload: dict[str, Any] | None = None) -> Any:
        data = None if payload is None else json.dumps(payload).encode()
        request = urllib.request.Request(
            f"{self.endpoint_url}{path}", data=data, method=method, headers={"Content-Type": "application/json"}
        )
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                body = response.read()
        except urllib.error.HTTPError as exc:
            text = exc.read().decode(errors="replace")
            try:
                decoded = json.loads(text)
                reason = decoded.get("error") or decoded.get("message") or text
            except ValueError:
                reason = text
            raise ControlRefused(exc.code, str(reason)) from None
        return json.loads(body) if body else None

    def reset(self) -> None:
        """Forget everything: the emulator's state, quotas, faults, log and CloudTrail events, moto's
        state, and the stack's consistency mode (strongly consistent again)."""
        self._request("POST", "/connect-emulator/reset", {})
        self._request("POST", "/moto-api/reset", {})
        self._request("POST", "/local-stack/reset", {})

    # The stack's DynamoDB
    def eventual_consistency(
        self,
        *,
        index_lag_writes: int | None = None,
        index_lag_seconds: float | None = None,
        base_lag_writes: int | None = None,
        base_lag_seconds: float | None = None,
    ) -> dict[str, Any]:
        """Lag reads of global secondary indexes, and base-table reads without ConsistentRead, behind
        the writes: a write shows after `*_lag_seconds` or `*_lag_writes` further writes to its table,
        whichever comes first. None turns that lag off; all None is strongly consistent."""
        settings = {
            "index_lag_writes": index_lag_writes,
            "index_lag_seconds": index_lag_seconds,
            "base_lag_writes": base_lag_writes,
            "base_lag_seconds": base_lag_seconds,
        }
        result: dict[str, Any] = self._request("POST", "/local-stack/consistency", settings)
        return result

    def settle(self) -> None:
        """Every lagged write becomes visible now, as time passing would."""
        self._request("POST", "/local-stack/settle", {})

    def dynamodb_work(self) -> dict[str, int]:
        """`items_examined`: how many items DynamoDB queries and scans have looked at since the reset."""
        result: dict[str, int] = self._request("GET", "/local-stack/work")
        return result

    # Connect emulator

    def set_quotas(self, **changes: Any) -> dict[str, Any]:
        result: dict[str, Any] = self._request("POST", "/connect-emulator/quotas", changes)
        return result

    def lift_quotas(self) -> None:
        self.set_quotas(enabled=False)

    def add_fault(self, **rule: Any) -> None:
        self._request("POST", "/connect-emulator/faults", rule)

    def faults(self) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = self._request("GET", "/connect-emulator/faults")["faults"]
        return result

    def clear_faults(self) -> None:
        self._request("DELETE", "/connect-emulator/faults")

    def add_listing_change(
        self,
        *,
        on_call: int,
        action: str,
        listing_target: str | None = None,
        phone_number_id: str | None = None,
        target_arn: str | None = None,
        phone_number: str | None = None,
        description: str | None = None,
        tags: dict[str, str] | None = None,
        recorded: bool = True,
    ) -> None:
        """Just before the `on_call`-th ListPhoneNumbersV2 request naming `listing_target` (an instance
        or TDG ARN or ID; None: any listing), apply `action` in that request's account: `claim`
        (phone_number, E.164, to target_arn), `release` (phone_number_id), `move` (phone_number_id to
        target_arn), `describe` (set phone_number_id's description) or `tag` (phone_number_id with
        tags). CloudTrail records it as an API call of the IAM user `listing-change`, unless
        `recorded` is false."""
        rule = {
            "on_call": on_call,
            "action": action,
            "listing_target": listing_target,
            "phone_number_id": phone_number_id,
            "target_arn": target_arn,
            "phone_number": phone_number,
            "description": description,
            "tags": tags,
            "recorded": recorded,
        }
        self._request("POST", "/connect-emulator/listing-changes", rule)

    def listing_changes(self) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = self._request("GET", "/connect-emulator/listing-changes")["listing_changes"]
        return result

    def clear_listing_changes(self) -> None:
        self._request("DELETE", "/connect-emulator/listing-changes")

    def console_change(
        self,
        action: str,
        *,
        account: str | None = None,
        phone_number_id: str | None = None,
        target_arn: str | None = None,
        phone_number: str | None = None,
        description: str | None = None,
        tags: dict[str, str] | None = None,
    ) -> dict[str, Any]:
        """Change the estate now as the admin website can, leaving no CloudTrail record: `claim`,
        `release`, `move`, `describe` or `tag`, as `add_listing_change` names them (in moto's default
        account unless `account` says otherwise). Returns the operation made, its Region and answer."""
        change = {
            "action": action,
            "phone_number_id": phone_number_id,
            "target_arn": target_arn,
            "phone_number": phone_number,
            "description": description,
            "tags": tags,
            **({"account": account} if account is not None else {}),
        }
        result: dict[str, Any] = self._request("POST", "/connect-emulator/console", change)
        return result

    def complete_pending(self) -> int:
        """End every pending claim, move and metadata change now (their `async_delay_seconds` over)."""
        completed: int = self._request("POST", "/connect-emulator/complete-pending", {})["completed"]
        return completed

    def set_tdg_status(self, tdg_arn: str, status: str) -> dict[str, Any]:
        """Put a TDG in any status (CREATION_IN_PROGRESS, ACTIVE, CREATION_FAILED, PENDING_DELETION,
        DELETION_FAILED, UPDATE_IN_PROGRESS) until something changes it again."""
        result: dict[str, Any] = self._request(
            "POST", "/connect-emulator/tdg-status", {"tdg_arn": tdg_arn, "status": status}
        )
        return result

    def requests(self, entries: bool = False) -> dict[str, Any]:
        result: dict[str, Any] = self._request("GET", "/connect-emulator/requests" + ("?entries=1" if entries else ""))
        return result

    def clear_requests(self) -> None:
        self._request("DELETE", "/connect-emulator/requests")

    def settings(self, **changes: Any) -> dict[str, Any]:
        result: dict[str, Any] = self._request("POST", "/connect-emulator/settings", changes)
        return result

    def seed(self, **spec: Any) -> dict[str, Any]:
        result: dict[str, Any] = self._request("POST", "/connect-emulator/seed", spec)
        return result

    # moto
    def moto_data(self) -> dict[str, Any]:
        result: dict[str, Any] = self._request("GET", "/moto-api/data.json")
        return result
