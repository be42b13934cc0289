"""Opaque, signed pagination tokens for the stack's own emulators.

A token carries the cursor of the last item served and the scope of the request that issued it
(a digest of its parameters), signed with a secret that a reset replaces: a forged, foreign, stale
or expired token is the service's own validation error, never a silent restart from the top.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
from collections.abc import Callable
from typing import Any

from .service_model import ApiError

TOKEN_LIFETIME_SECONDS = 24 * 3600


class Tokens:
    """Opaque, signed pagination tokens bound to the request that issued them."""

    def __init__(self) -> None:
        self.secret = secrets.token_bytes(32)

    def issue(self, scope: str, cursor: Any) -> str:
        payload = base64.urlsafe_b64encode(
            json.dumps({"s": scope, "c": cursor, "t": int(time.time())}).encode()
        ).decode()
        return f"{payload}.{self._sign(payload)}"

    def read(self, token: str, scope: str, error: Callable[[str], ApiError]) -> Any:
        payload, _, signature = token.partition(".")
        if not hmac.compare_digest(signature, self._sign(payload)):
            raise error("NextToken is invalid")
        try:
            data = json.loads(base64.urlsafe_b64decode(payload.encode()))
        except ValueError as exc:
            raise error("NextToken is invalid") from exc
        if data["s"] != scope:
            raise error("NextToken does not belong to this request")
        if time.time() - data["t"] > TOKEN_LIFETIME_SECONDS:
            raise error("NextToken has expired")
        return data["c"]

    def _sign(self, payload: str) -> str:
        return hmac.new(self.secret, payload.encode(), hashlib.sha256).hexdigest()[:32]


def request_scope(params: dict[str, Any], *ignored: str) -> str:
    """A digest of a request's parameters, paging ones (and `ignored`) aside."""
    kept = {k: v for k, v in params.items() if k not in ("NextToken", "MaxResults", *ignored)}
    return hashlib.sha256(json.dumps(kept, sort_keys=True, default=str).encode()).hexdigest()[:24]
