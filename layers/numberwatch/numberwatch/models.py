"""The scan's vocabulary: numbers, targets, changes, the request that starts a run and the
summary it returns. Pure Python and pydantic; nothing here talks to AWS."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StrictBool

SCHEMA_VERSION = 1

_ARN = re.compile(
    r"^arn:(?P<partition>aws|aws-cn|aws-us-gov):(?P<service>[a-z-]+):(?P<region>[a-z]{2}(-[a-z]+)+-[0-9]):"
    r"(?P<account>[0-9]{12}):(?P<resource>[a-z-]+)/(?P<id>[A-Za-z0-9_-]+)$"
)
_UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


@dataclass(frozen=True, slots=True)
class Arn:
    """A parsed ARN of any partition (aws, aws-cn, aws-us-gov)."""

    partition: str
    service: str
    region: str
    account: str
    resource_type: str
    resource_id: str

    @classmethod
    def parse(cls, text: str) -> Arn:
        match = _ARN.fullmatch(text)
        if match is None:
            raise ValueError(f"not an ARN: {text!r}")
        return cls(
            match["partition"], match["service"], match["region"], match["account"], match["resource"], match["id"]
        )


class TargetKind(StrEnum):
    INSTANCE = "INSTANCE"
    TRAFFIC_DISTRIBUTION_GROUP = "TRAFFIC_DISTRIBUTION_GROUP"


class ChangeType(StrEnum):
    CLAIMED = "CLAIMED"
    RELEASED = "RELEASED"
    MOVED = "MOVED"
    UPDATED = "UPDATED"


class EventType(StrEnum):
    NUMBER_CHANGE = "NUMBER_CHANGE"
    NUMBER_FINDING = "NUMBER_FINDING"
    DIGEST = "DIGEST"
    BASELINE = "BASELINE"
    SUSPECTED_MASS_RELEASE = "SUSPECTED_MASS_RELEASE"
    ORGANIZATION_DIGEST = "ORGANIZATION_DIGEST"


# Messages for people: the email subscription lets these through and nothing else.
PEOPLE_EVENT_TYPES = (EventType.DIGEST, EventType.BASELINE, EventType.SUSPECTED_MASS_RELEASE)


@dataclass(frozen=True, slots=True)
class Target:
    """An instance or a TDG whose numbers one ListPhoneNumbersV2 listing returns."""

    arn: str
    kind: TargetKind
    name: str
    instance_arn: str
    # Regions this target was discovered in; a TDG spans two.
    regions: tuple[str, ...]

    @property
    def home_region(self) -> str:
        return Arn.parse(self.arn).region

    @property
    def account(self) -> str:
        return Arn.parse(self.arn).account


class MalformedSummary(ValueError):
    """A phone-number summary lacks a field the scan cannot do without (its ARN or its number)."""


def _text(summary: Mapping[str, Any], name: str) -> str | None:
    """A field as text; absent and empty are the same (the API omits empty fields, but may send "")."""
    value = summary.get(name)
    return str(value) if value not in (None, "") else None


# The flow of a number whose instance's associations could not be read tonight: never a change.
UNKNOWN_FLOW = "?"

Tags = tuple[tuple[str, str], ...]


def _tags(value: Any) -> Tags | None:
    return tuple(sorted((str(k), str(v)) for k, v in value.items())) if isinstance(value, Mapping) else None


def _status(value: Any) -> str | None:
    if isinstance(value, Mapping):
        value = value.get("Status")
    return str(value) if value else None


@dataclass(frozen=True, slots=True)
class PhoneNumber:
    """One number: its ListPhoneNumbersSummary (or ClaimedPhoneNumberSummary) fields as the API returned
    them, and what the scan adds: the contact flow it is associated with (None: unrouted), and its tags
    and claim status when DescribePhoneNumber was asked (None: not asked tonight)."""

    arn: str
    id: str
    number: str
    country: str
    type: str
    target_arn: str
    instance_id: str
    description: str | None = None
    source_arn: str | None = None
    flow_id: str | None = None
    flow_name: str | None = None
    tags: Tags | None = None
    status: str | None = None

    @property
    def region(self) -> str:
        return Arn.parse(self.arn).region

    @classmethod
    def from_summary(cls, summary: Mapping[str, Any], listed_on: str | None = None) -> PhoneNumber:
        """From the API's summary fields (what as_summary gives back). Only the ARN and the number are
        required; a summary without its TargetArn is on the target it was listed from (`listed_on`)."""
        arn, e164 = _text(summary, "PhoneNumberArn"), _text(summary, "PhoneNumber")
        if arn is None or e164 is None:
            missing = "PhoneNumberArn" if arn is None else "PhoneNumber"
            raise MalformedSummary(f"a phone-number summary has no {missing}")
        target_arn = _text(summary, "TargetArn") or listed_on
        if target_arn is None:
            raise MalformedSummary(f"the summary of {arn} has no TargetArn")
        return cls(
            arn=arn,
            id=_text(summary, "PhoneNumberId") or arn.rsplit("/", 1)[-1],
            number=e164,
            country=_text(summary, "PhoneNumberCountryCode") or "",
            type=_text(summary, "PhoneNumberType") or "",
            target_arn=target_arn,
            instance_id=_text(summary, "InstanceId") or "",
            description=_text(summary, "PhoneNumberDescription"),
            source_arn=_text(summary, "SourcePhoneNumberArn"),
            flow_id=_text(summary, "FlowId"),
            flow_name=_text(summary, "FlowName"),
            tags=_tags(summary.get("Tags")),
            status=_status(summary.get("PhoneNumberStatus")),
        )

    def as_summary(self) -> dict[str, Any]:
        """The API's own field names (and ours for the flow), empty fields left out."""
        fields: dict[str, Any] = {
            "PhoneNumberId": self.id,
            "PhoneNumberArn": self.arn,
            "PhoneNumber": self.number,
            "PhoneNumberCountryCode": self.country,
            "PhoneNumberType": self.type,
            "TargetArn": self.target_arn,
            "InstanceId": self.instance_id,
            "PhoneNumberDescription": self.description,
            "SourcePhoneNumberArn": self.source_arn,
            "FlowId": self.flow_id,
            "FlowName": self.flow_name,
            "Tags": dict(self.tags) if self.tags is not None else None,
            "PhoneNumberStatus": self.status,
        }
        return {k: v for k, v in fields.items() if v or (k == "Tags" and v is not None)}

    def change_values(self) -> tuple[tuple[str, str | None], ...]:
        """(field, value) of every field a nightly listing shows that makes a change: what fingerprints
        digest and what `changed_fields` compares, from this one definition. InstanceId is left out on
        purpose: it follows from TargetArn for an instance, and for a TDG it may depend on the Region it is
        listed from. Tags and status are not listed: DescribePhoneNumber compares them (`changed_fields`)."""
        return (
            ("PhoneNumberArn", self.arn),
            ("PhoneNumberId", self.id),
            ("PhoneNumber", self.number),
            ("PhoneNumberCountryCode", self.country),
            ("PhoneNumberType", self.type),
            ("TargetArn", self.target_arn),
            ("PhoneNumberDescription", self.description),
            ("SourcePhoneNumberArn", self.source_arn),
            ("FlowId", self.flow_id),
        )

    def routed(self, flow_id: str | None, flow_name: str | None) -> PhoneNumber:
        # Spelled out: done for every number listed, and `dataclasses.replace` costs three times as much.
        return PhoneNumber(
            self.arn, self.id, self.number, self.country, self.type, self.target_arn, self.instance_id,
            self.description, self.source_arn, flow_id, flow_name, self.tags, self.status,
        )  # fmt: skip

    def with_details_of(self, known: PhoneNumber) -> PhoneNumber:
        """This number, with what tonight did not read taken from `known`: tags and status when it was not
        described, its flow when its instance's associations could not be read."""
        return replace(
            self,
            tags=self.tags if self.tags is not None else known.tags,
            status=self.status if self.status is not None else known.status,
            flow_id=known.flow_id if self.flow_id == UNKNOWN_FLOW else self.flow_id,
            flow_name=known.flow_name if self.flow_id == UNKNOWN_FLOW else self.flow_name,
        )


def changed_fields(before: PhoneNumber, after: PhoneNumber) -> tuple[str, ...]:
    """Fields whose values differ between two states of one number. A flow that could not be read, and
    tags not read on either side, are no change."""
    changed = [
        name
        for (name, old), (_, new) in zip(before.change_values(), after.change_values(), strict=True)
        if old != new and not (name == "FlowId" and UNKNOWN_FLOW in (old, new))
    ]
    if before.tags is not None and after.tags is not None and before.tags != after.tags:
        changed.append("Tags")
    return tuple(changed)


@dataclass(frozen=True, slots=True)
class SnapshotNumber:
    """A number as the snapshot last recorded it, with its change counter."""

    number: PhoneNumber
    version: int
    released: bool = False

    def advanced(self, number: PhoneNumber, released: bool = False) -> SnapshotNumber:
        return replace(self, number=number, version=self.version + 1, released=released)


@dataclass(frozen=True, slots=True)
class Actor:
    """Who made a change, as CloudTrail recorded the call."""

    event_name: str
    event_time: str  # ISO 8601, UTC
    event_id: str
    principal_arn: str | None = None
    principal_type: str | None = None  # IAMUser, AssumedRole, Root, AWSService...
    session_name: str | None = None
    source_ip: str | None = None
    user_agent: str | None = None

    def as_dict(self) -> dict[str, str | None]:
        return {
            "event_name": self.event_name,
            "event_time": self.event_time,
            "event_id": self.event_id,
            "principal_arn": self.principal_arn,
            "principal_type": self.principal_type,
            "session_name": self.session_name,
            "source_ip": self.source_ip,
            "user_agent": self.user_agent,
        }


@dataclass(frozen=True, slots=True)
class Change:
    change_type: ChangeType
    number_arn: str
    before: PhoneNumber | None
    after: PhoneNumber | None
    version_before: int
    version_after: int
    changed_fields: tuple[str, ...]
    actor: Actor | None = None

    @property
    def current(self) -> PhoneNumber:
        number = self.after or self.before
        assert number is not None
        return number


class FindingType(StrEnum):
    """Something about a number that needs a person, though nothing changed in its listing."""

    CLAIM_FAILED = "CLAIM_FAILED"  # a failed claim can be retried for one day, then the number is gone
    STUCK_IN_PROGRESS = "STUCK_IN_PROGRESS"  # IN_PROGRESS on two descriptions in a row
    MISSING_REQUIRED_TAGS = "MISSING_REQUIRED_TAGS"  # lacks a tag key the operator requires
    FLOW_NOT_FOUND = "FLOW_NOT_FOUND"  # associated with a contact flow that no longer exists


@dataclass(frozen=True, slots=True)
class Finding:
    finding_type: FindingType
    number: PhoneNumber
    detail: str


@dataclass(frozen=True, slots=True)
class Unobserved:
    target_arn: str
    reason: str


@dataclass(slots=True)
class TargetRecord:
    """What the snapshot keeps per target: fingerprints per bucket, and any held releases.

    `legacy` marks a record written by release 0.1 (XOR fingerprints of 64 buckets): its fingerprints
    compare with nothing, so the first run after an upgrade re-reads the target's numbers in full."""

    target: Target
    buckets: dict[str, str]
    count: int
    held_since_run: str | None = None
    held_count: int = 0
    legacy: bool = False


@dataclass(slots=True)
class HeldRelease:
    target_arn: str
    count: int
    of_total: int
    sample: list[str] = field(default_factory=list)


def _target_reference(value: str) -> str:
    """An instance ID, an instance ARN or a TDG ARN, of any partition."""
    if _UUID.match(value):
        return value
    try:
        arn = Arn.parse(value)
    except ValueError:
        raise ValueError(f"{value!r} is neither an instance ID nor an instance or TDG ARN") from None
    if arn.service != "connect" or arn.resource_type not in ("instance", "traffic-distribution-group"):
        raise ValueError(f"{value!r} is not an Amazon Connect instance or traffic distribution group ARN")
    return value


TargetReference = Annotated[str, AfterValidator(_target_reference)]


class ScanRequest(BaseModel):
    """The event that starts a run: the schedule's payload, or a manual invocation's."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    source: Literal["schedule", "manual"] = "manual"
    scheduled_time: datetime | None = None
    execution_id: str | None = Field(default=None, max_length=200)
    dry_run: StrictBool = False
    targets: list[TargetReference] | None = Field(
        default=None, min_length=1, max_length=500, description="limit the run to these instances / TDGs"
    )


class RunStatus(StrEnum):
    """Where a run stands. The function returns the last four; run records also hold the first two (and
    a run id invoked again after a later run found it interrupted answers INTERRUPTED)."""

    RUNNING = "RUNNING"  # recorded when a run starts; a crash leaves it so
    INTERRUPTED = "INTERRUPTED"  # a RUNNING record that a later run found and reported for
    COMPLETED = "COMPLETED"
    PARTIAL = "PARTIAL"  # stopped before the deadline, or some targets unobserved
    SKIPPED = "SKIPPED"  # another run holds the lease
    DRY_RUN = "DRY_RUN"


class RunMode(StrEnum):
    """Whether the run recorded a baseline (silently), reported changes, or both (a Region added later)."""

    NONE = "NONE"
    BASELINE = "BASELINE"
    INCREMENTAL = "INCREMENTAL"
    MIXED = "MIXED"


class ArchiveStatus(StrEnum):
    WRITTEN = "WRITTEN"  # this run's evidence (and any earlier run's still missing) is archived
    NOT_WRITTEN = "NOT_WRITTEN"  # a dry run: nothing archived
    FAILED = "FAILED"  # the archive refused: retried by the next run (the inventory of this night is lost)


class ArchiveOutcome(BaseModel):
    """What the archive phase did (None in the summary when no archive is configured)."""

    status: ArchiveStatus
    full_inventory: bool = False
    note: str = ""  # why there is no inventory, or why the archive failed
    manifest_key: str | None = None
    manifest_sha256: str | None = None  # vouches for the newest link of the chain
    objects_written: int = 0
    bytes_written: int = 0
    backfilled_runs: list[str] = Field(default_factory=list)


class ReportStatus(StrEnum):
    WRITTEN = "WRITTEN"  # the month's report (its missing formats) written to the archive this run
    ALREADY_WRITTEN = "ALREADY_WRITTEN"  # an earlier run of the month wrote it: nothing done
    NOTHING_TO_REPORT = "NOTHING_TO_REPORT"  # no run of that month is archived
    NOT_WRITTEN = "NOT_WRITTEN"  # not tried this run (`note` says why): the next run tries
    FAILED = "FAILED"  # the archive refused or held a mismatch: the next run tries again


class ReportOutcome(BaseModel):
    """What the monthly report step did: the report of the month before the run's month."""

    status: ReportStatus
    month: str
    keys: list[str] = Field(default_factory=list)  # written this run
    note: str = ""


class RunSummary(BaseModel):
    """What the function returns, and what the run record keeps."""

    run_id: str
    status: RunStatus
    account: str | None = None
    regions: list[str] = Field(default_factory=list)
    mode: RunMode = RunMode.NONE
    dry_run: bool = False
    limited_to: list[str] | None = None
    targets_scanned: int = 0
    targets_unobserved: list[dict[str, str]] = Field(default_factory=list)
    targets_not_reached: int = 0
    resume_with: list[str] = Field(default_factory=list)  # the targets not reached: the next run lists them first
    numbers_observed: int = 0
    numbers_by_target: dict[str, int] = Field(default_factory=dict)
    buckets_reloaded: int = 0
    buckets_verified: int = 0
    changes: dict[str, int] = Field(default_factory=lambda: {t.value: 0 for t in ChangeType})
    baseline_numbers: int = 0
    releases_held: int = 0
    releases_deferred: int = 0
    describe_calls: int = 0
    messages_published: int = 0
    messages_pending: int = 0
    messages_set_aside: list[str] = Field(default_factory=list)
    targets_partly_observed: list[dict[str, str]] = Field(default_factory=list)  # routing unknown
    findings: dict[str, int] = Field(default_factory=dict)  # finding type -> count
    holdings: dict[str, Any] | None = None  # numbers held, unrouted, and their monthly cost
    attribution: str | None = None  # why changes carry no actor tonight (None: CloudTrail was read)
    cloudtrail_lookups: int = 0
    chat_messages_sent: int = 0  # chat copies of the messages for people (CHAT_TOPIC_ARN)
    chat_messages_failed: list[str] = Field(default_factory=list)  # ids of the messages whose chat copy failed
    alert_subscription: str | None = None  # CONFIRMED, PENDING_CONFIRMATION, MISSING or UNKNOWN; None: no email
    connect_api_calls: int = 0
    duration_ms: int = 0
    message: str = ""
    # A run id invoked again after it finished: the run's recorded summary; nothing was scanned again.
    replayed: bool = False
    archive: ArchiveOutcome | None = None
    monthly_report: ReportOutcome | None = None  # None: no archive configured, or a dry run
    preview: list[dict[str, Any]] = Field(default_factory=list)
