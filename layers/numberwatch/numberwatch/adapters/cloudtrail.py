"""Trail adapter: CloudTrail's LookupEvents, by event name, per Region, paced, through boto3 clients it
is given (one per Region).

LookupEvents takes one lookup attribute per request and answers at most 50 events a page; its quota
is 2 requests a second per account and Region, and the gate keeps to our share of it. The record of
each event (`CloudTrailEvent`, a JSON string) names the caller and the phone number: the number's ID
or ARN is looked for under the keys Connect uses in the request (PhoneNumberId, resourceArn) and the
response (PhoneNumberId, PhoneNumberArn), whatever their case.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from ..ports import TrailRecord, TrailUnavailable
from .connect import CallGate

if TYPE_CHECKING:
    from mypy_boto3_cloudtrail import CloudTrailClient

PAGE_SIZE = 50
REFERENCE_KEYS = frozenset({"phonenumberid", "phonenumberarn", "resourcearn"})


def _references(*sections: Any) -> frozenset[str]:
    found: set[str] = set()
    for section in sections:
        if isinstance(section, dict):
            for key, value in section.items():
                if key.lower() in REFERENCE_KEYS and isinstance(value, str) and value:
                    found |= {value, value.rsplit("/", 1)[-1]}
    return frozenset(found)


def record_of(event: dict[str, Any]) -> TrailRecord:
    """One LookupEvents event, read from its CloudTrailEvent record (the event's own fields as fallback)."""
    try:
        detail: dict[str, Any] = json.loads(event.get("CloudTrailEvent") or "{}")
    except ValueError:
        detail = {}
    identity = detail.get("userIdentity") or {}
    principal = identity.get("arn")
    session = principal.rsplit("/", 1)[-1] if identity.get("type") == "AssumedRole" and principal else None
    when = event.get("EventTime")
    if not isinstance(when, datetime):
        when = datetime.fromisoformat(str(detail.get("eventTime", "1970-01-01T00:00:00+00:00")).replace("Z", "+00:00"))
    return TrailRecord(
        event_name=str(event.get("EventName") or detail.get("eventName") or ""),
        event_time=when if when.tzinfo else when.replace(tzinfo=UTC),
        event_id=str(event.get("EventId") or detail.get("eventID") or ""),
        references=_references(detail.get("requestParameters"), detail.get("responseElements")),
        principal_arn=principal or event.get("Username"),
        principal_type=identity.get("type"),
        session_name=session,
        source_ip=detail.get("sourceIPAddress"),
        user_agent=detail.get("userAgent"),
    )


class CloudTrailLookup:
    def __init__(self, client_for: Callable[[str], CloudTrailClient], gate: CallGate) -> None:
        self.client_for = client_for
        self.gate = gate

    def lookup(self, region: str, event_name: str, start: datetime, end: datetime) -> list[TrailRecord]:
        client = self.client_for(region)
        records: list[TrailRecord] = []
        token: str | None = None
        try:
            while True:
                arguments: dict[str, Any] = {
                    "LookupAttributes": [{"AttributeKey": "EventName", "AttributeValue": event_name}],
                    "StartTime": start,
                    "EndTime": end,
                    "MaxResults": PAGE_SIZE,
                }
                if token:
                    arguments["NextToken"] = token
                page = client.lookup_events(**arguments)
                records += [record_of(dict(event)) for event in page.get("Events", [])]
                token = page.get("NextToken")
                if not token:
                    return records
        except (ClientError, BotoCoreError) as exc:
            code = exc.response.get("Error", {}).get("Code", "") if isinstance(exc, ClientError) else ""
            raise TrailUnavailable(f"LookupEvents in {region}: {code or type(exc).__name__}: {exc}") from exc
