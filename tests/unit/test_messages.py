"""Per-number events, the digest, the baseline summary and the mass-release alert."""

from __future__ import annotations

import dataclasses
import json
import unicodedata

import pytest

from numberwatch.digest import Night, build_baseline, build_digest, build_mass_release_alert, subject
from numberwatch.events import SNS_MESSAGE_LIMIT, event_id, number_event
from numberwatch.models import Change, ChangeType, HeldRelease, Unobserved
from numberwatch.render import shown
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
    assert build_digest(ACCOUNT, "run-1", "t", [], Night(), {}) is None


def test_the_digest_lists_claimed_and_released_first_and_names_unobserved_targets() -> None:
    before = number(2, TARGET)
    changes = [
        Change(ChangeType.UPDATED, before.arn, before, dataclasses.replace(before, description="x"), 1, 2,
               ("PhoneNumberDescription",)),
        Change(ChangeType.RELEASED, before.arn, before, None, 1, 2, ()),
        claimed(1),
    ]  # fmt: skip
    digest = build_digest(
        ACCOUNT, "run-1", "2026-11-27T06:00:00Z", changes, Night(unobserved=[Unobserved(TARGET.arn, "AccessDenied")]),
        {TARGET.arn: "primary"},
    )  # fmt: skip
    assert digest is not None
    text = digest.email_text
    assert text.index("CLAIMED (1)") < text.index("RELEASED (1)") < text.index("UPDATED (1)")
    assert '"primary": AccessDenied' in text
    assert digest.subject == f"Connect numbers: 1 claimed, 1 released, 1 updated, 1 target not observed in {ACCOUNT}"
    assert digest.message_attributes() == {"event_type": "DIGEST", "account": ACCOUNT}


def test_a_huge_digest_is_cut_to_fit_sns_with_a_count_of_the_rest() -> None:
    changes = [claimed(i, description="x" * 200) for i in range(20_000)]
    digest = build_digest(ACCOUNT, "run-1", "t", changes, Night(), {})
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
    alert = build_mass_release_alert(ACCOUNT, "run-1", "t", [HeldRelease(TARGET.arn, 20, 30, ["+1"])], {})
    assert alert.message_attributes()["event_type"] == "SUSPECTED_MASS_RELEASE"
    assert "NOT reported released" in alert.email_text


def test_one_alert_names_every_target_held_in_a_run() -> None:
    # Hundreds of held targets would be hundreds of emails a second: SNS suspends such an endpoint.
    held = [HeldRelease(instance(f"t{i}").arn, 20 + i, 30 + i, [f"+1206555{i:04d}"] * 50) for i in range(300)]
    alert = build_mass_release_alert(ACCOUNT, "run-1", "t", held, {})
    assert [t["target_arn"] for t in alert.body["targets"]] == [h.target_arn for h in held]
    assert alert.body["missing"] == sum(h.count for h in held)
    assert (
        alert.subject
        == f"ALERT Connect numbers: {sum(h.count for h in held):,} missing from 300 target(s) in {ACCOUNT}"
    )
    assert len(alert.envelope.encode()) < SNS_MESSAGE_LIMIT
    assert "... and 100 more targets" in alert.email_text
    retried = build_mass_release_alert(ACCOUNT, "run-1", "t", list(reversed(held)), {})
    assert retried.message_id == alert.message_id


def test_releases_waiting_for_confirmation_are_counted_with_their_reasons() -> None:
    waiting = {"over tonight's DescribePhoneNumber budget": 700, "a claim, move or update in progress": 2}
    digest = build_digest(ACCOUNT, "run-1", "t", [], Night(deferred=waiting), {})
    assert digest is not None
    assert digest.body["deferred_releases"] == 702
    assert "702 RELEASE(S) AWAIT CONFIRMATION" in digest.email_text
    assert "  700 over tonight's DescribePhoneNumber budget" in digest.email_text.splitlines()


HOSTILE = [
    "Support\n\nRELEASED (0)\n  nothing was released tonight",
    "\u202eenilptoh\u202c Sales",  # right-to-left override: reads backwards
    "Call https://evil.example/reset now",
    "x" * 10_000,
    'quote" and back\\slash',
]


def test_descriptions_are_data_in_the_digest_never_layout() -> None:
    # Given changes whose descriptions, and a target name, were written to forge the digest
    hostile_name = "primary\n\nNOT OBSERVED (0)"
    changes = [claimed(i, description=text, flow_id="f-1", flow_name="Main menu") for i, text in enumerate(HOSTILE)]
    digest = build_digest(ACCOUNT, "run-1", "t", changes, Night(attribution="not asked"), {TARGET.arn: hostile_name})
    assert digest is not None
    lines = digest.email_text.splitlines()
    # Then no value adds a line or a section of its own
    assert [line for line in lines if line.startswith(("RELEASED", "NOT OBSERVED"))] == []
    assert len([line for line in lines if line.startswith("  +1206")]) == len(HOSTILE)
    assert len([line for line in lines if line.startswith(" ")]) == len(HOSTILE)
    # And control and format characters are shown escaped, links defanged, lengths capped
    text = digest.email_text
    assert "\u202e" not in text and "\\u202e" in text
    assert "https://" not in text and "https[:]//evil.example" in text
    assert max(len(line) for line in lines) < 300
    assert '"primary\\n\\nNOT OBSERVED (0)"' in text


def test_an_update_reads_as_before_and_after_without_python_reprs() -> None:
    before = number(2, TARGET)
    change = Change(ChangeType.UPDATED, before.arn, before, dataclasses.replace(before, description="Billing hotline"),
                    1, 2, ("PhoneNumberDescription",))  # fmt: skip
    line = number_event(change, ACCOUNT, "run-1", "t", {TARGET.arn: "primary"}).email_text
    assert line.endswith('on "primary"  (PhoneNumberDescription: (none) → "Billing hotline")')
    assert "None" not in line and "'" not in line


@pytest.mark.parametrize("text", HOSTILE)
def test_every_rendering_of_a_value_from_connect_is_one_bounded_line(text: str) -> None:
    rendered = shown(text)
    assert "\n" not in rendered and "\u202e" not in rendered
    assert all(unicodedata.category(c) not in ("Cc", "Cf") for c in rendered)
    assert len(rendered) <= 85
