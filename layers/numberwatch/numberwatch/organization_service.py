"""The organization run's three steps, as the state machine calls them: plan, scan one account,
send the digest. Each is safe to repeat within one execution (Step Functions retries a step, or an
execution is redriven): an account's scan resumes its own run (its run id is the organization run's),
and the digest, written once under the organization's key, is never sent twice.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from .adapters.member import AccountUnavailable, MemberCredentials, MemberRoles
from .events import OutboxMessage
from .models import EventType, RunStatus, RunSummary, ScanRequest
from .observability import logger
from .organization import (
    ORGANIZATION,
    REASON_LIMIT,
    AccountDirectory,
    AccountOutcome,
    AccountScanRequest,
    AccountStatus,
    OrganizationDigestRequest,
    OrganizationPlan,
    OrganizationPlanRequest,
    build_organization_digest,
    organization_summary,
    plan_accounts,
)
from .phases.chat import ChatOutcome, copy_to_chat
from .phases.publish import OutboxPublisher
from .phases.write import Writer
from .ports import Chat, Mutation, Publisher, PutRun, RunRecord, Store
from .run import Deadline, RunContext, iso, no_checkpoint
from .service import ScanService
from .settings import Settings


class OrganizationBusy(Exception):
    """Another organization run is sending its digest; the state machine retries this step later."""


@dataclass(frozen=True)
class AccountScan:
    outcome: AccountOutcome
    summary: RunSummary | None  # None: the account was not read


@dataclass(frozen=True)
class DigestStep:
    """What the digest step did: the organization's run record, and what it sent."""

    record: dict[str, object]
    status: RunStatus
    digest: str | None  # the digest's message id; None: no account had anything to tell
    messages_published: int
    messages_pending: int
    chat: ChatOutcome

    def as_json(self) -> dict[str, object]:
        """The step's result, as the state machine's output carries it."""
        return {
            **self.record,
            "status": self.status.value,
            "digest": self.digest,
            "messages_published": self.messages_published,
            "messages_pending": self.messages_pending,
            "chat_messages_sent": self.chat.sent,
            "chat_messages_failed": self.chat.failed,
        }


class OrganizationService:
    def __init__(
        self,
        settings: Settings,
        store: Store,
        publisher: Publisher,
        directory: Callable[[], AccountDirectory],
        members: MemberRoles,
        scan_service_for: Callable[[MemberCredentials], ScanService],
        chat: Chat | None = None,
    ) -> None:
        self.settings = settings
        self.chat = chat
        self.store = store
        self.publisher = publisher
        self.directory = directory
        self.members = members
        self.scan_service_for = scan_service_for

    def plan(self, request: OrganizationPlanRequest) -> OrganizationPlan:
        settings = self.settings
        plan = plan_accounts(
            self.directory,
            request.org_run_id,
            settings.organization_accounts,
            settings.organization_units,
            settings.excluded_accounts,
            settings.max_concurrency,
        )
        logger.info("Organization run planned", extra={"accounts": len(plan.accounts), "excluded": plan.excluded})
        return plan

    def scan_account(self, request: AccountScanRequest, context: RunContext) -> AccountScan:
        """One member account, as the single-account scan does it, through the account's read role."""
        try:
            credentials = self.members.assume(request.account, request.org_run_id)
        except AccountUnavailable as exc:
            logger.warning("Member account not readable", extra={"account": request.account, "reason": exc.reason})
            reason = exc.reason[:REASON_LIMIT]
            unobserved = AccountOutcome(account=request.account, status=AccountStatus.UNOBSERVED, reason=reason)
            return AccountScan(unobserved, None)
        item = RunContext(run_id=request.org_run_id, remaining_ms=context.remaining_ms, now=context.now)
        summary = self.scan_service_for(credentials).run(ScanRequest(source="schedule"), item)
        return AccountScan(AccountOutcome.from_summary(request.account, summary), summary)

    def send_digest(self, request: OrganizationDigestRequest, context: RunContext) -> DigestStep:
        """One digest and one run record for the organization run, in one transaction under its lease."""
        settings, run_id = self.settings, request.org_run_id
        now = context.now()
        lease = self.store.acquire_lease(ORGANIZATION, run_id, now, now + timedelta(seconds=settings.lease_seconds))
        if not lease.acquired:
            raise OrganizationBusy(f"organization run {lease.owner} holds the lease until {iso(lease.expires_at)}")
        deadline = Deadline(context.remaining_ms, settings.time_reserve_seconds)
        expires_at = int((request.started_at + timedelta(days=settings.history_retention_days)).timestamp())
        writer = Writer(self.store, ORGANIZATION, run_id, expires_at, deadline, no_checkpoint)
        outbox = OutboxPublisher(self.store, self.publisher, ORGANIZATION, deadline, no_checkpoint)
        if lease.resumed:
            outbox.publish([s.message for s in self.store.run_messages(ORGANIZATION, run_id) if s.unsent])
        outcomes = request.outcomes
        changes: dict[str, list[OutboxMessage]] = {
            o.account: [
                s.message
                for s in self.store.run_messages(o.account, run_id)
                if s.message.event_type is EventType.NUMBER_CHANGE
            ]
            for o in outcomes
            if o.observed
        }
        digest = build_organization_digest(run_id, iso(request.started_at), outcomes, changes)
        mutations: list[Mutation] = []
        if digest is not None and not self.store.has_message(ORGANIZATION, digest):
            mutations.append(writer.message(digest))
        summary = organization_summary(run_id, outcomes)
        complete = all(o.status is AccountStatus.COMPLETED for o in outcomes)
        status = RunStatus.COMPLETED if complete else RunStatus.PARTIAL
        mutations.append(PutRun(RunRecord(ORGANIZATION, run_id, request.started_at, status, summary)))
        writer.write(mutations)
        outbox.publish(writer.written)
        outbox.publish_leftovers()
        # The chat copy of the digest SNS took now (a retry that finds it sent sends no second one).
        chatted = copy_to_chat(self.chat, outbox.delivered)
        self.store.release_lease(ORGANIZATION, run_id)
        return DigestStep(
            record=summary,
            status=status,
            digest=digest.message_id if digest is not None else None,
            messages_published=len(outbox.sent),
            messages_pending=outbox.pending,
            chat=chatted,
        )
