"""The incoming event, parsed into a ScanRequest or refused with a message naming each problem."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.parser import parse
from pydantic import ValidationError

from .models import ScanRequest


class InvalidScanRequest(ValueError):
    """The event is not a scan request; nothing was read or written."""


def parse_scan_request(event: Any) -> ScanRequest:
    try:
        request: ScanRequest = parse(event=event, model=ScanRequest)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in error['loc']) or 'event'}: {error['msg']}" for error in exc.errors()
        )
        raise InvalidScanRequest(f"invalid scan request: {problems}") from None
    return request
