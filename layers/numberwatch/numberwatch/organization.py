"""Organization mode, the pure part: the state machine's three requests, the account an item scans,
what each item reports back, and the one organization digest. No I/O.

The state machine only sequences (plan ─► Map over accounts ─► digest); every decision is here or in
the scan itself. One Map item is one *account*, and within it the account's Regions run in parallel:
a number can move between an instance of one Region and a TDG homed in another, and only a run that
plans both listings together reports that as one move (two items, one per Region, would each see half
of it). The lease, the outbox, the baseline and the mass-release guard are the scan's, per account.

An account whose role cannot be assumed is one unobserved account: nothing of its is scanned, so
nothing of its is reported released. A failed item (the function failed after its retries) is one
too. The digest is written once per organization run, under its own key (`ORGANIZATION`), so that a
retried execution finds it and sends no second one.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field

from .digest import DIGEST_ORDER, ENVELOPE_RESERVE, SUBJECT_LIMIT, envelope_fields, fit_email_text
from .events import SNS_MESSAGE_LIMIT, OutboxMessage, envelope
from .models import ChangeType, EventType, RunStatus, RunSummary
from .render import escaped

# The key of the organization's own lease, messages and run records (where an account id stands
# for a single account): `LEASE#organization`, `MSG#organization#<run id>`, `RUN#organization`.
ORGANIZATION = "organization"
# Step Functions names its executions with UUIDs; the run id is also the STS session name in every
# member account (CloudTrail shows it there), so it keeps to what a session name allows.
OrgRunId = Annotated[str, Field(pattern=r"^[A-Za-z0-9_-]{1,64}$")]
AccountId = Annotated[str, Field(pattern=r"^[0-9]{12}$")]
ACCOUNTS_SHOWN = 200
REASON_LIMIT = 2000


class AccountScanRequest(BaseModel):
    """One item of the Map: scan this member account, through its read role."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    source: Literal["organization-account"]
    org_run_id: OrgRunId
    account: AccountId


class OrganizationPlanRequest(BaseModel):
    """The state machine's first step: which accounts to scan tonight."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    source: Literal["organization-plan"]
    org_run_id: OrgRunId


class AccountStatus(StrEnum):
    COMPLETED = "COMPLETED"
    PARTIAL = "PARTIAL"  # scanned, but some targets unobserved or the run stopped short
    SKIPPED = "SKIPPED"  # another run of this account held its lease
    UNOBSERVED = "UNOBSERVED"  # its read role could not be assumed: nothing of it was read
    FAILED = "FAILED"  # the scan function failed for it (set by the state machine's Catch)


class AccountOutcome(BaseModel):
    """What one item reports back to the state machine: small, so that the Map's results for a thousand
    accounts stay within Step Functions' 256 KiB payload."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    account: AccountId
    status: AccountStatus
    reason: str = Field(default="", max_length=REASON_LIMIT)
    changes: dict[str, int] = Field(default_factory=dict)
    baseline_numbers: int = 0
    targets_unobserved: int = 0
    releases_held: int = 0
    releases_deferred: int = 0

    @property
    def observed(self) -> bool:
        return self.status in (AccountStatus.COMPLETED, AccountStatus.PARTIAL)

    @classmethod
    def from_summary(cls, account: str, summary: RunSummary) -> AccountOutcome:
        status = {RunStatus.COMPLETED: AccountStatus.COMPLETED, RunStatus.SKIPPED: AccountStatus.SKIPPED}.get(
            summary.status, AccountStatus.PARTIAL
        )
        unobserved = "; ".join(f"{u['target_arn']}: {u['reason']}" for u in summary.targets_unobserved)
        return cls(
            account=account,
            status=status,
            reason=(summary.message or unobserved)[:REASON_LIMIT],
            changes={k: v for k, v in summary.changes.items() if v},
            baseline_numbers=summary.baseline_numbers,
            targets_unobserved=len(summary.targets_unobserved) + summary.targets_not_reached,
            releases_held=summary.releases_held,
            releases_deferred=summary.releases_deferred,
        )


class OrganizationDigestRequest(BaseModel):
    """The state machine's last step: every item's outcome, for one digest and one run record. `started_at`
    is the execution's start: a retried step writes the same run record, not a second one."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    source: Literal["organization-digest"]
    org_run_id: OrgRunId
    started_at: datetime
    outcomes: list[AccountOutcome] = Field(max_length=10_000)


OrganizationRequest = OrganizationPlanRequest | AccountScanRequest | OrganizationDigestRequest
# Each step's request, by the `source` the state machine gives it (request.ORGANIZATION_SOURCES).
ORGANIZATION_STEPS: dict[str, type[OrganizationRequest]] = {
    "organization-plan": OrganizationPlanRequest,
    "organization-account": AccountScanRequest,
    "organization-digest": OrganizationDigestRequest,
}


class OrganizationPlan(BaseModel):
    """What the plan step returns: the Map's items and its concurrency."""

    org_run_id: str
    accounts: list[str]
    max_concurrency: int
    excluded: list[str] = Field(default_factory=list)


class AccountDirectory(Protocol):
    def active_accounts(self, parents: Sequence[str]) -> list[str]:
        """ACTIVE accounts of the organization; with `parents` (OU or root ids), only those under them,
        nested OUs included."""
        ...


def plan_accounts(
    directory: Callable[[], AccountDirectory],
    org_run_id: str,
    given: Sequence[str],
    parents: Sequence[str],
    excluded: Sequence[str],
    max_concurrency: int,
) -> OrganizationPlan:
    """The accounts to scan: the given list, or Organizations' ACTIVE accounts (under `parents` when
    set), less the deny-list. Organizations is asked only when no list is given."""
    candidates = set(given) if given else set(directory().active_accounts(parents))
    denied = set(excluded)
    return OrganizationPlan(
        org_run_id=org_run_id,
        accounts=sorted(candidates - denied),
        max_concurrency=max_concurrency,
        excluded=sorted(candidates & denied),
    )


def _subject(counts: Counter[ChangeType], accounts: int, unobserved: int) -> str:
    parts = [f"{counts[t]} {t.value.lower()}" for t in DIGEST_ORDER if counts[t]] or ["no change"]
    text = f"Connect numbers: {', '.join(parts)} in {accounts} account{'s' if accounts != 1 else ''}"
    if unobserved:
        text += f"; {unobserved} not observed"
    return text if len(text) <= SUBJECT_LIMIT else text[: SUBJECT_LIMIT - 3] + "..."


def _not_observed_line(outcome: AccountOutcome) -> str:
    what = {
        AccountStatus.UNOBSERVED: "not read",
        AccountStatus.FAILED: "scan failed",
        AccountStatus.SKIPPED: "skipped, another run held its lease",
    }.get(outcome.status, outcome.status.value)
    return f"  {outcome.account}: {what}: {escaped(outcome.reason, 300)}"


def build_organization_digest(
    org_run_id: str,
    observed_at: str,
    outcomes: Sequence[AccountOutcome],
    changes_by_account: Mapping[str, Iterable[OutboxMessage]],
) -> OutboxMessage | None:
    """The organization's one digest, or None when no account has anything to tell. Each change is
    shown as its own event's text (already escaped), after its account."""
    counts: Counter[ChangeType] = Counter()
    lines: dict[ChangeType, list[str]] = {t: [] for t in DIGEST_ORDER}
    for account, messages in sorted(changes_by_account.items()):
        for message in messages:
            if message.event_type is not EventType.NUMBER_CHANGE:
                continue
            change_type = ChangeType(message.body["change_type"])
            counts[change_type] += 1
            lines[change_type].append(f"{account}  {message.email_text.removeprefix(f'{change_type.value}: ')}")
    not_observed = [o for o in outcomes if not o.observed]
    partial = [o for o in outcomes if o.status is AccountStatus.PARTIAL]
    held = sum(o.releases_held for o in outcomes)
    waiting = sum(o.releases_deferred for o in outcomes)
    baselines = [o for o in outcomes if o.baseline_numbers]
    if not counts and not not_observed and not partial and not held and not waiting and not baselines:
        return None
    body = {
        **envelope_fields(EventType.ORGANIZATION_DIGEST, ORGANIZATION, org_run_id, observed_at),
        "counts": {t.value: counts[t] for t in DIGEST_ORDER},
        "accounts_scanned": len(outcomes),
        "accounts_not_observed": [
            {"account": o.account, "status": o.status.value, "reason": o.reason} for o in not_observed
        ],
        "accounts": [o.model_dump(mode="json") for o in sorted(outcomes, key=lambda o: o.account)[:ACCOUNTS_SHOWN]],
        "releases_held": held,
        "releases_deferred": waiting,
    }
    header = [
        f"Amazon Connect phone numbers in {len(outcomes)} accounts of the organization",
        f"Observed {observed_at} (run {org_run_id})",
    ]
    footer: list[str] = []
    if not_observed:
        footer += ["", f"ACCOUNTS NOT OBSERVED ({len(not_observed)}): nothing of theirs is reported released"]
        footer += [_not_observed_line(o) for o in not_observed[:ACCOUNTS_SHOWN]]
    if partial:
        footer += ["", f"ACCOUNTS PARTLY OBSERVED ({len(partial)}): their unobserved targets are carried forward"]
        footer += [f"  {o.account}: {o.targets_unobserved} target(s) not observed" for o in partial[:ACCOUNTS_SHOWN]]
    if held:
        footer += ["", f"{held:,} RELEASE(S) HELD until the next run confirms them (see the mass-release alerts)"]
    if waiting:
        footer += ["", f"{waiting:,} RELEASE(S) AWAIT CONFIRMATION (reported once DescribePhoneNumber confirms them)"]
    if baselines:
        footer += ["", f"BASELINES RECORDED ({len(baselines)}): from the next run on, every change is reported"]
        footer += [f"  {o.account}: {o.baseline_numbers:,} numbers" for o in baselines[:ACCOUNTS_SHOWN]]
    sections = [(t.value, sorted(lines[t])) for t in DIGEST_ORDER if lines[t]]
    empty = len(envelope(body, "")) + ENVELOPE_RESERVE
    return OutboxMessage(
        message_id=f"organization-digest-{org_run_id}",  # one per organization run, whatever retries it
        event_type=EventType.ORGANIZATION_DIGEST,
        run_id=org_run_id,
        created_at=observed_at,
        body=body,
        email_text=fit_email_text(header, sections, footer, SNS_MESSAGE_LIMIT - empty),
        subject=_subject(counts, len(outcomes), len(not_observed)),
        attributes={"account": ORGANIZATION},
    )


def organization_summary(org_run_id: str, outcomes: Sequence[AccountOutcome]) -> dict[str, object]:
    """The organization's run record: per status, the accounts; per change type, the count."""
    counts: Counter[str] = Counter()
    for outcome in outcomes:
        counts.update(outcome.changes)
    by_status: dict[str, list[str]] = {}
    for outcome in sorted(outcomes, key=lambda o: o.account):
        by_status.setdefault(outcome.status.value, []).append(outcome.account)
    return {
        "run_id": org_run_id,
        "accounts_scanned": len(outcomes),
        "accounts_by_status": by_status,
        "changes": {t.value: counts[t.value] for t in ChangeType},
        "accounts_not_observed": [{"account": o.account, "reason": o.reason} for o in outcomes if not o.observed],
    }
