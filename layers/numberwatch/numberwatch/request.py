"""The incoming event, parsed into a ScanRequest or refused with a message naming each problem.

Validated by the model itself, as Powertools' parser would without an envelope (a JSON string is
parsed first): importing the parser utility would cost the cold start for nothing."""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from .models import ScanRequest


class InvalidScanRequest(ValueError):
    """The event is not a scan request; nothing was read or written."""


def parse_scan_request(event: Any) -> ScanRequest:
    try:
        if isinstance(event, str | bytes):
            return ScanRequest.model_validate_json(event)
        return ScanRequest.model_validate(event)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in error['loc']) or 'event'}: {error['msg']}" for error in exc.errors()
        )
        raise InvalidScanRequest(f"invalid scan request: {problems}") from None
