"""Record: what a run tells people about itself and keeps, written after the snapshot.

- The digest is built from every change this run wrote (`Writer.run_messages`: what this invocation
  wrote, and what earlier attempts of the same run id wrote, read once from the run's own partition
  of the outbox when it began, consistently, no index), so that a retry's digest also counts what
  the first attempt wrote.
- The baseline summary and the scopes: a scope's baseline completes with the first full run that saw
  all of it; `full_runs` counts full runs, and picks the slice of buckets each run verifies.
- The run record, last.
- A run that died and was never retried left its record RUNNING: the next run reports its changes in
  a digest of their own, publishes what it left unsent, and marks it INTERRUPTED.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from ..digest import Night, build_digest
from ..events import OutboxMessage, change_from_event, finding_from_event
from ..models import Change, EventType, Finding, RunStatus
from ..observability import logger
from ..ports import Mutation, Outbox, PutRun, RunRecord
from ..run import iso

RECENT_RUNS_CHECKED = 10


def changes_of(messages: Sequence[OutboxMessage]) -> list[Change]:
    return [change_from_event(m.body) for m in messages if m.event_type is EventType.NUMBER_CHANGE]


def findings_of(messages: Sequence[OutboxMessage]) -> list[Finding]:
    return [finding_from_event(m.body) for m in messages if m.event_type is EventType.NUMBER_FINDING]


@dataclass
class Recovered:
    """What interrupted runs left: their records to mark, their digests to write, their unsent messages."""

    records: list[Mutation] = field(default_factory=list)
    digests: list[OutboxMessage] = field(default_factory=list)
    unsent: list[OutboxMessage] = field(default_factory=list)


def recover_interrupted_runs(
    recent: Sequence[RunRecord], outbox: Outbox, account: str, this_run: str, names: dict[str, str]
) -> Recovered:
    """`recent`: the account's latest run records, newest first, read under this run's lease."""
    recovered = Recovered()
    for record in recent[:RECENT_RUNS_CHECKED]:
        if record.status is not RunStatus.RUNNING or record.run_id == this_run:
            continue
        logger.warning("Recovering an interrupted run", extra={"interrupted_run": record.run_id})
        stored = outbox.run_messages(account, record.run_id)
        recovered.unsent += [s.message for s in stored if s.unsent]
        messages = [s.message for s in stored]
        recovered.records.append(
            PutRun(RunRecord(account, record.run_id, record.started_at, RunStatus.INTERRUPTED, record.summary))
        )
        night = Night(findings=findings_of(messages))
        digest = build_digest(account, record.run_id, iso(record.started_at), changes_of(messages), night, names)
        if digest is not None and not any(m.message_id == digest.message_id for m in messages):
            recovered.digests.append(digest)
    return recovered
