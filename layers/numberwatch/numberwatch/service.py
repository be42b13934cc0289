"""ScanService: one run of the nightly scan, against the ports.

A run, step by step (each step safe to repeat):
 1. take the lease (not for a dry run); publish what earlier runs left unsent
 2. discover instances and TDGs in every configured Region
 3. list each target's numbers, fingerprint them, and load the snapshot of changed buckets only
 4. plan the changes (diff.plan): MOVE across targets, deferred and held releases
 5. write, per target, numbers and their outbox records in transactions; the target's record last
 6. write the run's bookkeeping: digest, baseline summary, scope, run record
 7. publish the outbox, marking each batch sent; release the lease
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta

from .diff import Observation, ReleasePolicy, TargetPlan, arrivals_of, plan
from .digest import build_baseline, build_digest, build_mass_release_alert
from .events import OutboxMessage, change_from_event, number_event
from .fingerprint import BUCKETS, bucket_of, changed_buckets, fingerprints, total_count
from .models import (
    Arn,
    Change,
    ChangeType,
    HeldRelease,
    PhoneNumber,
    RunStatus,
    RunSummary,
    ScanRequest,
    Target,
    TargetRecord,
    Unobserved,
)
from .observability import logger
from .ports import (
    DeleteTarget,
    Discovery,
    Inventory,
    Mutation,
    OutOfTime,
    Publisher,
    PutMessage,
    PutNumber,
    PutRun,
    PutScope,
    PutTarget,
    RunRecord,
    ScopeRecord,
    SnapshotStore,
    TargetUnavailable,
)
from .settings import Settings

PREVIEW_LIMIT = 50
# Above this many changed buckets, a target's snapshot is loaded in one query, not bucket by bucket.
WHOLE_TARGET_LOAD = BUCKETS // 4
RECENT_RUNS_CHECKED = 10


def utc_now() -> datetime:
    return datetime.now(UTC)


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def no_checkpoint(step: str) -> None:
    """Production passes no kill switch; tests pass one that raises at a named step."""


@dataclass(frozen=True)
class RunContext:
    run_id: str
    remaining_ms: Callable[[], int]
    now: Callable[[], datetime] = utc_now


@dataclass
class _Run:
    """The state of one run as it goes."""

    request: ScanRequest
    context: RunContext
    account: str
    started_at: datetime
    summary: RunSummary
    names: dict[str, str] = field(default_factory=dict)
    unobserved: list[Unobserved] = field(default_factory=list)
    held: list[HeldRelease] = field(default_factory=list)
    deferred: int = 0
    stopped: bool = False

    @property
    def run_id(self) -> str:
        return self.context.run_id

    @property
    def observed_at(self) -> str:
        return iso(self.started_at)


class ScanService:
    def __init__(
        self,
        inventory: Inventory,
        store: SnapshotStore,
        publisher: Publisher,
        settings: Settings,
        account_id: Callable[[], str],
        checkpoint: Callable[[str], None] = no_checkpoint,
    ) -> None:
        self.inventory = inventory
        self.store = store
        self.publisher = publisher
        self.settings = settings
        self.account_id = account_id
        self.checkpoint = checkpoint

    # ------------------------------------------------------------------- run
    def run(self, request: ScanRequest, context: RunContext) -> RunSummary:
        clock = time.monotonic()
        account = self.account_id()
        summary = RunSummary(
            run_id=context.run_id,
            status=RunStatus.DRY_RUN if request.dry_run else RunStatus.COMPLETED,
            account=account,
            regions=self.settings.regions,
            dry_run=request.dry_run,
            limited_to=request.targets,
        )
        run = _Run(request, context, account, context.now(), summary)
        if not request.dry_run:
            lease = self.store.acquire_lease(
                account, context.run_id, run.started_at, run.started_at + timedelta(seconds=self.settings.lease_seconds)
            )
            if not lease.acquired:
                summary.status = RunStatus.SKIPPED
                summary.message = (
                    f"another run ({lease.owner}) holds the lease until {iso(lease.expires_at)}: nothing done"
                )
                logger.warning("Lease held by another run; exiting", extra={"holder": lease.owner})
                return self._finish(summary, clock)
            run.started_at = lease.started_at
            if lease.resumed:
                logger.info("Resuming this invocation's own run after a retry")
            else:
                self._write(run, [PutRun(RunRecord(account, run.run_id, run.started_at, "RUNNING"))])
            self._recover_abandoned_runs(run)
            self._publish(run)
        self._scan(run)
        if not request.dry_run:
            self._publish(run)
            self.checkpoint("after_publish")
            self.store.release_lease(account, context.run_id)
        return self._finish(summary, clock)

    def _finish(self, summary: RunSummary, clock: float) -> RunSummary:
        summary.connect_api_calls = self.inventory.api_calls
        summary.duration_ms = int((time.monotonic() - clock) * 1000)
        return summary

    def _out_of_time(self, run: _Run) -> bool:
        if run.context.remaining_ms() < self.settings.time_reserve_seconds * 1000:
            if not run.stopped:
                logger.warning("Stopping before the Lambda timeout; the rest is finished next run")
            run.stopped = True
        return run.stopped

    # ------------------------------------------------------------------ scan
    def _scan(self, run: _Run) -> None:
        discoveries = []
        for region in self.settings.regions:
            try:
                discoveries.append(self.inventory.discover(region))
            except OutOfTime:
                run.stopped = True
                break
        targets = self._targets(run, discoveries)
        discovery_failed = {d.region for d in discoveries if d.failures}
        for discovery in discoveries:
            for failure in discovery.failures:
                logger.warning("Discovery incomplete", extra={"region": discovery.region, "reason": failure})
        scope_regions = sorted(set(self.settings.regions) | {t.home_region for t in targets})
        known: dict[str, TargetRecord] = {}
        baseline_regions = set()
        for region in scope_regions:
            known.update(self.store.targets(run.account, region))
            scope = self.store.scope(run.account, region)
            if scope is None or not scope.baseline_complete:
                baseline_regions.add(region)
        run.names.update({arn: record.target.name for arn, record in known.items()})
        run.names.update({t.arn: t.name for t in targets})

        observations = self._observe(run, targets, known, baseline_regions)
        listed = {t.arn for t in targets}
        gone = [record for arn, record in sorted(known.items()) if arn not in listed]
        if run.request.targets or run.stopped:
            pass  # a limited or cut-short run says nothing of targets it did not look for
        elif discovery_failed:
            reason = f"discovery incomplete in {', '.join(sorted(discovery_failed))}"
            run.unobserved.extend(Unobserved(record.target.arn, reason) for record in gone)
        else:
            for record in gone:
                logger.info("Target no longer listed: its numbers depart", extra={"target": record.target.arn})
                numbers = self.store.target_numbers(record.target.arn)
                observations.append(Observation(record.target, record, {}, {}, numbers, vanished=True))

        deferred_regions = set(discovery_failed)
        for unobserved in run.unobserved:
            if unobserved.target_arn.startswith("arn:"):
                deferred_regions.add(Arn.parse(unobserved.target_arn).region)
            if unobserved.target_arn in known:
                deferred_regions.update(known[unobserved.target_arn].target.regions)
        policy = ReleasePolicy(
            run_id=run.run_id,
            mass_release_share=self.settings.mass_release_share,
            mass_release_min_numbers=self.settings.mass_release_min_numbers,
            defer_all=bool(run.request.targets) or run.stopped,
            deferred_regions=frozenset(deferred_regions),
        )
        elsewhere = self.store.numbers(sorted(arrivals_of(o for o in observations if not o.baseline)))
        plans = plan(observations, elsewhere, policy)
        self._summarise(run, observations, plans)
        self.checkpoint("after_diff")
        if run.request.dry_run:
            return
        records = {o.target.arn: o.record for o in observations}
        for target_plan in plans:
            if not target_plan.changes and target_plan.record == records[target_plan.target.arn]:
                continue  # a quiet target: nothing to write, not even its record
            if not self._apply(run, target_plan):
                break
        self.checkpoint("after_snapshot_write")
        self._bookkeeping(run, observations, baseline_regions, discovery_failed)

    def _targets(self, run: _Run, discoveries: list[Discovery]) -> list[Target]:
        """Every discovered target once (a TDG is seen from both of its Regions), allow-list applied."""
        merged: dict[str, Target] = {}
        for discovery in discoveries:
            for target in discovery.targets:
                seen = merged.get(target.arn)
                if seen is not None:
                    regions = tuple(dict.fromkeys((*seen.regions, *target.regions)))
                    target = Target(seen.arn, seen.kind, seen.name, seen.instance_arn, regions)
                merged[target.arn] = target
        targets = sorted(merged.values(), key=lambda t: t.arn)
        wanted = run.request.targets
        if not wanted:
            return targets
        chosen = [t for t in targets if t.arn in wanted or Arn.parse(t.arn).resource_id in wanted]
        found = {t.arn for t in chosen} | {Arn.parse(t.arn).resource_id for t in chosen}
        for reference in wanted:
            if reference not in found:
                run.unobserved.append(Unobserved(reference, "not found by discovery in the configured Regions"))
        return chosen

    def _observe(
        self, run: _Run, targets: list[Target], known: dict[str, TargetRecord], baseline_regions: set[str]
    ) -> list[Observation]:
        observations = []
        for target in targets:
            if self._out_of_time(run):
                run.summary.targets_not_reached += 1
                continue
            try:
                numbers = self.inventory.list_numbers(target)
            except TargetUnavailable as exc:
                logger.warning("Target not observed", extra={"target": target.arn, "reason": exc.reason})
                run.unobserved.append(Unobserved(target.arn, exc.reason))
                continue
            except OutOfTime:
                run.stopped = True
                run.summary.targets_not_reached += 1
                continue
            run.summary.targets_scanned += 1
            run.summary.numbers_observed += len(numbers)
            run.summary.numbers_by_target[target.arn] = len(numbers)
            current = fingerprints(numbers)
            record = known.get(target.arn)
            changed = changed_buckets(current, record.buckets if record else {})
            by_bucket: dict[str, dict[str, PhoneNumber]] = {b: {} for b in changed}
            for number in numbers:
                bucket = by_bucket.get(bucket_of(number.arn))
                if bucket is not None:
                    bucket[number.arn] = number
            if len(changed) > WHOLE_TARGET_LOAD:
                # Most buckets changed (a first run, a baseline resumed): one query beats many.
                everything = self.store.target_numbers(target.arn)
                recorded = {b: everything.get(b, {}) for b in changed}
            else:
                recorded = {b: self.store.bucket(target.arn, b) for b in changed}
            run.summary.buckets_reloaded += len(changed)
            observations.append(
                Observation(
                    target, record, current, by_bucket, recorded, baseline=target.home_region in baseline_regions
                )
            )
        return observations

    def _summarise(self, run: _Run, observations: list[Observation], plans: list[TargetPlan]) -> None:
        summary = run.summary
        counts: Counter[str] = Counter()
        for target_plan in plans:
            summary.baseline_numbers += target_plan.baseline_numbers
            run.deferred += target_plan.deferred
            if target_plan.held:
                run.held.append(target_plan.held)
            for _, change in target_plan.changes:
                if change is not None:
                    counts[change.change_type.value] += 1
                    if len(summary.preview) < PREVIEW_LIMIT:
                        summary.preview.append(
                            {
                                "change_type": change.change_type.value,
                                "phone_number": change.current.number,
                                "phone_number_arn": change.number_arn,
                                "changed_fields": list(change.changed_fields),
                            }
                        )
        summary.changes = {t.value: counts[t.value] for t in ChangeType}
        summary.releases_held = sum(h.count for h in run.held)
        summary.releases_deferred = run.deferred
        summary.targets_unobserved = [{"target_arn": u.target_arn, "reason": u.reason} for u in run.unobserved]
        modes = {o.baseline for o in observations if not o.vanished}
        if modes == {True}:
            summary.mode = "BASELINE"
        elif modes == {False}:
            summary.mode = "INCREMENTAL"
        elif modes:
            summary.mode = "MIXED"
        if run.stopped or run.unobserved:
            summary.status = RunStatus.DRY_RUN if run.request.dry_run else RunStatus.PARTIAL

    # --------------------------------------------------------------- writes
    def _expiry(self, run: _Run) -> int:
        return int((run.started_at + timedelta(days=self.settings.history_retention_days)).timestamp())

    def _outbox(self, run: _Run, message: OutboxMessage) -> PutMessage:
        """An outbox record, kept as history for the retention period."""
        return PutMessage(replace(message, expires_at=self._expiry(run)))

    def _write(self, run: _Run, mutations: Sequence[Mutation]) -> None:
        self.store.write(run.account, run.run_id, mutations)

    def _apply(self, run: _Run, target_plan: TargetPlan) -> bool:
        """Write one target's plan in transactions; the target's record goes in the last one.
        Returns False when the run must stop (out of time): the target keeps its old record."""
        expires_at = self._expiry(run)
        groups: list[list[Mutation]] = []
        for snapshot, change in target_plan.changes:
            group: list[Mutation] = [PutNumber(snapshot, expires_at if snapshot.released else None)]
            if change is not None:
                message = number_event(change, run.account, run.run_id, run.observed_at, run.names)
                group.append(self._outbox(run, message))
            groups.append(group)
        if target_plan.held and target_plan.alert:
            alert = build_mass_release_alert(run.account, run.run_id, run.observed_at, target_plan.held, run.names)
            groups.append([self._outbox(run, alert)])
        final: Mutation = (
            PutTarget(target_plan.record) if target_plan.record is not None else DeleteTarget(target_plan.target)
        )
        groups.append([final])
        chunks = list(self._chunks(groups))
        for index, chunk in enumerate(chunks):
            if self._out_of_time(run):
                return False
            self._write(run, chunk)
            if index < len(chunks) - 1:
                self.checkpoint("between_transactions")
        return True

    def _chunks(self, groups: list[list[Mutation]]) -> Iterator[list[Mutation]]:
        limit = self.store.max_items_per_write
        chunk: list[Mutation] = []
        for group in groups:
            if chunk and len(chunk) + len(group) > limit:
                yield chunk
                chunk = []
            chunk.extend(group)
        if chunk:
            yield chunk

    def _bookkeeping(
        self, run: _Run, observations: list[Observation], baseline_regions: set[str], discovery_failed: set[str]
    ) -> None:
        """The run's last transaction: baseline summary and scopes, digest, run record."""
        mutations: list[Mutation] = []
        completed = sorted(
            region
            for region in baseline_regions
            if not run.stopped
            and not run.request.targets
            and region not in discovery_failed
            and not any(
                Arn.parse(u.target_arn).region == region for u in run.unobserved if u.target_arn.startswith("arn:")
            )
        )
        if completed:
            counts = {
                o.target.arn: total_count(o.fingerprints)
                for o in observations
                if not o.vanished and o.target.home_region in completed
            }
            baseline = build_baseline(run.account, run.run_id, run.observed_at, completed, counts, run.names)
            if not self.store.has_message(run.account, baseline):
                mutations.append(self._outbox(run, baseline))
            mutations.extend(PutScope(ScopeRecord(run.account, region, True)) for region in completed)
        changes = [change_from_event(body) for body in self.store.run_changes(run.account, run.run_id)]
        digest = build_digest(
            run.account, run.run_id, run.observed_at, changes, run.unobserved, run.held, run.deferred, run.names
        )
        if digest is not None and not self.store.has_message(run.account, digest):
            # A retry of this run after its digest was written must not send it again.
            mutations.append(self._outbox(run, digest))
        summary = run.summary.model_dump(mode="json", exclude={"preview"})
        mutations.append(PutRun(RunRecord(run.account, run.run_id, run.started_at, run.summary.status.value, summary)))
        self._write(run, mutations)

    def _recover_abandoned_runs(self, run: _Run) -> None:
        """A run that died and was not retried left its changes unreported in a digest: send one now."""
        for record in self.store.recent_runs(run.account, RECENT_RUNS_CHECKED):
            if record.status != "RUNNING" or record.run_id == run.run_id:
                continue
            changes: list[Change] = [change_from_event(b) for b in self.store.run_changes(run.account, record.run_id)]
            logger.warning("Recovering an interrupted run", extra={"interrupted_run": record.run_id})
            mutations: list[Mutation] = [
                PutRun(RunRecord(run.account, record.run_id, record.started_at, "INTERRUPTED", record.summary))
            ]
            digest = build_digest(run.account, record.run_id, iso(record.started_at), changes, [], [], 0, run.names)
            if digest is not None:
                mutations.append(self._outbox(run, digest))
            self._write(run, mutations)

    # -------------------------------------------------------------- publish
    def _publish(self, run: _Run) -> None:
        """Publish the outbox in batches; each batch is marked sent once SNS took it."""
        while not self._out_of_time(run):
            pending = self.store.unsent(run.account, limit=100)
            if not pending:
                return
            for batch in batches(pending, self.publisher.max_batch):
                if self._out_of_time(run):
                    break
                result = self.publisher.publish(batch)
                self.checkpoint("published_batch")
                sent = [m for m in batch if m.message_id in result.sent]
                self.store.mark_sent(run.account, sent)
                run.summary.messages_published += len(sent)
                if result.failed:
                    logger.error("Messages not published; they stay in the outbox", extra={"failed": result.failed})
                    run.summary.messages_pending = len(result.failed)
                    return
        run.summary.messages_pending = len(self.store.unsent(run.account, limit=100))


def batches(
    messages: Sequence[OutboxMessage], size: int, byte_limit: int = 256 * 1024
) -> Iterator[list[OutboxMessage]]:
    """Consecutive batches of at most `size` messages and `byte_limit` bytes in all."""
    batch: list[OutboxMessage] = []
    used = 0
    for message in messages:
        length = len(message.envelope.encode())
        if batch and (len(batch) == size or used + length > byte_limit):
            yield batch
            batch, used = [], 0
        batch.append(message)
        used += length
    if batch:
        yield batch
