"""The scan's doors to the outside world, as small interfaces.

`Inventory` lists and describes what Connect holds. What the scan keeps is behind four ports: the
`Lease` against overlapping runs, the `Snapshot` (targets, buckets, numbers), the `Outbox` (messages
written with the changes they report, published afterwards) and the `RunLog` (one record per run);
one DynamoDB adapter serves all four, and every write goes through `Lease.write` so that it is one
transaction guarded by the lease. `Publisher` sends messages, `Chat` their chat copies. `Archive` keeps the
evidence, write-once.
The AWS adapters implement them with an injected boto3 client; the phases and the tests see only these.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, Protocol

from .events import OutboxMessage
from .fingerprint import BucketEntries
from .models import PhoneNumber, RunStatus, SnapshotNumber, Target, TargetRecord


class TargetUnavailable(Exception):
    """A target's listing failed after retries: the target is not observed this run."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class OutOfTime(Exception):
    """The run must stop now to finish cleanly before the Lambda timeout."""


class LeaseLost(Exception):
    """Another run owns the lease: this run may not write."""


class RoutingUnavailable(Exception):
    """An instance's flow associations could not be read: its numbers keep their last known flow."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Routing:
    """One instance's voice phone-number associations and the names of its contact flows."""

    flows: dict[str, str]  # phone number id -> contact flow id
    names: dict[str, str]  # contact flow id -> name

    def of(self, number: PhoneNumber) -> tuple[str | None, str | None]:
        """(flow id, flow name) of a number; (None, None) when it is associated with no flow, and a None name
        when the flow it is associated with no longer exists."""
        flow = self.flows.get(number.id)
        return flow, (self.names.get(flow) if flow is not None else None)


@dataclass
class Discovery:
    """What one Region's discovery found; `failures` is empty when it saw everything."""

    region: str
    targets: list[Target] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)


class Presence(StrEnum):
    """What DescribePhoneNumber says of a number the listings no longer show."""

    GONE = "GONE"  # ResourceNotFoundException: released
    CLAIMED = "CLAIMED"  # claimed, on the target `number` names
    IN_PROGRESS = "IN_PROGRESS"  # a claim, move or update under way
    FAILED = "FAILED"  # the last claim or move failed
    UNKNOWN = "UNKNOWN"  # the call failed (throttled, denied, timed out): `reason` says why


@dataclass(frozen=True)
class Described:
    presence: Presence
    number: PhoneNumber | None = None
    reason: str = ""
    status_message: str | None = None  # PhoneNumberStatus's Message, when Connect gave one


@dataclass(frozen=True)
class NumberPage:
    """One page of a target's listing, and the Region it was read from: a page from another Region than
    the page before starts the listing over (a TDG's listing that failed in its home Region goes on from
    its other one), and a number may show on two pages (it moved while the pages were read)."""

    region: str
    numbers: list[PhoneNumber]


class Inventory(Protocol):
    def discover(self, region: str) -> Discovery: ...

    def list_numbers(self, target: Target) -> list[PhoneNumber]:
        """Every number of the target, each once (as last shown); raises TargetUnavailable or OutOfTime."""
        ...

    def number_pages(self, target: Target) -> Iterator[NumberPage]:
        """The same listing, page by page as it is read, for what can be written as it comes (a baseline);
        raises TargetUnavailable or OutOfTime while it is iterated."""
        ...

    def describe(self, number_arn: str) -> Described:
        """The number as DescribePhoneNumber tells it, asked in the number's own Region; raises OutOfTime."""
        ...

    def routing(self, instance_arn: str) -> Routing:
        """The instance's number-to-flow associations (ListFlowAssociations, ListContactFlows); raises
        RoutingUnavailable or OutOfTime."""
        ...

    @property
    def api_calls(self) -> int: ...


class TrailUnavailable(Exception):
    """CloudTrail could not be read (denied, down, out of time): changes go out unattributed."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class TrailRecord:
    """One management event of a phone-number API call, as CloudTrail's LookupEvents returns it."""

    event_name: str
    event_time: datetime
    event_id: str
    references: frozenset[str]  # phone-number ids and ARNs the call named, in its request or response
    principal_arn: str | None = None
    principal_type: str | None = None
    session_name: str | None = None
    source_ip: str | None = None
    user_agent: str | None = None


class Trail(Protocol):
    def lookup(self, region: str, event_name: str, start: datetime, end: datetime) -> list[TrailRecord]:
        """Every event of that name in the Region and window; raises TrailUnavailable or OutOfTime."""
        ...


@dataclass(frozen=True)
class LeaseState:
    acquired: bool
    owner: str
    expires_at: datetime
    started_at: datetime
    resumed: bool = False  # this run already held it: a retry of the same invocation


@dataclass(frozen=True)
class ScopeRecord:
    """One account and Region: whether its baseline is recorded, and how many full runs it has seen."""

    account: str
    region: str
    baseline_complete: bool
    full_runs: int = 0
    refresh_from: int = 0  # the slot where tonight's rotation of DescribePhoneNumber starts (fingerprint.slot_of)


@dataclass(frozen=True)
class RunRecord:
    account: str
    run_id: str
    started_at: datetime
    status: RunStatus
    summary: dict[str, Any] = field(default_factory=dict)


# What a run writes. One `Lease.write` call is one transaction, guarded by the lease.
@dataclass(frozen=True)
class PutNumber:
    snapshot: SnapshotNumber
    expires_at: int | None = None  # for released numbers, kept as tombstones for the history


@dataclass(frozen=True)
class PutBucket:
    target: Target
    bucket: str
    entries: BucketEntries  # empty: the bucket item is deleted


@dataclass(frozen=True)
class PutTarget:
    record: TargetRecord


@dataclass(frozen=True)
class DeleteTarget:
    target: Target


@dataclass(frozen=True)
class PutMessage:
    message: OutboxMessage  # with its expires_at set


@dataclass(frozen=True)
class PutScope:
    scope: ScopeRecord


@dataclass(frozen=True)
class PutRun:
    run: RunRecord


Mutation = PutNumber | PutBucket | PutTarget | DeleteTarget | PutMessage | PutScope | PutRun


class Lease(Protocol):
    max_items_per_write: int
    max_bytes_per_write: int

    def acquire_lease(self, account: str, owner: str, now: datetime, expires_at: datetime) -> LeaseState: ...

    def release_lease(self, account: str, owner: str) -> None: ...

    def write(self, account: str, owner: str, mutations: Sequence[Mutation]) -> None:
        """One transaction, all or nothing, only while `owner` holds the lease (else LeaseLost)."""
        ...

    def size_of(self, mutation: Mutation) -> int:
        """Bytes the mutation takes in a transaction (transactions are bounded in bytes as in items)."""
        ...


class Snapshot(Protocol):
    """Every read here is strongly consistent: what the run decides on is what was last written."""

    def scope(self, account: str, region: str) -> ScopeRecord | None: ...

    def targets(self, account: str, region: str) -> dict[str, TargetRecord]: ...

    def buckets(self, target_arn: str, buckets: Sequence[str]) -> dict[str, BucketEntries]: ...

    def numbers(self, arns: Sequence[str]) -> dict[str, SnapshotNumber]: ...

    def legacy_numbers(self, target_arn: str) -> list[SnapshotNumber]:
        """A target's live numbers as release 0.1 indexed them (read once, when upgrading)."""
        ...


@dataclass(frozen=True)
class StoredMessage:
    message: OutboxMessage
    unsent: bool  # still in the outbox (neither published nor set aside)


class Outbox(Protocol):
    def run_messages(self, account: str, run_id: str) -> list[StoredMessage]:
        """Every message one run wrote, read consistently (its own partition: no index involved)."""
        ...

    def has_message(self, account: str, message: OutboxMessage) -> bool: ...

    def unsent_pages(self, account: str) -> Iterator[list[OutboxMessage]]:
        """Messages left unsent, page by page, through an eventually consistent index: an entry may be
        missing for a while, or still listed after it was sent (check with `still_unsent`)."""
        ...

    def still_unsent(self, account: str, messages: Sequence[OutboxMessage]) -> list[OutboxMessage]:
        """The ones of `messages` that are really still unsent (a consistent read of each)."""
        ...

    def mark_sent(self, account: str, messages: Sequence[OutboxMessage]) -> None: ...

    def set_aside(self, account: str, message: OutboxMessage, reason: str) -> None:
        """Keep a message SNS refused as our fault, out of the outbox, listed for an operator."""
        ...


class RunLog(Protocol):
    def recent_runs(self, account: str, limit: int) -> list[RunRecord]: ...


class Store(Lease, Snapshot, Outbox, RunLog, Protocol):
    """The four ports the DynamoDB adapter serves together."""


@dataclass
class PublishResult:
    sent: list[str] = field(default_factory=list)  # message ids
    failed: dict[str, str] = field(default_factory=dict)  # message id -> reason: may succeed later
    refused: dict[str, str] = field(default_factory=dict)  # message id -> reason: our fault, never will


class Subscription(StrEnum):
    """The people's email subscription, as the topic lists it."""

    CONFIRMED = "CONFIRMED"
    PENDING = "PENDING_CONFIRMATION"
    MISSING = "MISSING"  # unsubscribed (anyone holding one digest email can do it with one click)
    UNKNOWN = "UNKNOWN"  # the topic's subscriptions could not be read


class Publisher(Protocol):
    max_batch: int

    def publish(self, messages: Sequence[OutboxMessage]) -> PublishResult:
        """Publish one batch (at most max_batch messages, within SNS's size limit)."""
        ...

    def subscription(self, email: str) -> Subscription:
        """Whether `email` is still subscribed to the topic, and confirmed."""
        ...


class ChatUnavailable(Exception):
    """The chat topic refused a message, or could not be reached."""


class Chat(Protocol):
    """Where chat copies of the messages for people go (a convenience: never part of the outbox)."""

    def send(self, body: str) -> None:
        """Publish one chat notification (JSON); raises ChatUnavailable."""
        ...


class ArchiveUnavailable(Exception):
    """The archive refused a read or a write, or could not be reached (after retries)."""


class ArchiveConflict(Exception):
    """A different object is already archived under the key: evidence is never replaced."""


class ArchiveMissing(Exception):
    """No object under the key."""


class Archive(Protocol):
    """Write-once evidence: an object, once written, is never replaced or deleted by us."""

    def put(self, key: str, body: bytes, sha256: str) -> None:
        """Create the object. The same bytes already there are no error (a retry); different bytes raise
        ArchiveConflict; anything else the archive refuses raises ArchiveUnavailable."""
        ...

    def get(self, key: str) -> bytes:
        """The object's current bytes; raises ArchiveMissing or ArchiveUnavailable."""
        ...

    def keys(self, prefix: str) -> list[str]:
        """Every key under `prefix`, in ascending order; raises ArchiveUnavailable."""
        ...
