"""The scan's three doors to the outside world, as small interfaces.

`Inventory` lists what Connect holds, `SnapshotStore` keeps what was seen (and the outbox),
`Publisher` sends messages. The AWS adapters implement them with an injected boto3 client; the
service and the tests see only these."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from .events import OutboxMessage
from .models import PhoneNumber, SnapshotNumber, Target, TargetRecord


class TargetUnavailable(Exception):
    """A target's listing failed after retries: the target is not observed this run."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class OutOfTime(Exception):
    """The run must stop now to finish cleanly before the Lambda timeout."""


class LeaseLost(Exception):
    """Another run owns the lease: this run may not write."""


@dataclass
class Discovery:
    """What one Region's discovery found; `failures` is empty when it saw everything."""

    region: str
    targets: list[Target] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)


class Inventory(Protocol):
    def discover(self, region: str) -> Discovery: ...

    def list_numbers(self, target: Target) -> list[PhoneNumber]:
        """Every number of the target; raises TargetUnavailable or OutOfTime."""
        ...

    @property
    def api_calls(self) -> int: ...


@dataclass(frozen=True)
class Lease:
    acquired: bool
    owner: str
    expires_at: datetime
    started_at: datetime
    resumed: bool = False  # this run already held it: a retry of the same invocation


@dataclass(frozen=True)
class ScopeRecord:
    account: str
    region: str
    baseline_complete: bool


@dataclass(frozen=True)
class RunRecord:
    account: str
    run_id: str
    started_at: datetime
    status: str
    summary: dict[str, Any] = field(default_factory=dict)


# What a run writes. One `SnapshotStore.write` call is one transaction, guarded by the lease.
@dataclass(frozen=True)
class PutNumber:
    snapshot: SnapshotNumber
    expires_at: int | None = None  # for released numbers, kept as tombstones for the history


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


Mutation = PutNumber | PutTarget | DeleteTarget | PutMessage | PutScope | PutRun


class SnapshotStore(Protocol):
    max_items_per_write: int

    def acquire_lease(self, account: str, owner: str, now: datetime, expires_at: datetime) -> Lease: ...

    def release_lease(self, account: str, owner: str) -> None: ...

    def scope(self, account: str, region: str) -> ScopeRecord | None: ...

    def targets(self, account: str, region: str) -> dict[str, TargetRecord]: ...

    def bucket(self, target_arn: str, bucket: str) -> dict[str, SnapshotNumber]: ...

    def target_numbers(self, target_arn: str) -> dict[str, dict[str, SnapshotNumber]]: ...

    def numbers(self, arns: Sequence[str]) -> dict[str, SnapshotNumber]: ...

    def write(self, account: str, owner: str, mutations: Sequence[Mutation]) -> None:
        """One transaction, all or nothing, only while `owner` holds the lease (else LeaseLost)."""
        ...

    def run_changes(self, account: str, run_id: str) -> list[dict[str, Any]]: ...

    def has_message(self, account: str, message: OutboxMessage) -> bool: ...

    def recent_runs(self, account: str, limit: int) -> list[RunRecord]: ...

    def unsent(self, account: str, limit: int) -> list[OutboxMessage]: ...

    def mark_sent(self, account: str, messages: Sequence[OutboxMessage]) -> None: ...


@dataclass
class PublishResult:
    sent: list[str] = field(default_factory=list)  # message ids
    failed: dict[str, str] = field(default_factory=dict)  # message id -> reason


class Publisher(Protocol):
    max_batch: int

    def publish(self, messages: Sequence[OutboxMessage]) -> PublishResult:
        """Publish one batch (at most max_batch messages, within SNS's size limit)."""
        ...
