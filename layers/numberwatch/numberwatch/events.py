"""The messages a run sends, built from its changes. Pure: no I/O.

Every message is an `OutboxMessage`: written to the snapshot table in the same transaction as
the change it reports, published afterwards, marked sent. The SNS wire format (one JSON envelope,
`MessageStructure=json`: `default` JSON for machines, `email` text for people) is in `envelope`.

Per-number event body, schema_version 1:
    event_id          stable id: the same change resent has the same id
    event_type        NUMBER_CHANGE
    change_type       CLAIMED | RELEASED | MOVED | UPDATED
    phone_number      E.164
    phone_number_arn  the number's identity (kept across moves)
    account, region   of the number
    target_arn        where the number is now (where it was, for RELEASED)
    before, after     ListPhoneNumbersSummary fields, plus FlowId and FlowName (the contact flow, absent
                      when unrouted; "?" when it could not be read), Tags and PhoneNumberStatus (when
                      DescribePhoneNumber was asked), or null
    changed_fields    field names that differ (UPDATED, MOVED): summary fields, FlowId, Tags
    actor             who made the change, from CloudTrail (event_name, event_time, event_id,
                      principal_arn, principal_type, session_name, source_ip, user_agent), or null
    attribution       why `actor` is null, in plain words (absent when it is not)
    run_id            the Lambda request id of the run
    observed_at       UTC, ISO 8601

Per-number finding body (NUMBER_FINDING): event_id, finding_type (CLAIM_FAILED, STUCK_IN_PROGRESS,
MISSING_REQUIRED_TAGS, FLOW_NOT_FOUND), detail, phone_number, phone_number_arn, account, region,
target_arn, number (its fields), run_id, observed_at.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import Any

from .models import SCHEMA_VERSION, Actor, Arn, Change, ChangeType, EventType, Finding, FindingType, PhoneNumber
from .render import escaped, shown

SNS_MESSAGE_LIMIT = 256 * 1024


@dataclass(frozen=True)
class OutboxMessage:
    message_id: str
    event_type: EventType
    run_id: str
    created_at: str
    body: dict[str, Any]
    email_text: str
    subject: str | None = None
    attributes: dict[str, str] = field(default_factory=dict)
    number_arn: str | None = None
    expires_at: int | None = None  # kept as history until then (DynamoDB TTL)
    # A change's snapshot version of its number: orders the number's history between runs of one second.
    version: int | None = None

    @cached_property
    def envelope(self) -> str:
        """The SNS message for MessageStructure=json (sized for batching, then sent: built once)."""
        return envelope(self.body, self.email_text)

    @property
    def sort_key(self) -> str:
        """Where it sorts in its run's outbox partition: the table's sort key, so that a run's messages
        held in memory come in the order they are read back."""
        return f"{self.event_type.value}#{self.message_id}"

    def kept_until(self, expires_at: int) -> OutboxMessage:
        """The same message, kept as history until `expires_at` (epoch seconds)."""
        return replace(self, expires_at=expires_at)

    def message_attributes(self) -> dict[str, str]:
        """Attributes subscribers filter on; SNS rejects empty strings, so those are left out."""
        return {k: v for k, v in {"event_type": self.event_type.value, **self.attributes}.items() if v}


def envelope(body: dict[str, Any], email_text: str) -> str:
    return json.dumps({"default": json.dumps(body, separators=(",", ":")), "email": email_text})


def event_id(change: Change) -> str:
    """Same change, same id (a resend); a genuine A→B→A→B has distinct versions, so distinct ids."""
    key = f"{change.number_arn}|{change.change_type.value}|{change.version_before}|{change.version_after}"
    return hashlib.sha256(key.encode()).hexdigest()[:32]


def target_label(target_arn: str, target_names: dict[str, str]) -> str:
    """A target as people see it: its name from Connect (quoted, escaped), or its ARN."""
    name = target_names.get(target_arn)
    return shown(name) if name is not None else target_arn


def describe(change: Change, target_names: dict[str, str]) -> str:
    """One line for people. Every value that came from Connect is quoted and escaped (`render.shown`)."""
    number = change.current
    text = f"{escaped(number.number, 20)}  {escaped(number.type, 20)} {escaped(number.country, 4)}"
    where = target_label(number.target_arn, target_names)
    if change.change_type is ChangeType.MOVED and change.before is not None:
        return f"{text}  from {target_label(change.before.target_arn, target_names)} to {where}"
    if change.change_type is ChangeType.UPDATED and change.before is not None and change.after is not None:
        edits = ", ".join(_edit(f, change.before, change.after) for f in change.changed_fields)
        return f"{text}  on {where}  ({edits})"
    preposition = "from" if change.change_type is ChangeType.RELEASED else "on"
    description = f"  {shown(number.description)}" if number.description else ""
    return f"{text}  {preposition} {where}{description}"


NO_TRAIL = (
    "no CloudTrail record found: the admin website does not record every change as an API call, and "
    "LookupEvents covers 90 days"
)


def actor_line(change: Change) -> str:
    """Who made a change, for people; every value from CloudTrail is shown escaped."""
    actor = change.actor
    if actor is None:
        return "by: unknown (no CloudTrail record)"
    who = shown(actor.principal_arn or actor.principal_type or "an unknown principal", 120)
    session = f" session {shown(actor.session_name, 60)}" if actor.session_name else ""
    origin = f" from {shown(actor.source_ip, 45)}" if actor.source_ip else ""
    return f"by: {who}{session} ({escaped(actor.event_name, 40)} at {escaped(actor.event_time, 30)}{origin})"


def _edit(name: str, before: PhoneNumber, after: PhoneNumber) -> str:
    """One changed field, before → after, as people read it."""
    if name == "FlowId":
        return f"flow: {_flow(before)} → {_flow(after)}"
    if name == "Tags":
        return f"tags: {_tags(before)} → {_tags(after)}"
    return f"{name}: {shown(dict(before.change_values()).get(name))} → {shown(dict(after.change_values()).get(name))}"


def _flow(number: PhoneNumber) -> str:
    if number.flow_id is None:
        return "(no flow: unrouted)"
    return shown(number.flow_name) if number.flow_name else f"{shown(number.flow_id, 40)} (no longer exists)"


def _tags(number: PhoneNumber) -> str:
    if not number.tags:
        return "(none)"
    return ", ".join(f"{escaped(key, 40)}={shown(value, 60)}" for key, value in number.tags)


def number_event(
    change: Change,
    account: str,
    run_id: str,
    observed_at: str,
    target_names: dict[str, str],
    attribution: str | None = None,
) -> OutboxMessage:
    """The event of one change. `attribution` says why the change has no actor (None: CloudTrail was not
    asked, or the actor is known)."""
    number = change.current
    identifier = event_id(change)
    region = Arn.parse(change.number_arn).region
    body: dict[str, Any] = {
        "schema_version": SCHEMA_VERSION,
        "event_id": identifier,
        "event_type": EventType.NUMBER_CHANGE.value,
        "change_type": change.change_type.value,
        "phone_number": number.number,
        "phone_number_arn": change.number_arn,
        "account": account,
        "region": region,
        "target_arn": number.target_arn,
        "before": change.before.as_summary() if change.before else None,
        "after": change.after.as_summary() if change.after else None,
        "changed_fields": list(change.changed_fields),
        "actor": change.actor.as_dict() if change.actor else None,
        "run_id": run_id,
        "observed_at": observed_at,
    }
    if change.actor is None and attribution:
        body["attribution"] = attribution
    text = f"{change.change_type.value}: {describe(change, target_names)}"
    if change.actor is not None or attribution:
        text += f"\n    {actor_line(change)}"
    return OutboxMessage(
        message_id=identifier,
        event_type=EventType.NUMBER_CHANGE,
        run_id=run_id,
        created_at=observed_at,
        body=body,
        email_text=text,
        attributes={
            "change_type": change.change_type.value,
            "country": number.country,
            "number_type": number.type,
            "account": account,
            "region": region,
        },
        number_arn=change.number_arn,
        version=change.version_after,
    )


def finding_event(finding: Finding, account: str, run_id: str, observed_at: str) -> OutboxMessage:
    number = finding.number
    key = f"{number.arn}|{finding.finding_type.value}|{finding.detail}|{run_id}"
    identifier = hashlib.sha256(key.encode()).hexdigest()[:32]
    region = Arn.parse(number.arn).region
    body = {
        "schema_version": SCHEMA_VERSION,
        "event_id": identifier,
        "event_type": EventType.NUMBER_FINDING.value,
        "finding_type": finding.finding_type.value,
        "detail": finding.detail,
        "phone_number": number.number,
        "phone_number_arn": number.arn,
        "account": account,
        "region": region,
        "target_arn": number.target_arn,
        "number": number.as_summary(),
        "run_id": run_id,
        "observed_at": observed_at,
    }
    return OutboxMessage(
        message_id=identifier,
        event_type=EventType.NUMBER_FINDING,
        run_id=run_id,
        created_at=observed_at,
        body=body,
        email_text=f"{finding.finding_type.value}: {escaped(number.number, 20)}  {escaped(finding.detail, 200)}",
        attributes={"finding_type": finding.finding_type.value, "account": account, "region": region},
        number_arn=number.arn,
    )


def change_from_event(body: dict[str, Any]) -> Change:
    """Read a stored per-number event back (for a digest built from what a run wrote)."""
    actor = body.get("actor")
    return Change(
        change_type=ChangeType(body["change_type"]),
        number_arn=body["phone_number_arn"],
        before=PhoneNumber.from_summary(body["before"]) if body["before"] else None,
        after=PhoneNumber.from_summary(body["after"]) if body["after"] else None,
        version_before=0,
        version_after=0,
        changed_fields=tuple(body["changed_fields"]),
        actor=Actor(**actor) if actor else None,
    )


def finding_from_event(body: dict[str, Any]) -> Finding:
    return Finding(FindingType(body["finding_type"]), PhoneNumber.from_summary(body["number"]), body["detail"])
