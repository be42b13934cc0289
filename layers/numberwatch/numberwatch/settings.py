"""Configuration: environment variables parsed once, at cold start, into a model.

A bad setting stops the function at initialisation with a message that names the variable,
before anything is read or written."""

from __future__ import annotations

import re
from collections.abc import Mapping
from functools import cache
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, field_validator, model_validator

from .cost import PriceTable

_REGION_SHAPE = re.compile(r"^[a-z]{2}(-[a-z]+)+-[0-9]$")
# ASCII classes, never \d or \w: in pydantic's (Rust) patterns those are Unicode, which AWS does not
# allow, and compiling one with a bounded repeat cost 45 ms of the cold start.
_TOPIC_ARN = r"arn:aws(-cn|-us-gov)?:sns:[a-z0-9-]+:[0-9]{12}:[A-Za-z0-9_-]+"


# LookupEvents at most this many at once: its quota is 2 a second, its burst unpublished.
CLOUDTRAIL_BURST = 2


class ConfigurationError(Exception):
    """The function's environment is wrong; the message names each bad variable."""


@cache
def connect_regions() -> frozenset[str]:
    """Every Region where Amazon Connect has an endpoint, in all partitions botocore knows: read from
    its endpoints data alone (asking a session would load Connect's whole service model, a sixth of a
    cold start, only to learn the endpoint prefix, which is `connect`)."""
    from botocore.loaders import create_loader

    endpoints = create_loader().load_data("endpoints")
    return frozenset(
        region
        for partition in endpoints["partitions"]
        for region in partition["services"].get("connect", {}).get("endpoints", {})
        if region in partition["regions"]
    )


def _split_regions(value: Any) -> Any:
    if isinstance(value, str):
        return [part.strip() for part in value.split(",")]
    return value


def _split_list(value: Any) -> Any:
    """A comma-separated list; empty is none."""
    if isinstance(value, str):
        return tuple(part.strip() for part in value.split(",") if part.strip())
    return value


def _price_table(value: Any) -> Any:
    if isinstance(value, str):
        return PriceTable.parse(value) if value.strip() else PriceTable.example_table()
    return value


AccountIds = Annotated[tuple[Annotated[str, Field(pattern=r"^[0-9]{12}$")], ...], BeforeValidator(_split_list)]
# Organizational units (ou-...) or the organization's root (r-...), as Organizations spells their ids.
OrganizationUnits = Annotated[
    tuple[Annotated[str, Field(pattern=r"^(r-[0-9a-z]{4,32}|ou-[0-9a-z]{4,32}-[a-z0-9]{8,32})$")], ...],
    BeforeValidator(_split_list),
]


class Settings(BaseModel):
    """The function's environment. Names are the environment variables'."""

    model_config = ConfigDict(extra="ignore", frozen=True, populate_by_name=True, arbitrary_types_allowed=True)

    table_name: str = Field(alias="TABLE_NAME", min_length=3, max_length=255, pattern=r"^[A-Za-z0-9_.-]+$")
    topic_arn: str = Field(alias="TOPIC_ARN", pattern=f"^{_TOPIC_ARN}$")
    aws_region: str = Field(alias="AWS_REGION")
    scan_regions: Annotated[tuple[str, ...], BeforeValidator(_split_regions)] | None = Field(
        default=None, alias="SCAN_REGIONS"
    )
    connect_requests_per_second: float = Field(default=1.0, alias="CONNECT_REQUESTS_PER_SECOND", gt=0, le=100)
    # Connect's burst is 5: a small estate's calls go at once, and one is left for anyone else at that moment.
    connect_burst: float = Field(default=4.0, alias="CONNECT_BURST", ge=1, le=100)
    connect_max_attempts: int = Field(default=8, alias="CONNECT_MAX_ATTEMPTS", ge=1, le=20)
    # DescribePhoneNumber calls a run may spend confirming releases: at our pace of 1 a second,
    # 300 take 5 minutes of the 15; a night with more releases confirms the rest the next night.
    describe_calls_per_run: int = Field(default=300, alias="DESCRIBE_CALLS_PER_RUN", ge=0, le=5000)
    # Of that budget, at most this many for details (tags and status) of the numbers that changed, then
    # of the others in rotation. The default, 0, leaves it all to confirming releases, the one use that
    # alerts depend on: each detail is a second of the night at our pace, so details are opt-in.
    detail_calls_per_run: int = Field(default=0, alias="DETAIL_CALLS_PER_RUN", ge=0, le=5000)
    # Every bucket is re-read number by number once every this many runs, whatever its fingerprint.
    full_verification_runs: int = Field(default=30, alias="FULL_VERIFICATION_RUNS", ge=1, le=365)
    mass_release_share: float = Field(default=0.5, alias="MASS_RELEASE_SHARE", gt=0, le=1)
    mass_release_min_numbers: int = Field(default=10, alias="MASS_RELEASE_MIN_NUMBERS", ge=0)
    history_retention_days: int = Field(default=400, alias="HISTORY_RETENTION_DAYS", ge=1, le=3650)
    lease_seconds: int = Field(default=960, alias="LEASE_SECONDS", ge=60, le=7200)
    time_reserve_seconds: int = Field(default=30, alias="TIME_RESERVE_SECONDS", ge=5, le=600)
    # Tag keys every number must carry (e.g. cost-center,owner): a number without one is a finding.
    required_tag_keys: Annotated[tuple[str, ...], BeforeValidator(_split_list)] = Field(
        default=(), alias="REQUIRED_TAG_KEYS"
    )
    # The operator's price table (JSON, see cost.PriceTable); empty: the shipped example table.
    number_prices: Annotated[PriceTable, BeforeValidator(_price_table)] = Field(
        default_factory=PriceTable.example_table, alias="NUMBER_PRICES"
    )
    # Who made each change: CloudTrail LookupEvents, at this pace per Region (its quota: 2 a second).
    cloudtrail_lookup: bool = Field(default=True, alias="CLOUDTRAIL_LOOKUP")
    cloudtrail_requests_per_second: float = Field(default=1.0, alias="CLOUDTRAIL_REQUESTS_PER_SECOND", gt=0, le=2)
    # The evidence archive's bucket (empty: no archive).
    archive_bucket: str | None = Field(
        default=None, alias="ARCHIVE_BUCKET", pattern=r"^$|^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$"
    )
    # The chat topic (AWS Chatbot custom notifications) for copies of the messages for people (empty: no chat).
    chat_topic_arn: str | None = Field(default=None, alias="CHAT_TOPIC_ARN", pattern=f"^$|^{_TOPIC_ARN}$")
    # The people's email subscription, checked every run (empty: none configured).
    alert_email: str | None = Field(default=None, alias="ALERT_EMAIL", pattern=r"^$|^[^@\s]+@[^@\s]+\.[^@\s]+$")

    # Organization mode: which member accounts the state machine scans, and how it reads them.
    organization_accounts: AccountIds = Field(default=(), alias="ORGANIZATION_ACCOUNTS")  # empty: ListAccounts
    organization_units: OrganizationUnits = Field(default=(), alias="ORGANIZATION_UNITS")  # empty: all of them
    excluded_accounts: AccountIds = Field(default=(), alias="EXCLUDED_ACCOUNTS")
    member_role_name: str = Field(
        default="ConnectNumberWatchRead", alias="MEMBER_ROLE_NAME", pattern=r"^[A-Za-z0-9_+=,.@-]{1,64}$"
    )
    member_external_id: str | None = Field(
        default=None, alias="MEMBER_EXTERNAL_ID", max_length=1224, pattern=r"^$|^[A-Za-z0-9_+=,.@:/-]{2,}$"
    )
    max_concurrency: int = Field(default=10, alias="MAX_CONCURRENCY", ge=1, le=1000)

    @field_validator("scan_regions")
    @classmethod
    def _known_regions(cls, regions: tuple[str, ...] | None) -> tuple[str, ...] | None:
        if regions is None:
            return None
        if not regions or any(not r for r in regions):
            raise ValueError("must be a comma-separated list of Regions, e.g. us-east-1,us-west-2")
        for region in regions:
            if not _REGION_SHAPE.fullmatch(region):
                raise ValueError(f"{region!r} is not a Region name")
            if region not in connect_regions():
                raise ValueError(f"{region!r} is not a Region where Amazon Connect is available")
        return tuple(dict.fromkeys(regions))

    @model_validator(mode="after")
    def _defaults(self) -> Settings:
        if self.scan_regions is None:
            object.__setattr__(self, "scan_regions", (self.aws_region,))
        if self.alert_email == "":
            object.__setattr__(self, "alert_email", None)
        if self.member_external_id == "":
            object.__setattr__(self, "member_external_id", None)
        if self.chat_topic_arn == "":
            object.__setattr__(self, "chat_topic_arn", None)
        if self.archive_bucket == "":
            object.__setattr__(self, "archive_bucket", None)
        if self.required_tag_keys and min(self.describe_calls_per_run, self.detail_calls_per_run) == 0:
            raise ValueError(
                "REQUIRED_TAG_KEYS needs tags, which only DescribePhoneNumber reads: set DETAIL_CALLS_PER_RUN"
                " (and DESCRIBE_CALLS_PER_RUN) above 0, e.g. 300, or leave REQUIRED_TAG_KEYS empty"
            )
        return self

    @property
    def regions(self) -> list[str]:
        return list(self.scan_regions or [self.aws_region])

    @classmethod
    def from_environment(cls, environ: Mapping[str, str]) -> Settings:
        try:
            return cls.model_validate(dict(environ))
        except ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(str(p) for p in error['loc']) or 'environment'}: {error['msg']}" for error in exc.errors()
            )
            raise ConfigurationError(f"invalid configuration: {problems}") from None
