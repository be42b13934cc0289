"""Settings from the environment, and the incoming event, refused with clear messages."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from pydantic import BaseModel

from numberwatch.models import Arn
from numberwatch.report_model import Month, MonthError
from numberwatch.request import InvalidScanRequest, parse_scan_request
from numberwatch.settings import ConfigurationError, Settings

ROOT = Path(__file__).resolve().parents[2]
GOOD = {
    "TABLE_NAME": "numbers",
    "TOPIC_ARN": "arn:aws:sns:us-east-1:123456789012:numbers",
    "AWS_REGION": "us-east-1",
}


def test_defaults_are_the_documented_ones() -> None:
    settings = Settings.from_environment(GOOD)
    assert settings.regions == ["us-east-1"]
    assert settings.connect_requests_per_second == 1.0
    assert (settings.mass_release_share, settings.mass_release_min_numbers) == (0.5, 10)
    assert settings.history_retention_days == 400
    assert settings.lease_seconds > 900
    assert (settings.connect_burst, settings.describe_calls_per_run, settings.full_verification_runs) == (4.0, 300, 30)
    assert settings.detail_calls_per_run == 0


def test_regions_are_parsed_and_deduplicated() -> None:
    settings = Settings.from_environment({**GOOD, "SCAN_REGIONS": "us-east-1, us-west-2,us-east-1"})
    assert settings.regions == ["us-east-1", "us-west-2"]
    assert Settings.from_environment({**GOOD, "SCAN_REGIONS": "us-gov-west-1"}).regions == ["us-gov-west-1"]


@pytest.mark.parametrize(
    ("environment", "named"),
    [
        ({"TABLE_NAME": None}, "TABLE_NAME"),
        ({"TOPIC_ARN": "not-an-arn"}, "TOPIC_ARN"),
        ({"SCAN_REGIONS": "us-east-1;eu-west-2"}, "SCAN_REGIONS"),
        ({"SCAN_REGIONS": "mars-north-1"}, "SCAN_REGIONS"),
        ({"SCAN_REGIONS": ""}, "SCAN_REGIONS"),
        ({"CONNECT_REQUESTS_PER_SECOND": "0"}, "CONNECT_REQUESTS_PER_SECOND"),
        ({"LEASE_SECONDS": "ten"}, "LEASE_SECONDS"),
        # AWS allows ASCII alone where a pattern says \d or \w; Unicode digits and letters are refused.
        ({"TOPIC_ARN": "arn:aws:sns:us-east-1:\u0661\u0662\u0663456789012:numbers"}, "TOPIC_ARN"),
        ({"ORGANIZATION_ACCOUNTS": "\u0661\u0662\u0663456789012"}, "ORGANIZATION_ACCOUNTS"),
        ({"MEMBER_ROLE_NAME": "Lecture\u00e9"}, "MEMBER_ROLE_NAME"),
        ({"MEMBER_EXTERNAL_ID": "id-\u00e9t\u00e9"}, "MEMBER_EXTERNAL_ID"),
        # Required tags are read by DescribePhoneNumber alone: without its budget, no number could pass.
        ({"REQUIRED_TAG_KEYS": "owner"}, "DETAIL_CALLS_PER_RUN"),
        ({"REQUIRED_TAG_KEYS": "owner", "DETAIL_CALLS_PER_RUN": "300", "DESCRIBE_CALLS_PER_RUN": "0"}, "DETAIL_CALLS"),
    ],
)
def test_a_bad_setting_is_named(environment: dict[str, str | None], named: str) -> None:
    merged = {k: v for k, v in {**GOOD, **environment}.items() if v is not None}
    with pytest.raises(ConfigurationError, match=named):
        Settings.from_environment(merged)


def test_the_shipped_events_say_what_their_names_say() -> None:
    events = {path.name: parse_scan_request(json.loads(path.read_text())) for path in (ROOT / "events").glob("*.json")}
    assert events["scheduled.json"].source == "schedule" and events["scheduled.json"].scheduled_time is not None
    assert events["dry-run.json"].dry_run is True and events["dry-run.json"].targets is None
    assert events["targets.json"].targets


def test_targets_accept_ids_and_arns_of_any_partition() -> None:
    request = parse_scan_request(
        {
            "targets": [
                "11111111-2222-4333-8444-555555555555",
                "arn:aws-us-gov:connect:us-gov-west-1:123456789012:instance/11111111-2222-4333-8444-555555555555",
                "arn:aws-cn:connect:cn-north-1:123456789012:traffic-distribution-group/abc-1",
            ]
        }
    )
    assert request.targets is not None and len(request.targets) == 3


@pytest.mark.parametrize(
    ("event", "complaint"),
    [
        ({"dry_run": 1}, "dry_run"),
        ({"dry_run": "true"}, "dry_run"),
        ({"extra": True}, "extra"),
        ({"targets": []}, "targets"),
        ({"targets": ["arn:aws:s3:::bucket"]}, "targets.0"),
        ("text", "event"),
    ],
)
def test_a_malformed_event_is_refused_naming_the_problem(event: object, complaint: str) -> None:
    with pytest.raises(InvalidScanRequest, match=complaint):
        parse_scan_request(event)


def test_no_model_pattern_uses_a_unicode_class() -> None:
    """In pydantic's (Rust) patterns `\\d` and `\\w` are Unicode: they let in what AWS refuses, and
    compiling `[\\w...]{1,64}` alone took 45 ms of the cold start."""
    import numberwatch.models
    import numberwatch.organization

    models = [
        value
        for module in (numberwatch.models, numberwatch.organization)
        for value in vars(module).values()
        if isinstance(value, type) and issubclass(value, BaseModel) and value.__module__ == module.__name__
    ]
    patterns = [
        pattern
        for model in [Settings, *models]
        for pattern in re.findall(r"'pattern': '([^']*)'", str(model.__pydantic_core_schema__))
    ]
    assert len(patterns) >= 10
    assert [p for p in patterns if re.search(r"\\\\[dwDW]", p)] == []


@pytest.mark.parametrize(
    "text",
    [
        "arn:aws:connect:us-east-1:\u0661\u0662\u0663456789012:instance/a",  # Arabic-Indic digits
        "arn:aws:connect:us-east-\u0661:123456789012:instance/a",
        "arn:aws:connect:us-east-1:123456789012:instance/a\n",  # `$` alone lets a final newline through
    ],
)
def test_an_arn_of_unicode_digits_or_with_a_final_newline_is_no_arn(text: str) -> None:
    with pytest.raises(ValueError, match="not an ARN"):
        Arn.parse(text)


@pytest.mark.parametrize("text", ["\u0662\u0660\u0662\u0666-10", "2026-10\n"])
def test_a_month_of_unicode_digits_or_with_a_final_newline_is_no_month(text: str) -> None:
    with pytest.raises(MonthError):
        Month.parse(text)
