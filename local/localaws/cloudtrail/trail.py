"""The record CloudTrail keeps of the Connect emulator's management events, per account and Region.

The Connect emulator records each of its own successful mutating calls here, as CloudTrail would:
a CloudTrail record (userIdentity, sourceIPAddress, userAgent, requestParameters, responseElements,
eventID, eventTime...) and the fields LookupEvents answers beside it. Times are whole seconds, as
CloudTrail's are. Events are kept 90 days, what LookupEvents covers.
"""

from __future__ import annotations

import itertools
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from ..callers import Caller
from ..connect.backend import parse_arn

RETENTION_SECONDS = 90 * 24 * 3600
EVENT_SOURCE = "connect.amazonaws.com"
RESOURCE_TYPES = {
    "phone-number": "AWS::Connect::PhoneNumber",
    "instance": "AWS::Connect::Instance",
    "traffic-distribution-group": "AWS::Connect::TrafficDistributionGroup",
}


def _resources(*sections: dict[str, Any] | None) -> list[dict[str, str]]:
    """The Connect resources a call names by ARN, in its request or its response."""
    found: dict[str, str] = {}
    for section in sections:
        for value in (section or {}).values():
            if not isinstance(value, str):
                continue
            if "/contact-flow/" in value and value.startswith("arn:"):
                found[value] = "AWS::Connect::ContactFlow"
                continue
            parsed = parse_arn(value)
            if parsed is not None and parsed[2] in RESOURCE_TYPES:
                found[value] = RESOURCE_TYPES[parsed[2]]
    return [{"ResourceType": kind, "ResourceName": name} for name, kind in found.items()]


@dataclass(frozen=True)
class TrailEvent:
    sequence: int  # the order of recording: a paging cursor that new events never shift
    event_id: str
    event_name: str
    event_time: int  # epoch seconds
    access_key: str
    username: str
    resources: tuple[tuple[str, str], ...]  # (type, name)
    record: dict[str, Any]  # the CloudTrail record

    def lookup_values(self, key: str) -> set[str]:
        """What a LookupEvents attribute `key` can match in this event."""
        values = {
            "EventId": {self.event_id},
            "EventName": {self.event_name},
            "ReadOnly": {"false"},
            "Username": {self.username},
            "ResourceType": {kind for kind, _ in self.resources},
            "ResourceName": {name for _, name in self.resources},
            "EventSource": {EVENT_SOURCE},
            "AccessKeyId": {self.access_key},
        }
        return values.get(key, set())

    def as_lookup(self, cloudtrail_event: str) -> dict[str, Any]:
        """In LookupEvents' `Events[]` shape."""
        return {
            "EventId": self.event_id,
            "EventName": self.event_name,
            "ReadOnly": "false",
            "AccessKeyId": self.access_key,
            "EventTime": self.event_time,
            "EventSource": EVENT_SOURCE,
            "Username": self.username,
            "Resources": [{"ResourceType": kind, "ResourceName": name} for kind, name in self.resources],
            "CloudTrailEvent": cloudtrail_event,
        }


class Trail:
    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self.clock = clock
        self.lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        with self.lock:
            self._events: dict[tuple[str, str], deque[TrailEvent]] = {}
            self._sequence = itertools.count(1)

    def record(
        self,
        caller: Caller,
        region: str,
        event_name: str,
        request_parameters: dict[str, Any],
        response_elements: dict[str, Any] | None,
    ) -> TrailEvent:
        now = int(self.clock())
        event_id = str(uuid.uuid4())
        record = {
            "eventVersion": "1.09",
            "userIdentity": caller.identity,
            "eventTime": datetime.fromtimestamp(now, UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "eventSource": EVENT_SOURCE,
            "eventName": event_name,
            "awsRegion": region,
            "sourceIPAddress": caller.source_ip,
            "userAgent": caller.user_agent,
            "requestParameters": request_parameters or None,
            "responseElements": response_elements or None,
            "requestID": str(uuid.uuid4()),
            "eventID": event_id,
            "readOnly": False,
            "eventType": "AwsApiCall",
            "managementEvent": True,
            "recipientAccountId": caller.account,
            "eventCategory": "Management",
        }
        resources = _resources(request_parameters, response_elements)
        event = TrailEvent(
            sequence=0,
            event_id=event_id,
            event_name=event_name,
            event_time=now,
            access_key=caller.access_key,
            username=caller.username,
            resources=tuple((r["ResourceType"], r["ResourceName"]) for r in resources),
            record={**record, "resources": [{"type": r["ResourceType"], "ARN": r["ResourceName"]} for r in resources]},
        )
        with self.lock:
            event = replace(event, sequence=next(self._sequence))
            events = self._events.setdefault((caller.account, region), deque())
            events.append(event)
            self._forget_old(events, now)
        return event

    def newest_first(self, account: str, region: str) -> list[TrailEvent]:
        """Every event kept for the account and Region, the latest first."""
        with self.lock:
            events = self._events.get((account, region), deque())
            self._forget_old(events, int(self.clock()))
            return list(reversed(events))

    @staticmethod
    def _forget_old(events: deque[TrailEvent], now: int) -> None:
        while events and events[0].event_time < now - RETENTION_SECONDS:
            events.popleft()
