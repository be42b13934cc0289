"""Who made each change: tonight's changes matched to CloudTrail's records of phone-number API calls.
Pure.

A change is matched to the latest record, up to the moment it was observed, of a call that could have
made it (a claim or an import for CLAIMED, a release for RELEASED, UpdatePhoneNumber for MOVED, and
for UPDATED the call behind each changed field) and that names the number, by ID or ARN, in its
request or its response. A change with no such record says so: the Connect admin website does not
record every change as an API call, and LookupEvents covers 90 days.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import replace
from datetime import datetime

from .models import Actor, Change, ChangeType
from .ports import TrailRecord

# Every event name the scan looks up: the phone-number calls that change what it reports.
EVENT_NAMES = (
    "ClaimPhoneNumber",
    "ReleasePhoneNumber",
    "UpdatePhoneNumber",
    "UpdatePhoneNumberMetadata",
    "ImportPhoneNumber",
    "AssociatePhoneNumberContactFlow",
    "DisassociatePhoneNumberContactFlow",
    "TagResource",
    "UntagResource",
)
_BY_FIELD = {
    "TargetArn": ("UpdatePhoneNumber",),
    "PhoneNumberDescription": ("UpdatePhoneNumberMetadata",),
    "FlowId": ("AssociatePhoneNumberContactFlow", "DisassociatePhoneNumberContactFlow"),
    "Tags": ("TagResource", "UntagResource"),
}


def calls_behind(change: Change) -> tuple[str, ...]:
    """The API calls that could have made a change."""
    if change.change_type is ChangeType.CLAIMED:
        # A number imported from AWS End User Messaging is listed with the ARN it came from.
        return ("ImportPhoneNumber",) if change.current.source_arn else ("ClaimPhoneNumber",)
    if change.change_type is ChangeType.RELEASED:
        return ("ReleasePhoneNumber",)
    if change.change_type is ChangeType.MOVED:
        return ("UpdatePhoneNumber",)
    return tuple(name for field in change.changed_fields for name in _BY_FIELD.get(field, ()))


def actor_of(record: TrailRecord) -> Actor:
    return Actor(
        event_name=record.event_name,
        event_time=record.event_time.isoformat(timespec="seconds").replace("+00:00", "Z"),
        event_id=record.event_id,
        principal_arn=record.principal_arn,
        principal_type=record.principal_type,
        session_name=record.session_name,
        source_ip=record.source_ip,
        user_agent=record.user_agent,
    )


def attribute(changes: Sequence[Change], records: Iterable[TrailRecord], observed_at: datetime) -> list[Change]:
    """The changes, each with the actor of its latest matching record (or none)."""
    by_reference: dict[str, list[TrailRecord]] = {}
    for record in records:
        if record.event_time <= observed_at:
            for reference in record.references:
                by_reference.setdefault(reference, []).append(record)
    attributed = []
    for change in changes:
        number = change.current
        names = set(calls_behind(change))
        matching = [
            record
            for reference in {number.arn, number.id}
            for record in by_reference.get(reference, [])
            if record.event_name in names
        ]
        latest = max(matching, key=lambda r: (r.event_time, r.event_id), default=None)
        attributed.append(replace(change, actor=actor_of(latest)) if latest else change)
    return attributed
