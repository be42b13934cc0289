"""A small client for the local stack's control APIs (the Connect emulator's and moto's)."""

from __future__ import annotations

import json
import urllib.request
from typing import Any


class StackControl:
    def __init__(self, endpoint_url: str) -> None:
        self.endpoint_url = endpoint_url.rstrip("/")

    def _request(self, method: str, path: str, payload: dict[str, Any] | None = None) -> Any:
        data = None if payload is None else json.dumps(payload).encode()
        request = urllib.request.Request(
            f"{self.endpoint_url}{path}", data=data, method=method, headers={"Content-Type": "application/json"}
        )
        with urllib.request.urlopen(request, timeout=60) as response:
            body = response.read()
        return json.loads(body) if body else None

    # Connect emulator
    def reset(self) -> None:
        """Forget everything: the emulator's state, quotas, faults and log, and moto's state."""
        self._request("POST", "/connect-emulator/reset", {})
        self._request("POST", "/moto-api/reset", {})

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
