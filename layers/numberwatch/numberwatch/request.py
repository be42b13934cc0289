"""The incoming event, parsed into a ScanRequest (or, from the organization state machine, one of its
three steps' requests, told apart by `source`) or refused with a message naming each problem.

Validated by the model itself, as Powertools' parser would without an envelope (a JSON string is
parsed first): importing the parser utility would cost the cold start for nothing."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from .models import ScanRequest

if TYPE_CHECKING:
    from .organization import OrganizationRequest

ORGANIZATION_SOURCES = ("organization-plan", "organization-account", "organization-digest")


class InvalidScanRequest(ValueError):
    """The event is not a scan request; nothing was read or written."""


def parse_scan_request(event: Any) -> ScanRequest:
    request = parse_request(event)
    if not isinstance(request, ScanRequest):
        raise InvalidScanRequest(f"invalid scan request: source {request.source!r} is a step of the organization run")
    return request


def parse_request(event: Any) -> ScanRequest | OrganizationRequest:
    if isinstance(event, str | bytes):
        try:
            event = json.loads(event)
        except ValueError as exc:
            raise InvalidScanRequest(f"invalid scan request: event: not JSON ({exc})") from None
    source = event.get("source") if isinstance(event, dict) else None
    model: type[ScanRequest | OrganizationRequest] = ScanRequest
    if source in ORGANIZATION_SOURCES:
        # Imported here: a single-account deployment never loads organization mode's models.
        from .organization import ORGANIZATION_STEPS

        model = ORGANIZATION_STEPS[source]
    try:
        request: ScanRequest | OrganizationRequest = model.model_validate(event)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in error['loc']) or 'event'}: {error['msg']}" for error in exc.errors()
        )
        raise InvalidScanRequest(f"invalid scan request: {problems}") from None
    return request
