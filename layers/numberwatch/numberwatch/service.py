"""ScanService: one run of the nightly scan. It only sequences the phases; each is a unit of its own.

 1. lease (not for a dry run); record the run RUNNING; recover interrupted runs; publish leftovers
 2. discover (phases.discover): every instance and TDG of the configured Regions
 3. observe (phases.observe): list each target, fingerprint it, read back its changed buckets
 4. plan (diff.plan): the changes, across targets; departures become candidate releases
 5. confirm (phases.confirm): DescribePhoneNumber settles each candidate, within a nightly budget
 6. details (phases.details): tags and status of what changed, and of the rest in rotation (same budget);
    attribute (phases.attribute): who made each change, from CloudTrail
 7. write (phases.write): per target, numbers with their messages in transactions, the record last
 8. record (phases.record): baseline summary, scopes, digest, run record
 9. publish (phases.publish): this run's messages from memory; chat copies of those for people (phases.chat)
10. archive (phases.archive, when configured): the evidence, write-once; on the first run of a month,
    the report of the month before (phases.report); release the lease
Every step is safe to repeat: a retry of the same invocation resumes its own run.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from . import diff
from .digest import Holdings, Night, build_baseline, build_digest, build_mass_release_alert
from .events import OutboxMessage, finding_event, number_event
from .fingerprint import ROTATION_SLOTS, total_count, verified_buckets
from .models import (
    ArchiveOutcome,
    ArchiveStatus,
    Change,
    ChangeType,
    Finding,
    HeldRelease,
    ReportOutcome,
    ReportStatus,
    RunMode,
    RunStatus,
    RunSummary,
    ScanRequest,
    TargetRecord,
    Unobserved,
)
from .observability import logger
from .phases.archive import ArchiveSession, has_manifest, open_archive
from .phases.attribute import Attribution, attribute_changes
from .phases.chat import copy_to_chat
from .phases.confirm import DescribeBudget, confirm
from .phases.details import Details, completed_slots, refresh_windows
from .phases.discover import Discovered, discover
from .phases.observe import Observed, Observer
from .phases.publish import OutboxPublisher
from .phases.record import changes_of, findings_of, recover_interrupted_runs
from .phases.report import write_last_month
from .phases.write import Writer
from .ports import (
    Archive,
    ArchiveUnavailable,
    Chat,
    Inventory,
    LeaseState,
    Mutation,
    Publisher,
    PutRun,
    PutScope,
    RunRecord,
    ScopeRecord,
    Store,
    Trail,
)
from .report_model import Month
from .run import WRITE_RESERVE_SECONDS, Deadline, RunContext, iso, no_checkpoint
from .settings import Settings

PREVIEW_LIMIT = 50
REPLAY_LOOKBACK_RUNS = 30  # earlier runs read to find whether a run id invoked again was over
FINISHED = (RunStatus.COMPLETED, RunStatus.PARTIAL, RunStatus.INTERRUPTED)  # a run's final records
RESUME_LOOKBACK_RUNS = 5  # earlier runs read to find the latest one not limited to named targets
FIRST_LOOKUP_WINDOW = timedelta(hours=24)  # CloudTrail looked back this far when no earlier run is recorded


@dataclass
class _Run:
    """One run as it goes: who it is, what it has found so far, and its summary."""

    request: ScanRequest
    context: RunContext
    account: str
    started_at: datetime
    summary: RunSummary
    deadline: Deadline
    names: dict[str, str] = field(default_factory=dict)
    unobserved: list[Unobserved] = field(default_factory=list)
    archive: ArchiveSession | None = None
    # A retry holding the lease its earlier attempts held: their run record (same start) is this one's.
    resumed: bool = False

    @property
    def run_id(self) -> str:
        return self.context.run_id

    @property
    def observed_at(self) -> str:
        return iso(self.started_at)


@dataclass
class _Known:
    """What the snapshot holds of the Regions a run touches."""

    records: dict[str, TargetRecord] = field(default_factory=dict)  # target ARN -> its record
    scopes: dict[str, ScopeRecord | None] = field(default_factory=dict)  # Region -> its scope
    previous: RunRecord | None = None  # the latest earlier run
    last_whole: RunRecord | None = None  # the latest earlier run that was not limited to named targets

    @property
    def baseline_regions(self) -> set[str]:
        return {r for r, scope in self.scopes.items() if scope is None or not scope.baseline_complete}

    @property
    def resume_with(self) -> list[str]:
        """The targets the latest whole run did not reach for want of time (a run limited to named targets
        in between leaves them first in line)."""
        return list(self.last_whole.summary.get("resume_with", [])) if self.last_whole is not None else []

    @property
    def cursors(self) -> dict[str, int]:
        """Per Region, the bucket where tonight's rotation of descriptions starts."""
        return {region: scope.refresh_from if scope else 0 for region, scope in self.scopes.items()}


@dataclass
class _Decided:
    """What the run decided, before anything is written."""

    plans: list[diff.TargetPlan]
    attribution: Attribution
    night: Night
    refresh_from: dict[str, int]  # Region -> where the next run's rotation of descriptions starts
    describe_calls: int
    stopped: bool


@dataclass
class _Scan:
    """What the scan decided and wrote, for the record phase."""

    discovered: Discovered
    known: _Known
    plans: list[diff.TargetPlan]
    settled: set[str]  # targets observed and written (or quiet) this run
    cut_short: bool  # some target was not reached for want of time
    refresh_from: dict[str, int]  # Region -> where the next run's rotation of descriptions starts
    night: Night


class ScanService:
    def __init__(
        self,
        inventory: Inventory,
        store: Store,
        publisher: Publisher,
        settings: Settings,
        account_id: Callable[[], str],
        checkpoint: Callable[[str], None] = no_checkpoint,
        trail: Trail | None = None,
        archive: Archive | None = None,
        chat: Chat | None = None,
    ) -> None:
        self.inventory = inventory
        self.store = store
        self.publisher = publisher
        self.settings = settings
        self.account_id = account_id
        self.checkpoint = checkpoint
        self.trail = trail
        self.archive = archive
        self.chat = chat

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
        deadline = Deadline(context.remaining_ms, self.settings.time_reserve_seconds)
        run = _Run(request, context, account, context.now(), summary, deadline)
        if request.dry_run:
            self._scan(run)
            if self.archive is not None:
                summary.archive = ArchiveOutcome(status=ArchiveStatus.NOT_WRITTEN, note="a dry run: nothing archived")
            return self._finish(summary, clock)
        lease = self.store.acquire_lease(
            account, context.run_id, run.started_at, run.started_at + timedelta(seconds=self.settings.lease_seconds)
        )
        if not lease.acquired:
            summary.status = RunStatus.SKIPPED
            summary.message = f"another run ({lease.owner}) holds the lease until {iso(lease.expires_at)}: nothing done"
            logger.warning("Lease held by another run; exiting", extra={"holder": lease.owner})
            return self._finish(summary, clock)
        # Read once under the lease: whether this run id is over, and which earlier runs were interrupted.
        recent = self.store.recent_runs(account, REPLAY_LOOKBACK_RUNS)
        finished = next((r for r in recent if r.run_id == run.run_id and r.status in FINISHED), None)
        if finished is not None and not self._archive_left(account, run.run_id, lease, finished):
            return self._finish(self._replay(run, finished, deadline), clock)
        run.started_at, run.resumed = lease.started_at, lease.resumed
        if self.archive is not None:
            collect = not request.targets
            run.archive = open_archive(self.archive, account, run.run_id, run.started_at, collect)
        expires_at = int((run.started_at + timedelta(days=self.settings.history_retention_days)).timestamp())
        # What earlier attempts of this run id wrote (none, on a first attempt): a Lambda retry resumes the
        # lease it held, but an attempt after the lease was released that finds no final record of
        # the run (it died before writing one) does not, and must still count, and not repeat, them.
        earlier = self.store.run_messages(account, run.run_id)
        writer = Writer(
            self.store, account, run.run_id, expires_at, deadline, self.checkpoint, [s.message for s in earlier]
        )
        outbox = OutboxPublisher(self.store, self.publisher, account, deadline, self.checkpoint)
        if lease.resumed:
            logger.info("Resuming this invocation's own run after a retry")
        else:
            writer.write([PutRun(RunRecord(account, run.run_id, run.started_at, RunStatus.RUNNING))])
        outbox.publish([s.message for s in earlier if s.unsent])
        recovered = recover_interrupted_runs(recent, self.store, account, run.run_id, run.names)
        if recovered.records:
            writer.write([*recovered.records, *map(writer.message, recovered.digests)])
        outbox.publish([*recovered.unsent, *writer.written])
        outbox.publish_leftovers()
        scan = self._scan(run, writer)
        if scan is not None:
            self._record(run, writer, scan)
        outbox.publish(writer.written)
        self.checkpoint("after_publish")
        summary.messages_published = len(outbox.sent) - len(outbox.set_aside)
        summary.messages_pending = outbox.pending
        summary.messages_set_aside = outbox.set_aside
        chatted = copy_to_chat(self.chat, outbox.delivered)
        summary.chat_messages_sent, summary.chat_messages_failed = chatted.sent, chatted.failed
        if run.archive is not None:
            full = not request.targets and summary.status is RunStatus.COMPLETED
            summary.archive = run.archive.finish(
                self.store, self.store, writer.run_messages(), summary, full, self.checkpoint
            )
            summary.monthly_report = self._report(run, summary.archive)
        if self.settings.alert_email is not None:
            summary.alert_subscription = self.publisher.subscription(self.settings.alert_email).value
        self.store.release_lease(account, context.run_id)
        return self._finish(summary, clock)

    def _report(self, run: _Run, archived: ArchiveOutcome) -> ReportOutcome:
        """Last month's report, once: after this run's evidence, so that it is in the report."""
        assert self.archive is not None
        if archived.status is not ArchiveStatus.WRITTEN:
            month = str(Month.before(run.started_at))
            note = "the archive refused this run's evidence: the next run writes the report"
            return ReportOutcome(status=ReportStatus.NOT_WRITTEN, month=month, note=note)
        settings = self.settings
        return write_last_month(
            self.archive, run.account, run.started_at, run.deadline, settings.number_prices, settings.required_tag_keys
        )

    def _archive_left(self, account: str, run_id: str, lease: LeaseState, finished: RunRecord) -> bool:
        """Whether a run that is over must still run again, for its evidence, which needs the scan: only a
        retry holding the run's own lease (same start time, so it died after its record, before its
        release) whose manifest is not written yet."""
        if self.archive is None or not (lease.resumed and lease.started_at == finished.started_at):
            return False
        try:
            return not has_manifest(self.archive, account, run_id)
        except ArchiveUnavailable:
            return True  # unreadable now: run again, and the archive phase says why it wrote nothing

    def _replay(self, run: _Run, finished: RunRecord, deadline: Deadline) -> RunSummary:
        """A run id invoked again after its run was over (an event delivered twice, a retry after a
        failure that followed its record, a redriven step). It scans nothing again: a change made since
        is the next run's to report, under that run's time, with its evidence. It publishes what the run
        left unsent (with their chat copies) and answers with the run's recorded summary."""
        account, run_id = run.account, run.run_id
        earlier = self.store.run_messages(account, run_id)
        outbox = OutboxPublisher(self.store, self.publisher, account, deadline, self.checkpoint)
        try:
            outbox.publish([s.message for s in earlier if s.unsent])
        finally:
            self.store.release_lease(account, run_id)
        chatted = copy_to_chat(self.chat, outbox.delivered)
        if finished.summary:
            summary = RunSummary.model_validate({**finished.summary, "run_id": run_id, "status": finished.status})
        else:  # an interrupted run's record keeps no summary: its messages tell its changes
            summary = run.summary.model_copy(update={"status": finished.status})
            summary.message = "the run was interrupted; a later run reported what it had written"
            for change in changes_of([s.message for s in earlier]):
                summary.changes[change.change_type.value] += 1
        summary.replayed = True
        summary.messages_published += len(outbox.sent) - len(outbox.set_aside)
        summary.messages_pending = outbox.pending
        summary.messages_set_aside += outbox.set_aside
        summary.chat_messages_sent += chatted.sent
        summary.chat_messages_failed += chatted.failed
        logger.info(
            "This run was over: nothing scanned again",
            extra={"started_at": iso(finished.started_at), "published": len(outbox.sent)},
        )
        return summary

    def _finish(self, summary: RunSummary, clock: float) -> RunSummary:
        summary.connect_api_calls = self.inventory.api_calls
        summary.duration_ms = int((time.monotonic() - clock) * 1000)
        return summary

    # ------------------------------------------------------------------ scan
    def _scan(self, run: _Run, writer: Writer | None = None) -> _Scan | None:
        """Discover, observe, decide, and (unless a dry run) write. None for a dry run."""
        discovered = discover(self.inventory, self.settings.regions, run.request.targets)
        run.unobserved += discovered.unobserved
        known = self._known(run, discovered)
        observed, listings = self._observe(run, discovered, known, writer)
        decided = self._decide(run, known, observed, listings)
        self._summarise(run, observed, decided.plans, decided.describe_calls, decided.stopped, decided.night)
        run.summary.cloudtrail_lookups = decided.attribution.lookups
        self.checkpoint("after_diff")
        if writer is None:
            return None
        settled = self._write(run, writer, decided)
        self.checkpoint("after_snapshot_write")
        cut_short = bool(observed.not_reached)
        return _Scan(discovered, known, decided.plans, settled, cut_short, decided.refresh_from, decided.night)

    def _known(self, run: _Run, discovered: Discovered) -> _Known:
        """What the snapshot holds of every Region the run touches: its scope and its targets' records."""
        known = _Known()
        for region in sorted(set(self.settings.regions) | {t.home_region for t in discovered.targets}):
            known.records.update(self.store.targets(run.account, region))
            known.scopes[region] = self.store.scope(run.account, region)
        earlier = [r for r in self.store.recent_runs(run.account, RESUME_LOOKBACK_RUNS) if r.run_id != run.run_id]
        known.previous = earlier[0] if earlier else None
        known.last_whole = next((r for r in earlier if r.summary and not r.summary.get("limited_to")), None)
        run.names.update({arn: record.target.name for arn, record in known.records.items()})
        run.names.update({t.arn: t.name for t in discovered.targets})
        return known

    def _observe(
        self, run: _Run, discovered: Discovered, known: _Known, writer: Writer | None
    ) -> tuple[Observed, list[diff.Listing]]:
        """Every discovered target listed (a baseline's written as it is listed, unless a dry run), then every
        known target discovery no longer lists, departing."""
        settings = self.settings
        verified = {
            region: verified_buckets(scope.full_runs if scope else 0, settings.full_verification_runs)
            for region, scope in known.scopes.items()
        }
        numbers_by_region: Counter[str] = Counter()
        for record in known.records.values():
            numbers_by_region[record.target.home_region] += record.count
        rotation = refresh_windows(
            known.cursors, numbers_by_region, min(settings.describe_calls_per_run, settings.detail_calls_per_run)
        )
        write_baseline = writer.record_silently if writer is not None else None
        on_listed = run.archive.on_listed if run.archive is not None else None
        # Listing stops early enough to write what it observed; what it did not reach goes first next run.
        observer = Observer(
            self.inventory,
            self.store,
            run.deadline.before(WRITE_RESERVE_SECONDS),
            write_baseline=write_baseline,
            on_listed=on_listed,
        )
        resumed = set(known.resume_with)
        targets = sorted(discovered.targets, key=lambda target: target.arn not in resumed)
        observed = observer.observe(targets, known.records, known.baseline_regions, verified, rotation)
        observed.stopped = observed.stopped or discovered.stopped
        run.unobserved += observed.unobserved
        listings = list(observed.listings)
        if run.request.targets or discovered.stopped:
            return observed, listings  # a limited run, or an incomplete discovery, says nothing of the others
        listed = {t.arn for t in discovered.targets}
        # A Region with a target not listed tonight (for want of time) may hold a departed target's numbers.
        not_reached = set(observed.not_reached)
        cut_short = {t.home_region for t in discovered.targets if t.arn in not_reached}
        departed = []
        for arn, record in sorted(known.records.items()):
            failed = sorted(set(record.target.regions) & discovered.failed_regions.keys())
            if arn in listed or set(record.target.regions) & cut_short:
                continue
            if failed:
                run.unobserved.append(Unobserved(arn, f"discovery incomplete in {', '.join(failed)}"))
            else:
                departed.append(record)
        return observed, listings + observer.departed(departed, first_order=len(listings))

    def _decide(self, run: _Run, known: _Known, observed: Observed, listings: list[diff.Listing]) -> _Decided:
        """Plan, confirm the candidate releases, describe what changed (and the rotation), name who did it."""
        settings = self.settings
        snapshot = self.store.numbers(sorted(set().union(*(listing.suspects for listing in listings))))
        policy = diff.ReleasePolicy(run.run_id, settings.mass_release_share, settings.mass_release_min_numbers)
        plans = diff.plan(listings, snapshot, policy)
        budget = DescribeBudget(settings.describe_calls_per_run)
        candidates = [candidate for target_plan in plans for candidate in target_plan.candidates]
        confirmation = confirm(self.inventory, candidates, budget)
        plans = [diff.settle(target_plan, confirmation.outcomes, policy) for target_plan in plans]
        details = Details(
            self.inventory, self.store, budget.share(settings.detail_calls_per_run), settings.required_tag_keys
        )
        details.of_changes(plans)
        refreshed = details.in_rotation(observed.rotation, plans)
        if run.archive is not None:
            run.archive.on_described(details.answered)
        previous_start = known.previous.started_at if known.previous else run.started_at - FIRST_LOOKUP_WINDOW
        attribution = attribute_changes(self.trail, plans, previous_start, run.context.now())
        refresh_from = {
            region: cursor
            if region in known.baseline_regions
            else (cursor + completed_slots(observed.rotation_windows[region], observed.rotation.get(region, []),
                                           refreshed.described.get(region, 0))) % ROTATION_SLOTS
            for region, cursor in known.cursors.items()
        }  # fmt: skip
        return _Decided(
            plans=plans,
            attribution=attribution,
            night=self._night(run, observed, plans, attribution.note),
            refresh_from=refresh_from,
            describe_calls=budget.calls,
            stopped=observed.stopped or confirmation.stopped or refreshed.stopped,
        )

    def _write(self, run: _Run, writer: Writer, decided: _Decided) -> set[str]:
        """Every target's plan, until the run must stop; the targets settled (written, or quiet)."""
        if decided.night.held:
            # Before the targets' records: a run that dies after them must not hold without alerting.
            self._alert(run, writer, decided.night.held)
        settled: set[str] = set()
        for target_plan in decided.plans:
            if not target_plan.quiet and not writer.apply(
                target_plan, self._event_for(run, decided.attribution), self._finding_for(run)
            ):
                run.summary.status = RunStatus.PARTIAL
                break
            settled.add(target_plan.target.arn)
        return settled

    def _night(self, run: _Run, observed: Observed, plans: Sequence[diff.TargetPlan], attribution: str | None) -> Night:
        prices = self.settings.number_prices
        held_cost, unrouted_cost = prices.estimate(observed.held), prices.estimate(observed.unrouted)
        deferred: Counter[str] = Counter()
        for target_plan in plans:
            deferred += target_plan.deferred
        return Night(
            unobserved=list(run.unobserved),
            partly_observed=observed.partly_observed,
            held=[p.held for p in plans if p.held is not None],
            deferred=dict(deferred),
            findings=[finding for p in plans for finding in p.findings],
            holdings=Holdings(
                numbers=sum(observed.held.values()),
                unrouted=sum(observed.unrouted.values()),
                monthly_cost=held_cost.monthly,
                unrouted_monthly_cost=unrouted_cost.monthly,
                unpriced=held_cost.unpriced,
                currency=prices.currency,
                prices=prices.describe_source(),
            ),
            attribution=attribution,
        )

    def _event_for(self, run: _Run, attribution: Attribution) -> Callable[[Change], OutboxMessage]:
        def event(change: Change) -> OutboxMessage:
            why = attribution.why_unattributed(change)
            return number_event(change, run.account, run.run_id, run.observed_at, run.names, why)

        return event

    def _finding_for(self, run: _Run) -> Callable[[Finding], OutboxMessage]:
        return lambda finding: finding_event(finding, run.account, run.run_id, run.observed_at)

    def _alert(self, run: _Run, writer: Writer, held: list[HeldRelease]) -> None:
        alert = build_mass_release_alert(run.account, run.run_id, run.observed_at, held, run.names)
        if not writer.has_written(alert):
            writer.write([writer.message(alert)])

    def _summarise(
        self,
        run: _Run,
        observed: Observed,
        plans: Sequence[diff.TargetPlan],
        describe_calls: int,
        stopped: bool,
        night: Night,
    ) -> None:
        summary = run.summary
        counts: Counter[str] = Counter()
        for target_plan in plans:
            summary.baseline_numbers += target_plan.baseline_numbers
            listing = target_plan.listing
            examined = set(listing.examined)
            summary.buckets_reloaded += 0 if listing.vanished else len(examined - listing.verified)
            summary.buckets_verified += len(examined & listing.verified)
            for _, change in target_plan.changes:
                if change is None:
                    continue
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
        summary.targets_scanned = len(observed.numbers_by_target)
        summary.numbers_observed = sum(observed.numbers_by_target.values())
        summary.numbers_by_target = observed.numbers_by_target
        summary.targets_not_reached = len(observed.not_reached)
        summary.resume_with = observed.not_reached
        summary.changes = {t.value: counts[t.value] for t in ChangeType}
        summary.releases_held = sum(h.count for h in night.held)
        summary.releases_deferred = sum(night.deferred.values())
        summary.describe_calls = describe_calls
        summary.targets_unobserved = [{"target_arn": u.target_arn, "reason": u.reason} for u in run.unobserved]
        summary.targets_partly_observed = [
            {"target_arn": u.target_arn, "reason": u.reason} for u in night.partly_observed
        ]
        summary.findings = dict(Counter(f.finding_type.value for f in night.findings))
        summary.holdings = night.holdings.as_dict() if night.holdings else None
        summary.attribution = night.attribution
        modes = {p.listing.baseline for p in plans if not p.listing.vanished}
        summary.mode = {
            frozenset({True}): RunMode.BASELINE,
            frozenset({False}): RunMode.INCREMENTAL,
            frozenset({True, False}): RunMode.MIXED,
        }.get(frozenset(modes), RunMode.NONE)
        if stopped or run.unobserved:
            summary.status = RunStatus.DRY_RUN if run.request.dry_run else RunStatus.PARTIAL

    # ---------------------------------------------------------------- record
    def _record(self, run: _Run, writer: Writer, scan: _Scan) -> None:
        """The run's last transaction: baseline summary and scopes, digest, run record."""
        mutations: list[Mutation] = []
        scopes = scan.known.scopes
        complete_regions = {region for region in scopes if self._complete(run, scan, region)}
        recorded = {region for region, scope in scopes.items() if scope is not None and scope.baseline_complete}
        baselines = sorted(complete_regions - recorded)
        if baselines:
            listed = {t.arn for t in scan.discovered.targets}
            counts = {  # targets recorded by earlier runs of a baseline that took several
                arn: record.count
                for arn, record in scan.known.records.items()
                if arn in listed and record.target.home_region in baselines
            }
            counts.update(
                {
                    p.target.arn: total_count(p.listing.fingerprints)
                    for p in scan.plans
                    if not p.listing.vanished and p.target.home_region in baselines
                }
            )
            baseline = build_baseline(run.account, run.run_id, run.observed_at, baselines, counts, run.names)
            if not writer.has_written(baseline):
                mutations.append(writer.message(baseline))
        for region in sorted(complete_regions):
            scope = scopes[region]
            full_runs = (scope.full_runs if scope else 0) + 1
            refresh_from = scan.refresh_from.get(region, 0)
            mutations.append(PutScope(ScopeRecord(run.account, region, True, full_runs, refresh_from)))
        written = writer.run_messages()
        night = replace(scan.night, unobserved=list(run.unobserved), findings=findings_of(written))
        digest = build_digest(run.account, run.run_id, run.observed_at, changes_of(written), night, run.names)
        if digest is not None and not writer.has_written(digest):
            # A retry of this run after its digest was written must not send it again.
            mutations.append(writer.message(digest))
        if run.resumed:
            # The retry's diff finds only what its earlier attempts did not write: the run's changes are both.
            for change in changes_of(writer.earlier):
                run.summary.changes[change.change_type.value] += 1
        summary = run.summary.model_dump(mode="json", exclude={"preview"})
        mutations.append(PutRun(RunRecord(run.account, run.run_id, run.started_at, run.summary.status, summary)))
        writer.write(mutations)

    def _complete(self, run: _Run, scan: _Scan, region: str) -> bool:
        """Whether this run saw all of a Region: every target of it observed and settled (a baseline's
        targets also count when an earlier run of the same baseline recorded them), none unobserved,
        discovery complete. A complete Region's scope moves on (its baseline, its verification slice,
        its rotation); a Region that needs several runs is complete on the one that settles its last
        target."""
        if run.request.targets or scan.discovered.stopped or region in scan.discovered.failed_regions:
            return False
        if any(region in self._regions_of(u.target_arn, scan) for u in run.unobserved):
            return False
        targets = [t.arn for t in scan.discovered.targets if t.home_region == region]
        if not targets:
            return not scan.cut_short
        settled = scan.settled | (set(scan.known.records) if region in scan.known.baseline_regions else set())
        return all(arn in settled for arn in targets)

    @staticmethod
    def _regions_of(target_reference: str, scan: _Scan) -> set[str]:
        """The Regions an unobserved target stands for (none for a reference discovery never found)."""
        for target in scan.discovered.targets:
            if target.arn == target_reference:
                return set(target.regions)
        return {p.target.home_region for p in scan.plans if p.target.arn == target_reference}
