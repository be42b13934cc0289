"""Per-number events, the digest, the baseline summary and the mass-release alert."""

from __future__ import annotations

import dataclasses
import json

from numberwatch.digest import build_baseline, build_digest, build_mass_release_alert, subject
from numberwatch.events import SNS_MESSAGE_LIMIT, event_id, number_event
from numberwatch.models import Change, ChangeType, HeldRelease, Unobserved
from tests.unit.factories import ACCOUNT, instance, number

TARGET = instance("primary")


def claimed(index: int, **fields: str | None) -> Change:
    after = number(index, TARGET, **fields)
    return Change(ChangeType.CLAIMED, after.arn, None, after, 0, 1, ())


def test_event_ids_are_stable_per_change_and_distinct_per_version() -> None:
    change = claimed(1)
    assert event_id(change) == event_id(dataclasses.replace(change))
    assert event_id(change) != event_id(dataclasses.replace(change, version_before=2, version_after=3))
    assert event_id(change) != event_id(dataclasses.replace(change, change_type=ChangeType.RELEASED))


def test_a_number_event_omits_empty_attributes_and_carries_its_region() -> None:
    change = claimed(1, country="")
    message = number_event(change, ACCOUNT, "run-1", "2026-11-27T06:00:00Z", {})
    assert "country" not in message.message_attributes()
    assert message.message_attributes()["event_type"] == "NUMBER_CHANGE"
    assert message.body["region"] == "us-east-1"
    envelope = json.loads(message.envelope)
    assert json.loads(envelope["default"]) == message.body
    assert envelope["email"].startswith("CLAIMED: +1206")


def test_nothing_to_tell_means_no_digest() -> None:
    assert build_digest(ACCOUNT, "run-1", "t", [], [], [], 0, {}) is None


def test_the_digest_lists_claimed_and_released_first_and_names_unobserved_targets() -> None:
    before = number(2, TARGET)
    changes = [
        Change(ChangeType.UPDATED, before.arn, before, dataclasses.replace(before, description="x"), 1, 2,
               ("PhoneNumberDescription",)),
        Change(ChangeType.RELEASED, before.arn, before, None, 1, 2, ()),
        claimed(1),
    ]  # fmt: skip
    digest = build_digest(
        ACCOUNT, "run-1", "2026-11-27T06:00:00Z", changes, [Unobserved(TARGET.arn, "AccessDenied")], [], 0,
        {TARGET.arn: "primary"},
    )  # fmt: skip
    assert digest is not None
    text = digest.email_text
    assert text.index("CLAIMED (1)") < text.index("RELEASED (1)") < text.index("UPDATED (1)")
    assert "primary: AccessDenied" in text
    assert digest.subject == f"Connect numbers: 1 claimed, 1 released, 1 updated, 1 target not observed in {ACCOUNT}"
    assert digest.message_attributes() == {"event_type": "DIGEST", "account": ACCOUNT}


def test_a_huge_digest_is_cut_to_fit_sns_with_a_count_of_the_rest() -> None:
    changes = [claimed(i, description="x" * 200) for i in range(20_000)]
    digest = build_digest(ACCOUNT, "run-1", "t", changes, [], [], 0, {})
    assert digest is not None
    envelope = digest.envelope.encode()
    assert len(envelope) < SNS_MESSAGE_LIMIT - 1024
    assert "more (every change is also sent as its own JSON event)" in digest.email_text
    assert digest.body["counts"]["CLAIMED"] == 20_000


def test_subjects_stay_under_100_characters() -> None:
    from collections import Counter

    counts = Counter(dict.fromkeys(ChangeType, 123456789))
    text = subject(counts, ACCOUNT, unobserved=12345, held=99999)
    assert len(text) < 100


def test_baseline_and_alert_are_for_people() -> None:
    baseline = build_baseline(ACCOUNT, "run-1", "t", ["us-east-1"], {TARGET.arn: 1200}, {TARGET.arn: "primary"})
    assert baseline.subject == f"Connect numbers: baseline of 1,200 numbers in {ACCOUNT}"
    alert = build_mass_release_alert(ACCOUNT, "run-1", "t", HeldRelease(TARGET.arn, 20, 30, ["+1"]), {})
    assert alert.message_attributes()["event_type"] == "SUSPECTED_MASS_RELEASE"
    assert "NOT reported released" in alert.email_text
