"""In-memory fakes of the scan's ports, for unit tests of the phases and the whole service (no network).

`FakeConnect` is an estate: targets per Region and the numbers claimed to each, with hooks that change
it while a scan pages through it, and DescribePhoneNumber answered from its state. `FakeStore` is a
dict-backed store whose writes are transactions guarded by the lease, and whose outbox index can be
made stale. `FakePublisher` keeps what it published and refuses what it is told to.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from numberwatch.events import OutboxMessage
from numberwatch.fingerprint import BucketEntries
from numberwatch.models import PhoneNumber, RunStatus, SnapshotNumber, Target, TargetRecord
from numberwatch.ports import (
    DeleteTarget,
    Described,
    Discovery,
    LeaseLost,
    LeaseState,
    Mutation,
    NumberPage,
    Presence,
    PublishResult,
    PutBucket,
    PutMessage,
    PutNumber,
    PutRun,
    PutScope,
    PutTarget,
    Routing,
    RoutingUnavailable,
    RunRecord,
    ScopeRecord,
    StoredMessage,
    Subscription,
    TargetUnavailable,
    TrailRecord,
    TrailUnavailable,
)


@dataclass
class FakeConnect:
    """An estate. `between_listings` runs before each target is listed (with the target): a scan that
    pages while the estate changes. `in_progress` numbers are on no listing and described IN_PROGRESS."""

    targets: dict[str, list[Target]] = field(default_factory=dict)  # Region -> targets discovered there
    numbers: dict[str, dict[str, PhoneNumber]] = field(default_factory=dict)  # target ARN -> ARN -> number
    failing: dict[str, str] = field(default_factory=dict)  # target ARN -> reason its listing fails
    describe_failing: set[str] = field(default_factory=set)
    in_progress: set[str] = field(default_factory=set)
    flows: dict[str, dict[str, str]] = field(default_factory=dict)  # instance ARN -> number id -> flow id
    flow_names: dict[str, dict[str, str]] = field(default_factory=dict)  # instance ARN -> flow id -> name
    routing_failing: dict[str, str] = field(default_factory=dict)  # instance ARN -> reason
    between_listings: Callable[[FakeConnect, Target], None] = lambda connect, target: None
    listed: list[str] = field(default_factory=list)
    described: list[str] = field(default_factory=list)

    def add(self, target: Target, *numbers: PhoneNumber) -> None:
        for region in target.regions:
            if target not in self.targets.setdefault(region, []):
                self.targets[region].append(target)
        self.numbers.setdefault(target.arn, {}).update({n.arn: n for n in numbers})

    def release(self, number: PhoneNumber) -> None:
        for claimed in self.numbers.values():
            claimed.pop(number.arn, None)

    def move(self, number: PhoneNumber, target: Target) -> PhoneNumber:
        self.release(number)
        moved = replace(number, target_arn=target.arn)
        self.numbers.setdefault(target.arn, {})[moved.arn] = moved
        return moved

    def find(self, arn: str) -> PhoneNumber | None:
        return next((claimed[arn] for claimed in self.numbers.values() if arn in claimed), None)

    @property
    def api_calls(self) -> int:
        return len(self.listed) + len(self.described)

    def discover(self, region: str) -> Discovery:
        return Discovery(region, list(self.targets.get(region, [])))

    def list_numbers(self, target: Target) -> list[PhoneNumber]:
        self.between_listings(self, target)
        self.listed.append(target.arn)
        if target.arn in self.failing:
            raise TargetUnavailable(self.failing[target.arn])
        # A listing shows neither tags nor status nor flow: those come from elsewhere.
        return [
            replace(n, tags=None, status=None, flow_id=None, flow_name=None)
            for n in self.numbers.get(target.arn, {}).values()
            if n.arn not in self.in_progress
        ]

    def number_pages(self, target: Target) -> Iterator[NumberPage]:
        yield NumberPage(target.home_region, self.list_numbers(target))

    def routing(self, instance_arn: str) -> Routing:
        if instance_arn in self.routing_failing:
            raise RoutingUnavailable(self.routing_failing[instance_arn])
        return Routing(dict(self.flows.get(instance_arn, {})), dict(self.flow_names.get(instance_arn, {})))

    def describe(self, number_arn: str) -> Described:
        self.described.append(number_arn)
        if number_arn in self.describe_failing:
            return Described(Presence.UNKNOWN, reason="DescribePhoneNumber: ThrottlingException: Rate exceeded")
        number = self.find(number_arn)
        if number is None:
            return Described(Presence.GONE)
        status = "IN_PROGRESS" if number_arn in self.in_progress else (number.status or "CLAIMED")
        presence = {"IN_PROGRESS": Presence.IN_PROGRESS, "FAILED": Presence.FAILED}.get(status, Presence.CLAIMED)
        return Described(presence, replace(number, status=status, tags=number.tags or (), flow_id=None, flow_name=None))


@dataclass
class _Stored:
    message: OutboxMessage
    state: str  # UNSENT | SENT | SET_ASIDE
    reason: str = ""


class FakeStore:
    """Every port of the DynamoDB adapter, in dicts. The outbox index can lag as a GSI does: `stale_unsent`
    entries stay in it after they were sent, and with `index_shows_new` False no new entry shows yet."""

    max_items_per_write = 99
    max_bytes_per_write = 4_000_000

    def __init__(self) -> None:
        self.lease: dict[str, tuple[str, datetime, datetime]] = {}
        self.scopes: dict[tuple[str, str], ScopeRecord] = {}
        self.target_records: dict[tuple[str, str], TargetRecord] = {}  # (account, target ARN)
        self.bucket_items: dict[tuple[str, str], BucketEntries] = {}
        self.number_items: dict[str, SnapshotNumber] = {}
        self.messages: dict[tuple[str, str], _Stored] = {}  # (run id, message id)
        self.runs: dict[tuple[str, str], RunRecord] = {}
        self.stale_unsent: list[OutboxMessage] = []
        self.index_shows_new = True
        self.transactions: list[list[Mutation]] = []
        self.lease_stolen = False

    # Lease
    def acquire_lease(self, account: str, owner: str, now: datetime, expires_at: datetime) -> LeaseState:
        held = self.lease.get(account)
        if held is not None and held[0] != owner and held[1] > now:
            return LeaseState(False, held[0], held[1], held[2])
        started = held[2] if held is not None and held[0] == owner else now
        self.lease[account] = (owner, expires_at, started)
        return LeaseState(True, owner, expires_at, started, resumed=held is not None and held[0] == owner)

    def release_lease(self, account: str, owner: str) -> None:
        if self.lease.get(account, ("",))[0] == owner:
            del self.lease[account]

    def write(self, account: str, owner: str, mutations: Sequence[Mutation]) -> None:
        if self.lease_stolen or self.lease.get(account, ("",))[0] != owner:
            raise LeaseLost(f"{owner} does not hold the lease")
        assert len(mutations) <= self.max_items_per_write
        self.transactions.append(list(mutations))
        for mutation in mutations:
            self._apply(account, mutation)

    def size_of(self, mutation: Mutation) -> int:
        return 1000

    def _apply(self, account: str, mutation: Mutation) -> None:
        if isinstance(mutation, PutNumber):
            self.number_items[mutation.snapshot.number.arn] = mutation.snapshot
        elif isinstance(mutation, PutBucket):
            key = (mutation.target.arn, mutation.bucket)
            if mutation.entries:
                self.bucket_items[key] = dict(mutation.entries)
            else:
                self.bucket_items.pop(key, None)
        elif isinstance(mutation, PutTarget):
            self.target_records[(account, mutation.record.target.arn)] = copy.deepcopy(mutation.record)
        elif isinstance(mutation, DeleteTarget):
            self.target_records.pop((account, mutation.target.arn), None)
        elif isinstance(mutation, PutMessage):
            self.messages[(mutation.message.run_id, mutation.message.message_id)] = _Stored(mutation.message, "UNSENT")
        elif isinstance(mutation, PutScope):
            self.scopes[(mutation.scope.account, mutation.scope.region)] = mutation.scope
        elif isinstance(mutation, PutRun):
            self.runs[(account, mutation.run.run_id)] = mutation.run

    # Snapshot
    def scope(self, account: str, region: str) -> ScopeRecord | None:
        return self.scopes.get((account, region))

    def targets(self, account: str, region: str) -> dict[str, TargetRecord]:
        return {
            arn: copy.deepcopy(record)
            for (owner, arn), record in self.target_records.items()
            if owner == account and record.target.home_region == region
        }

    def buckets(self, target_arn: str, buckets: Sequence[str]) -> dict[str, BucketEntries]:
        return {b: dict(self.bucket_items[(target_arn, b)]) for b in buckets if (target_arn, b) in self.bucket_items}

    def numbers(self, arns: Sequence[str]) -> dict[str, SnapshotNumber]:
        return {arn: self.number_items[arn] for arn in arns if arn in self.number_items}

    def legacy_numbers(self, target_arn: str) -> list[SnapshotNumber]:
        return []

    # Outbox
    def run_messages(self, account: str, run_id: str) -> list[StoredMessage]:
        return [StoredMessage(s.message, s.state == "UNSENT") for (run, _), s in self.messages.items() if run == run_id]

    def has_message(self, account: str, message: OutboxMessage) -> bool:
        return (message.run_id, message.message_id) in self.messages

    def unsent_pages(self, account: str) -> Iterator[list[OutboxMessage]]:
        unsent = [s.message for s in self.messages.values() if s.state == "UNSENT" and self.index_shows_new]
        yield [*self.stale_unsent, *unsent]

    def still_unsent(self, account: str, messages: Sequence[OutboxMessage]) -> list[OutboxMessage]:
        return [m for m in messages if self.messages[(m.run_id, m.message_id)].state == "UNSENT"]

    def mark_sent(self, account: str, messages: Sequence[OutboxMessage]) -> None:
        for message in messages:
            self.messages[(message.run_id, message.message_id)].state = "SENT"

    def set_aside(self, account: str, message: OutboxMessage, reason: str) -> None:
        stored = self.messages[(message.run_id, message.message_id)]
        stored.state, stored.reason = "SET_ASIDE", reason

    # Run log
    def recent_runs(self, account: str, limit: int) -> list[RunRecord]:
        records = [r for (owner, _), r in self.runs.items() if owner == account]
        return sorted(records, key=lambda r: r.started_at, reverse=True)[:limit]

    def run_status(self, account: str, run_id: str) -> RunStatus:
        return self.runs[(account, run_id)].status


@dataclass
class FakePublisher:
    max_batch: int = 10
    published: list[OutboxMessage] = field(default_factory=list)
    refuse: set[str] = field(default_factory=set)  # message ids refused as the sender's fault
    down: bool = False  # every entry fails as SNS's fault
    subscribed: dict[str, Subscription] = field(default_factory=dict)  # email -> its subscription

    def publish(self, messages: Sequence[OutboxMessage]) -> PublishResult:
        result = PublishResult()
        for message in messages:
            if self.down:
                result.failed[message.message_id] = "InternalError: SNS is down"
            elif message.message_id in self.refuse:
                result.refused[message.message_id] = "InvalidParameter: too big"
            else:
                self.published.append(message)
                result.sent.append(message.message_id)
        return result

    def subscription(self, email: str) -> Subscription:
        return self.subscribed.get(email, Subscription.MISSING)

    def bodies(self, event_type: str | None = None) -> list[dict[str, Any]]:
        return [m.body for m in self.published if event_type is None or m.event_type.value == event_type]


@dataclass
class FakeTrail:
    """CloudTrail: the records it holds, per Region; Regions where LookupEvents is denied."""

    records: dict[str, list[TrailRecord]] = field(default_factory=dict)
    denied: dict[str, str] = field(default_factory=dict)
    lookups: list[tuple[str, str]] = field(default_factory=list)

    def lookup(self, region: str, event_name: str, start: datetime, end: datetime) -> list[TrailRecord]:
        self.lookups.append((region, event_name))
        if region in self.denied:
            raise TrailUnavailable(self.denied[region])
        return [r for r in self.records.get(region, []) if r.event_name == event_name and start <= r.event_time <= end]
