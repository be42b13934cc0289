"""Who made each change: CloudTrail records matched to tonight's changes, and the run when CloudTrail
cannot be read."""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, datetime, timedelta

from numberwatch.adapters.cloudtrail import record_of
from numberwatch.attribution import attribute
from numberwatch.models import Change, ChangeType
from numberwatch.ports import TrailRecord
from tests.unit.factories import instance, number, numbers
from tests.unit.fakes import FakeTrail
from tests.unit.test_scan_service import Estate, baseline

NOW = datetime(2026, 11, 28, 6, 0, tzinfo=UTC)
ADMIN = "arn:aws:sts::123456789012:assumed-role/ConnectAdmin/alice"


def trail_record(
    name: str, *references: str, minutes_ago: int = 30, who: str = ADMIN, event_id: str = "e1"
) -> TrailRecord:
    return TrailRecord(name, NOW - timedelta(minutes=minutes_ago), event_id, frozenset(references), who,
                       "AssumedRole", who.rsplit("/", 1)[-1], "203.0.113.7", "aws-cli/2.15")  # fmt: skip


def test_each_change_is_matched_to_the_latest_call_that_could_have_made_it() -> None:
    target = instance()
    released, edited, claimed = numbers(3, target)
    changes = [
        Change(ChangeType.RELEASED, released.arn, released, None, 1, 2, ()),
        Change(ChangeType.UPDATED, edited.arn, edited, dataclasses.replace(edited, description="x"), 1, 2,
               ("PhoneNumberDescription",)),
        Change(ChangeType.CLAIMED, claimed.arn, None, claimed, 0, 1, ()),
    ]  # fmt: skip
    records = [
        trail_record("ReleasePhoneNumber", released.id, minutes_ago=50, event_id="old"),
        trail_record(
            "ReleasePhoneNumber", released.arn, minutes_ago=20, who="arn:aws:iam::123456789012:user/bob", event_id="new"
        ),
        trail_record("UpdatePhoneNumber", edited.id),  # a move, not the edit of a description
        trail_record("ReleasePhoneNumber", released.id, minutes_ago=-5, event_id="later"),  # after the scan
    ]
    attributed = attribute(changes, records, NOW)
    assert attributed[0].actor is not None and attributed[0].actor.event_id == "new"
    assert attributed[0].actor.principal_arn == "arn:aws:iam::123456789012:user/bob"
    assert attributed[1].actor is None and attributed[2].actor is None


def test_a_cloudtrail_event_is_read_whatever_names_the_number() -> None:
    event = {
        "EventId": "abc", "EventName": "TagResource", "EventTime": NOW, "Username": "alice",
        "CloudTrailEvent": json.dumps({
            "userIdentity": {"type": "AssumedRole", "arn": ADMIN},
            "sourceIPAddress": "198.51.100.1", "userAgent": "console.amazonaws.com",
            "requestParameters": {"resourceArn": "arn:aws:connect:us-east-1:123456789012:phone-number/n-1"},
        }),
    }  # fmt: skip
    record = record_of(event)
    assert record.references == {"arn:aws:connect:us-east-1:123456789012:phone-number/n-1", "n-1"}
    assert (record.principal_arn, record.session_name, record.source_ip) == (ADMIN, "alice", "198.51.100.1")
    claim = record_of({"EventName": "ClaimPhoneNumber", "CloudTrailEvent": json.dumps({
        "eventTime": "2026-11-28T05:00:00Z", "userIdentity": {"type": "IAMUser"},
        "requestParameters": {"TargetArn": "arn:x"}, "responseElements": {"PhoneNumberId": "n-2"},
    })})  # fmt: skip
    assert claim.references == {"n-2"} and claim.event_time == NOW - timedelta(hours=1)
    assert record_of({"EventName": "ReleasePhoneNumber", "CloudTrailEvent": "{not json"}).references == frozenset()


def test_events_and_the_digest_name_who_made_each_change() -> None:
    trail = FakeTrail()
    estate = Estate(trail=trail)
    a = instance("a")
    held = numbers(4, a)
    baseline(estate, (a, held))
    estate.connect.release(held[0])
    estate.connect.numbers[a.arn][held[1].arn] = dataclasses.replace(held[1], description="Reception")
    trail.records["us-east-1"] = [
        dataclasses.replace(trail_record("ReleasePhoneNumber", held[0].id), event_time=datetime.now(UTC))
    ]
    summary = estate.night()
    bodies = estate.received()
    released = next(b for b in bodies if b.get("change_type") == "RELEASED")
    assert released["actor"]["principal_arn"] == ADMIN and released["actor"]["session_name"] == "alice"
    updated = next(b for b in bodies if b.get("change_type") == "UPDATED")
    assert updated["actor"] is None and updated["attribution"].startswith("no CloudTrail record found")
    assert summary["attribution"] is None and summary["cloudtrail_lookups"] == 2
    digest = next(s.message for s in estate.store.messages.values() if s.message.event_type.value == "DIGEST")
    assert f'by: "{ADMIN}" session "alice" (ReleasePhoneNumber at' in digest.email_text
    assert "by: unknown (no CloudTrail record)" in digest.email_text


def test_a_denied_cloudtrail_never_blocks_the_changes() -> None:
    trail = FakeTrail(denied={"us-east-1": "AccessDeniedException: not authorized to perform LookupEvents"})
    estate = Estate(trail=trail)
    a = instance("a")
    baseline(estate, (a, numbers(3, a)))
    estate.connect.add(a, number(50, a))
    summary = estate.night()
    assert summary["changes"]["CLAIMED"] == 1 and summary["status"] == "COMPLETED"
    assert "AccessDeniedException" in summary["attribution"]
    (claimed,) = [b for b in estate.received() if b.get("change_type") == "CLAIMED"]
    assert claimed["actor"] is None and "could not be read" in claimed["attribution"]


def test_a_claim_is_looked_up_as_a_claim_and_an_import_as_an_import() -> None:
    # Given a baseline, a number claimed one night and one imported from End User Messaging (listed with
    # its source ARN) the next, each recorded by CloudTrail
    trail = FakeTrail()
    estate = Estate(trail=trail)
    a = instance("a")
    baseline(estate, (a, numbers(2, a)))
    claimed = number(50, a)
    imported = dataclasses.replace(number(51, a), source_arn="arn:aws:sms-voice:us-east-1:123456789012:phone-number/x")
    actors = {}
    for new, call in ((claimed, "ClaimPhoneNumber"), (imported, "ImportPhoneNumber")):
        estate.connect.add(a, new)
        trail.records["us-east-1"] = [
            dataclasses.replace(trail_record(call, new.id, event_id=call), event_time=datetime.now(UTC))
        ]
        trail.lookups.clear()
        # When the night reports it
        summary = estate.night()
        # Then CloudTrail was asked once, for the one call that could have made it
        assert trail.lookups == [("us-east-1", call)] and summary["cloudtrail_lookups"] == 1
        (event,) = [
            b for b in estate.received() if b.get("change_type") == "CLAIMED" and b["phone_number_arn"] == new.arn
        ]
        actors[new.arn] = event["actor"]["event_id"]
    # And each carries the actor of its own call
    assert actors == {claimed.arn: "ClaimPhoneNumber", imported.arn: "ImportPhoneNumber"}
