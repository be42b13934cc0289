"""Archive: the run's evidence, written once, after the outbox is published (so a failed S3 write never
loses an event) and before the lease is released (so one writer at a time extends the chain).

Opened before the scan (`open_archive`): it finds the head of the account's manifest chain and, from
the newest full inventory behind it (and the changes of the runs since), each number's first_seen,
without a DynamoDB read. The observer then hands each target's listing to `on_listed`, which streams
inventory rows into one compressed buffer per Region: the estate is never held. After the details
phase, the service hands it what DescribePhoneNumber answered (`on_described`): the details rows, at
most the night's DescribePhoneNumber budget of them.

Finished after publishing (`finish`): runs that ran since the head but have no manifest (S3 refused
them) are archived first, from the run log and the outbox (their changes and summary: their
inventory is gone); then this run, with the messages it wrote (`Writer.run_messages`): its objects,
its manifest (chained to the previous one), and its runs row last, so that a runs row always has its
manifest. A run's details are written whenever its own evidence is, partial and limited runs
included: each row is what Connect answered of one number that night, true whatever the run did not
see (only the inventory must be whole to be worth keeping).
A refusal fails only the archive: the summary says so, `ArchiveFailures` alarms, and the next run
writes what is missing.
"""

from __future__ import annotations

import threading
import zlib
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from operator import attrgetter
from typing import Any

from ..archive_format import (
    CHANGES,
    DETAILS,
    INVENTORY,
    RUNS,
    EncodedObject,
    Entry,
    JsonLinesGzip,
    Link,
    Manifest,
    RunRow,
    Table,
    change_line,
    details_lines,
    encode,
    first_seen_of,
    inventory_lines,
    manifest_key,
    manifest_prefix,
    manifest_run_id,
    manifest_started_at,
    rows_of,
    run_date,
    sha256_of,
)
from ..events import OutboxMessage
from ..models import ArchiveOutcome, ArchiveStatus, Arn, EventType, PhoneNumber, RunStatus, RunSummary, Target
from ..observability import logger
from ..ports import (
    Archive,
    ArchiveConflict,
    ArchiveMissing,
    ArchiveUnavailable,
    Described,
    Outbox,
    RunLog,
    RunRecord,
)
from ..run import iso

RECENT_RUNS_CHECKED = 10  # runs whose missing evidence a run writes (older ones: see the README)
WALK_LIMIT = 60  # manifests read back, at most, to find the newest full inventory
ROWS_PER_CHUNK = 5000  # inventory rows built and compressed at a time: a few MB
ARCHIVED_STATUSES = (RunStatus.COMPLETED, RunStatus.PARTIAL, RunStatus.INTERRUPTED)
_ARCHIVE_ERRORS = (ArchiveUnavailable, ArchiveConflict, ArchiveMissing)
LATE = "archived by a later run: the archive refused this run's evidence, and its inventory could not be kept"
RUN_FACTS = ("targets_scanned", "targets_unobserved", "numbers_observed")  # what a runs row takes from a summary


@dataclass
class ArchiveSession:
    """One run's archive, from before the scan to after the publish."""

    archive: Archive
    account: str
    run_id: str
    started_at: datetime
    collect_inventory: bool
    head: Link | None = None
    head_started_at: datetime | None = None
    archived: set[str] = field(default_factory=set)  # run ids that have a manifest
    first_seen: dict[str, str] = field(default_factory=dict)
    unavailable: str | None = None  # why the archive could not be read: nothing is written this run
    notes: list[str] = field(default_factory=list)
    buffers: dict[str, JsonLinesGzip] = field(default_factory=dict)  # Region -> inventory rows
    described: dict[str, Described] = field(default_factory=dict)  # number ARN -> DescribePhoneNumber's answer
    # The observer lists Regions in threads of their own; a buffer takes one target's rows at a time.
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def on_listed(self, target: Target, numbers: Sequence[PhoneNumber]) -> None:
        """The observer's hook: a target's listing, streamed into its Regions' inventory buffers."""
        if self.unavailable is not None or not self.collect_inventory:
            return
        with self._lock:
            self._stream(target, numbers)

    def _stream(self, target: Target, numbers: Sequence[PhoneNumber]) -> None:
        by_region: dict[str, list[PhoneNumber]] = {}
        # A target's numbers are in its home Region: no number's ARN is parsed for them.
        home_region, home = target.home_region, _number_arn_prefix(target)
        for number in sorted(numbers, key=attrgetter("arn")):
            region = home_region if number.arn.startswith(home) else number.region
            by_region.setdefault(region, []).append(number)
        observed_at = iso(self.started_at)
        for region, listed in by_region.items():
            buffer = self._buffer(region)
            for start in range(0, len(listed), ROWS_PER_CHUNK):  # a few MB of rows at a time, at most
                chunk = listed[start : start + ROWS_PER_CHUNK]
                buffer.add(inventory_lines(chunk, target, self.first_seen, self.run_id, observed_at))

    def on_described(self, answers: Sequence[Described]) -> None:
        """What DescribePhoneNumber answered tonight (answers that hold a number): the run's details rows.
        A number described twice keeps its later answer."""
        if self.unavailable is not None:
            return
        with self._lock:
            self.described.update((answer.number.arn, answer) for answer in answers if answer.number is not None)

    def details(self) -> list[EncodedObject]:
        """The details objects, one per Region, rows in number ARN order: a retry writes the same bytes."""
        by_region: dict[str, list[Described]] = {}
        for arn, answer in sorted(self.described.items()):
            by_region.setdefault(Arn.parse(arn).region, []).append(answer)
        date, described_at = run_date(self.started_at), iso(self.started_at)
        return [
            encode(
                DETAILS.key({"account": self.account, "region": region, "run_date": date}, self.run_id),
                details_lines(answers, self.run_id, described_at),
            )
            for region, answers in sorted(by_region.items())
        ]

    def _buffer(self, region: str) -> JsonLinesGzip:
        buffer = self.buffers.get(region)
        if buffer is None:
            partition = {"account": self.account, "region": region, "run_date": run_date(self.started_at)}
            buffer = self.buffers[region] = JsonLinesGzip(INVENTORY.key(partition, self.run_id))
        return buffer

    def finish(
        self,
        runs: RunLog,
        outbox: Outbox,
        messages: Sequence[OutboxMessage],
        summary: RunSummary,
        full: bool,
        checkpoint: Callable[[str], None],
    ) -> ArchiveOutcome:
        """Write what earlier runs left unarchived (their changes read back from the outbox), then this
        run's evidence, with `messages`, every message this run wrote (`Writer.run_messages`)."""
        if self.unavailable is not None:
            logger.error("Archive unavailable: no evidence written this run", extra={"reason": self.unavailable})
            return ArchiveOutcome(status=ArchiveStatus.FAILED, note=self.unavailable)
        writer = EvidenceWriter(self.archive, self.account, checkpoint, self.head)
        backfilled: list[str] = []
        try:
            for record in self._unarchived(runs):
                row = _run_row(record.run_id, record.started_at, record.status.value, False, LATE, record.summary)
                stored = [s.message for s in outbox.run_messages(self.account, record.run_id)]
                writer.write(record.run_id, record.started_at, [], _changes(stored), row)
                backfilled.append(record.run_id)
            inventory = [buffer.close() for _, buffer in sorted(self.buffers.items())] if full else []
            note = None if full else self._why_no_inventory(summary)
            facts = summary.model_dump(mode="json", include=set(RUN_FACTS))
            row = _run_row(self.run_id, self.started_at, summary.status.value, full, note, facts)
            observations = [*inventory, *self.details()]
            writer.write(self.run_id, self.started_at, observations, _changes(messages), row)
        except _ARCHIVE_ERRORS as exc:
            logger.error("The archive refused the evidence; the next run writes the rest", extra={"error": str(exc)})
            return ArchiveOutcome(
                status=ArchiveStatus.FAILED, note=str(exc), backfilled_runs=backfilled, **writer.counts()
            )
        assert writer.head is not None
        return ArchiveOutcome(
            status=ArchiveStatus.WRITTEN,
            full_inventory=full,
            note="; ".join(filter(None, [note, *self.notes])),
            manifest_key=writer.head.key,
            manifest_sha256=writer.head.sha256,
            backfilled_runs=backfilled,
            **writer.counts(),
        )

    def _unarchived(self, runs: RunLog) -> list[RunRecord]:
        """Runs after the chain's head, other than this one, that have no manifest (oldest first). With no
        chain yet there is nothing to catch up on: history from before the archive cannot be invented."""
        if self.head_started_at is None:
            return []
        since = self.head_started_at  # to the second, as manifest keys keep it
        recent = runs.recent_runs(self.account, RECENT_RUNS_CHECKED)
        missing = [
            r
            for r in recent
            if r.run_id != self.run_id
            and r.run_id not in self.archived
            and r.status in ARCHIVED_STATUSES
            and r.started_at.replace(microsecond=0) >= since
        ]
        return sorted(missing, key=attrgetter("started_at"))

    def _why_no_inventory(self, summary: RunSummary) -> str:
        if summary.limited_to:
            return "a limited run (named targets only): no inventory"
        return "a partial run (a target unobserved, or out of time): no inventory"


def _number_arn_prefix(target: Target) -> str:
    arn = Arn.parse(target.arn)
    return f"arn:{arn.partition}:connect:{arn.region}:{arn.account}:phone-number/"


def has_manifest(archive: Archive, account: str, run_id: str) -> bool:
    """Whether the run's evidence is written (its manifest is written after its objects)."""
    return any(manifest_run_id(k) == run_id for k in archive.keys(manifest_prefix(account)))


def open_archive(
    archive: Archive, account: str, run_id: str, started_at: datetime, collect_inventory: bool
) -> ArchiveSession:
    """The account's chain head and every number's first_seen, read before the scan starts."""
    session = ArchiveSession(archive, account, run_id, started_at, collect_inventory)
    try:
        keys = [k for k in archive.keys(manifest_prefix(account)) if manifest_run_id(k) != run_id]
        if not keys:
            return session
        body = archive.get(keys[-1])
        session.head = Link(keys[-1], sha256_of(body))
        session.head_started_at = manifest_started_at(keys[-1])
        session.archived = {manifest_run_id(k) for k in keys}
        if collect_inventory:
            session.first_seen = _first_seen(archive, body, session.notes)
    except _ARCHIVE_ERRORS as exc:
        # Unreadable now (S3 refuses, or is down): write nothing rather than a wrong first_seen.
        session.unavailable = f"the archive could not be read: {exc}"
    return session


def _first_seen(archive: Archive, head: bytes, notes: list[str]) -> dict[str, str]:
    """number ARN -> first_seen: the newest full inventory's, then the claims and releases of the
    runs after it (in order): a released number that comes back is seen anew. Evidence that is missing
    or damaged (a tampered archive) cannot stop the run: first_seen restarts, and the summary says why."""
    try:
        return _first_seen_from(archive, Manifest.decode(head), notes)
    except (ArchiveMissing, ValueError, KeyError, TypeError, zlib.error) as exc:
        logger.error("Archived evidence unreadable: first_seen restarts", extra={"error": repr(exc)})
        notes.append(f"archived evidence unreadable ({exc!r}): first_seen restarts with this run")
        return {}


def _first_seen_from(archive: Archive, head: Manifest, notes: list[str]) -> dict[str, str]:
    since: list[Manifest] = []
    manifest: Manifest | None = head
    while manifest is not None and not manifest.full_inventory and len(since) < WALK_LIMIT:
        since.append(manifest)
        manifest = None if manifest.previous is None else Manifest.decode(archive.get(manifest.previous.key))
    first_seen: dict[str, str] = {}
    if manifest is None or not manifest.full_inventory:
        notes.append("no full inventory in the archive to take first_seen from: it starts with this run")
    else:
        for entry in manifest.objects:
            if entry.key in manifest.inventory_keys:
                body = archive.get(entry.key)
                if sha256_of(body) != entry.sha256:
                    notes.append(f"{entry.key} does not match its manifest: first_seen of its numbers restarts")
                    logger.error("Archived inventory does not match its manifest", extra={"key": entry.key})
                    continue
                first_seen.update(first_seen_of(body))
    for later in reversed(since):
        for key in later.change_keys:
            for row in rows_of(archive.get(key)):
                if row["change_type"] == "RELEASED":
                    first_seen.pop(row["phone_number_arn"], None)
                elif row["change_type"] == "CLAIMED":
                    first_seen.setdefault(row["phone_number_arn"], row["observed_at"])
    return first_seen


def _changes(messages: Sequence[OutboxMessage]) -> list[dict[str, Any]]:
    """A run's change events, by event id."""
    bodies = [m.body for m in messages if m.event_type is EventType.NUMBER_CHANGE]
    return sorted(bodies, key=lambda body: str(body["event_id"]))


def _run_row(
    run_id: str, started_at: datetime, status: str, full: bool, note: str | None, facts: dict[str, Any]
) -> RunRow:
    return RunRow(
        run_id=run_id,
        started_at=iso(started_at),
        status=status,
        full_inventory=full,
        note=note,
        targets_scanned=int(facts.get("targets_scanned", 0)),
        targets_unobserved=len(facts.get("targets_unobserved", [])),
        numbers_observed=int(facts.get("numbers_observed", 0)),
        changes={},
    )


@dataclass
class EvidenceWriter:
    """Writes runs' evidence in order, each manifest chained to the one before."""

    archive: Archive
    account: str
    checkpoint: Callable[[str], None]
    head: Link | None
    objects: int = 0
    size: int = 0

    def counts(self) -> dict[str, int]:
        return {"objects_written": self.objects, "bytes_written": self.size}

    def write(
        self,
        run_id: str,
        started_at: datetime,
        observations: Sequence[EncodedObject],
        changes: list[dict[str, Any]],
        row: RunRow,
    ) -> None:
        """One run's evidence: `observations` (its inventory and details objects, encoded), its changes, its
        manifest, its runs row."""
        date = run_date(started_at)
        by_region: dict[str, list[dict[str, Any]]] = {}
        for body in changes:
            by_region.setdefault(str(body["region"]), []).append(body)
        change_objects = [
            encode(self._key(CHANGES, run_id, date, region), map(change_line, bodies))
            for region, bodies in sorted(by_region.items())
        ]
        counted = Counter(str(body["change_type"]) for body in changes)
        row = replace(row, changes=dict(counted))
        runs_object = encode(self._key(RUNS, run_id, date), [row.line()])
        for encoded in (*observations, *change_objects):
            self._put(encoded.key, encoded.body, encoded.sha256)
        self.checkpoint("archive_objects_written")
        manifest = Manifest(
            account=self.account,
            run_id=run_id,
            started_at=iso(started_at),
            status=row.status,
            full_inventory=row.full_inventory,
            note=row.note,
            objects=tuple(Entry.of(o) for o in (*observations, *change_objects, runs_object)),
            previous=self.head,
        )
        manifest_body = manifest.encode()
        key = manifest_key(self.account, run_id, started_at)
        self._put(key, manifest_body, sha256_of(manifest_body))
        # Last: a runs row is never without its manifest (the README's queries trust runs rows).
        self._put(runs_object.key, runs_object.body, runs_object.sha256)
        self.head = Link(key, sha256_of(manifest_body))

    def _key(self, table: Table, run_id: str, date: str, region: str | None = None) -> str:
        partition = {"account": self.account, "run_date": date, **({"region": region} if region else {})}
        return table.key(partition, run_id)

    def _put(self, key: str, body: bytes, sha256: str) -> None:
        self.archive.put(key, body, sha256)
        self.objects += 1
        self.size += len(body)
