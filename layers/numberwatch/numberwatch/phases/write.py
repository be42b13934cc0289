"""Write: each target's plan in transactions, numbers with the messages that report them, then its
bucket items, its record last; every transaction guarded by the lease. A baseline's numbers are
written earlier, page by page as they are listed (`record_silently`), its bucket items and record here.

A run that dies between two transactions leaves a snapshot the next run completes: a number written
with its event is not reported again, and the target's old record makes its buckets look changed,
so what was not written yet is found again.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field

from ..diff import TargetPlan
from ..events import OutboxMessage
from ..models import Change, Finding, PhoneNumber, SnapshotNumber
from ..ports import DeleteTarget, Lease, Mutation, OutOfTime, PutBucket, PutMessage, PutNumber, PutTarget
from ..run import Deadline


@dataclass
class Writer:
    """Writes a run's transactions and remembers every message it wrote, to publish them from memory.

    With `earlier`, what earlier attempts of the same run id wrote to its outbox partition (read once,
    consistently, under the lease, before this invocation wrote anything), it knows every message of
    the run without reading the partition again: only runs holding the lease write there."""

    lease: Lease
    account: str
    run_id: str
    expires_at: int  # history (released numbers, messages) is kept until then
    deadline: Deadline
    checkpoint: Callable[[str], None]
    earlier: Sequence[OutboxMessage] = ()
    written: list[OutboxMessage] = field(default_factory=list)
    # The Regions' threads write a baseline's pages as they list them: every transaction checks the same
    # lease item, and DynamoDB cancels a transaction on an item another one in flight holds
    # (TransactionConflict), so they go one at a time.
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def message(self, message: OutboxMessage) -> PutMessage:
        return PutMessage(message.kept_until(self.expires_at))

    def write(self, mutations: Sequence[Mutation]) -> None:
        """One transaction."""
        with self._lock:
            self.lease.write(self.account, self.run_id, mutations)
            self.written.extend(m.message for m in mutations if isinstance(m, PutMessage))

    def run_messages(self) -> list[OutboxMessage]:
        """Every message of this run, once each, in the order of its partition: what earlier attempts
        wrote, and what this invocation wrote since (another run's recovered digest is not this run's)."""
        by_key = {m.sort_key: m for m in self.earlier}
        by_key.update((m.sort_key, m) for m in self.written if m.run_id == self.run_id)
        return [by_key[key] for key in sorted(by_key)]

    def has_written(self, message: OutboxMessage) -> bool:
        """Whether this run (this invocation or an earlier attempt) already wrote `message`."""
        key = message.sort_key
        return message.run_id == self.run_id and any(
            m.run_id == self.run_id and m.sort_key == key for m in (*self.earlier, *self.written)
        )

    def record_silently(self, numbers: Sequence[PhoneNumber]) -> None:
        """A baseline's numbers as they are listed: at version 1, with no message (nothing is reported),
        in transactions guarded by the lease like every other write."""
        if self.deadline.passed():
            raise OutOfTime("no time left to record the baseline")
        for chunk in self._chunks([[PutNumber(SnapshotNumber(number, 1))] for number in numbers]):
            self.write(chunk)
        self.checkpoint("baseline_page_written")

    def apply(
        self,
        target_plan: TargetPlan,
        message_for: Callable[[Change], OutboxMessage],
        finding_message: Callable[[Finding], OutboxMessage],
    ) -> bool:
        """Write one target's plan; False when the run must stop (out of time): the target keeps its old
        record, so the next run finds the rest."""
        groups: list[list[Mutation]] = []
        for snapshot, change in target_plan.changes:
            group: list[Mutation] = [PutNumber(snapshot, self.expires_at if snapshot.released else None)]
            if change is not None:
                group.append(self.message(message_for(change)))
            groups.append(group)
        groups.extend([self.message(finding_message(finding))] for finding in target_plan.findings)
        groups.extend([PutBucket(target_plan.target, b, entries)] for b, entries in sorted(target_plan.buckets.items()))
        record = target_plan.record
        groups.append([PutTarget(record) if record is not None else DeleteTarget(target_plan.target)])
        chunks = list(self._chunks(groups))
        for index, chunk in enumerate(chunks):
            if self.deadline.passed():
                return False
            self.write(chunk)
            if index < len(chunks) - 1:
                self.checkpoint("between_transactions")
        return True

    def _chunks(self, groups: list[list[Mutation]]) -> Iterator[list[Mutation]]:
        """Consecutive groups, never split, in transactions within DynamoDB's item and byte limits."""
        items_limit, bytes_limit = self.lease.max_items_per_write, self.lease.max_bytes_per_write
        chunk: list[Mutation] = []
        used = 0
        for group in groups:
            size = sum(self.lease.size_of(m) for m in group)
            if chunk and (len(chunk) + len(group) > items_limit or used + size > bytes_limit):
                yield chunk
                chunk, used = [], 0
            chunk.extend(group)
            used += size
        if chunk:
            yield chunk
