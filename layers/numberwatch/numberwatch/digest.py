"""Messages for people: the nightly digest, the baseline summary, the mass-release alert.

Each is one SNS message that the email subscription lets through. The digest lists claimed and
released numbers first, then moved and updated, and is cut ("... and 1,234 more") so that the
whole SNS message, JSON envelope and attributes included, stays under 256 KiB. A run sends at most
one mass-release alert, naming every target it holds releases for: an email endpoint that gets more
than 10 messages a second is suspended. Every value from Connect is shown through `render`. Pure.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from .events import SNS_MESSAGE_LIMIT, OutboxMessage, actor_line, describe, envelope, target_label
from .models import SCHEMA_VERSION, Change, ChangeType, EventType, Finding, HeldRelease, Unobserved
from .render import escaped

SUBJECT_LIMIT = 99
# Room for message attributes, the subject and SNS's own accounting.
ENVELOPE_RESERVE = 4 * 1024
# The alert stays far below SNS's 256 KiB however many targets it names.
ALERT_TARGETS_SHOWN = 200
ALERT_SAMPLE_LINES = 600
DIGEST_ORDER = (ChangeType.CLAIMED, ChangeType.RELEASED, ChangeType.MOVED, ChangeType.UPDATED)


def subject(counts: Counter[ChangeType], account: str, unobserved: int = 0, held: int = 0) -> str:
    parts = [f"{counts[t]} {t.value.lower()}" for t in DIGEST_ORDER if counts[t]]
    if not parts:
        parts = ["no change"]
    if unobserved:
        parts.append(f"{unobserved} target{'s' if unobserved != 1 else ''} not observed")
    if held:
        parts.append(f"{held} releases held")
    text = f"Connect numbers: {', '.join(parts)} in {account}"
    return text if len(text) <= SUBJECT_LIMIT else text[: SUBJECT_LIMIT - 3] + "..."


def envelope_fields(event_type: EventType, account: str, run_id: str, observed_at: str) -> dict[str, Any]:
    """The fields every message for people starts with."""
    return {
        "schema_version": SCHEMA_VERSION,
        "event_type": event_type.value,
        "account": account,
        "run_id": run_id,
        "observed_at": observed_at,
    }


def _escaped_length(line: str) -> int:
    """Bytes the line takes inside the JSON envelope, with its newline."""
    return len(json.dumps(line)) - 2 + 2


def fit_email_text(header: list[str], sections: list[tuple[str, list[str]]], footer: list[str], budget: int) -> str:
    """Header, as many section lines as the budget allows, a count of the rest, then footer."""
    used = sum(_escaped_length(line) for line in [*header, *footer]) + 200  # the "... and N more" line
    lines = list(header)
    total = sum(len(items) for _, items in sections)
    shown = 0
    full = False
    for title, items in sections:
        if not items or full:
            continue
        heading = f"{title} ({len(items):,})"
        cost = _escaped_length(heading) + _escaped_length("")
        if used + cost > budget:
            full = True
            continue
        lines.extend(["", heading])
        used += cost
        for item in items:
            cost = _escaped_length(f"  {item}")
            if used + cost > budget:
                full = True
                break
            lines.append(f"  {item}")
            used += cost
            shown += 1
    if shown < total:
        lines.extend(["", f"... and {total - shown:,} more (every change is also sent as its own JSON event)"])
    return "\n".join([*lines, *footer])


@dataclass(frozen=True)
class Holdings:
    """The estate as listed tonight: how many numbers, how many unrouted, and what they cost a month."""

    numbers: int
    unrouted: int
    monthly_cost: float
    unrouted_monthly_cost: float
    unpriced: int
    currency: str
    prices: str  # the price table's source and date

    def as_dict(self) -> dict[str, Any]:
        return {
            "numbers": self.numbers,
            "unrouted": self.unrouted,
            "monthly_cost": self.monthly_cost,
            "unrouted_monthly_cost": self.unrouted_monthly_cost,
            "unpriced": self.unpriced,
            "currency": self.currency,
            "prices": self.prices,
        }


@dataclass(frozen=True)
class Night:
    """What a digest tells besides the changes."""

    unobserved: list[Unobserved] = field(default_factory=list)
    partly_observed: list[Unobserved] = field(default_factory=list)  # listed; routing unknown
    held: list[HeldRelease] = field(default_factory=list)
    deferred: dict[str, int] = field(default_factory=dict)  # reason -> releases waiting for confirmation
    findings: list[Finding] = field(default_factory=list)
    holdings: Holdings | None = None
    attribution: str | None = None  # why changes carry no actor tonight (None: CloudTrail was read)

    def worth_telling(self) -> bool:
        return bool(self.unobserved or self.partly_observed or self.held or self.deferred or self.findings)


def became_unrouted(change: Change) -> bool:
    """A change after which the number answers no contact flow, though it did (or was new) before."""
    after = change.after
    if after is None or after.flow_id is not None:
        return False
    return change.change_type is ChangeType.CLAIMED or "FlowId" in change.changed_fields


def build_digest(
    account: str,
    run_id: str,
    observed_at: str,
    changes: Iterable[Change],
    night: Night,
    target_names: dict[str, str],
) -> OutboxMessage | None:
    """The night's digest, or None when there is nothing to tell."""
    by_type: dict[ChangeType, list[Change]] = {t: [] for t in DIGEST_ORDER}
    for change in changes:
        by_type[change.change_type].append(change)
    counts = Counter({t: len(v) for t, v in by_type.items()})
    if not any(counts.values()) and not night.worth_telling():
        return None
    unrouted = sorted(
        (c for changed in by_type.values() for c in changed if became_unrouted(c)), key=lambda c: c.current.number
    )
    waiting = sum(night.deferred.values())
    body = {
        **envelope_fields(EventType.DIGEST, account, run_id, observed_at),
        "counts": {t.value: counts[t] for t in DIGEST_ORDER},
        "unobserved_targets": [{"target_arn": u.target_arn, "reason": u.reason} for u in night.unobserved],
        "partly_observed_targets": [{"target_arn": u.target_arn, "reason": u.reason} for u in night.partly_observed],
        "held_releases": [{"target_arn": h.target_arn, "count": h.count, "of_total": h.of_total} for h in night.held],
        "deferred_releases": waiting,
        "deferred_reasons": dict(sorted(night.deferred.items())),
        "findings": Counter(f.finding_type.value for f in night.findings),
        "became_unrouted": len(unrouted),
        "holdings": night.holdings.as_dict() if night.holdings else None,
        "attribution": night.attribution,
    }
    header = [
        f"Amazon Connect phone numbers in account {account}",
        f"Observed {observed_at} (run {run_id})",
    ]
    if night.holdings is not None:
        header += _holdings(night.holdings)
    footer = _footer(night, unrouted, target_names)

    def line(change: Change) -> str:
        text = describe(change, target_names)
        return text if night.attribution is not None else f"{text}\n      {actor_line(change)}"

    sections = [(t.value, sorted(line(c) for c in by_type[t])) for t in DIGEST_ORDER if by_type[t]]
    empty = len(envelope(body, "")) + ENVELOPE_RESERVE
    text = fit_email_text(header, sections, footer, SNS_MESSAGE_LIMIT - empty)
    return OutboxMessage(
        # A retry that found more changes sends a second, fuller digest rather than none.
        message_id=f"digest-{run_id}-{sum(counts.values())}",
        event_type=EventType.DIGEST,
        run_id=run_id,
        created_at=observed_at,
        body=body,
        email_text=text,
        subject=subject(counts, account, len(night.unobserved), sum(h.count for h in night.held)),
        attributes={"account": account},
    )


def _holdings(holdings: Holdings) -> list[str]:
    cost = f"{holdings.monthly_cost:,.2f} {holdings.currency} a month"
    unrouted = f"{holdings.unrouted_monthly_cost:,.2f} {holdings.currency} a month"
    lines = [
        f"Holding {holdings.numbers:,} numbers, about {cost}; {holdings.unrouted:,} unrouted (no contact flow),"
        f" about {unrouted}",
        f"  ({escaped(holdings.prices, 200)}; a month is 30 days)",
    ]
    if holdings.unpriced:
        lines.append(f"  {holdings.unpriced:,} numbers have no price in the table and are not counted")
    return lines


def _targets_with_reasons(targets: list[Unobserved], target_names: dict[str, str]) -> list[str]:
    return [f"  {target_label(u.target_arn, target_names)}: {escaped(u.reason, 300)}" for u in targets[:50]]


def _footer(night: Night, unrouted: list[Change], target_names: dict[str, str]) -> list[str]:
    footer: list[str] = []
    if unrouted:
        footer += ["", f"UNROUTED SINCE TONIGHT ({len(unrouted)}): held and paid for, associated with no contact flow"]
        footer += [f"  {describe(c, target_names)}" for c in unrouted[:100]]
    if night.findings:
        footer += ["", f"NEEDS ATTENTION ({len(night.findings)})"]
        for finding in sorted(night.findings, key=lambda f: (f.finding_type.value, f.number.number))[:200]:
            where = target_label(finding.number.target_arn, target_names)
            what = f"{escaped(finding.number.number, 20)} on {where}: {escaped(finding.detail, 200)}"
            footer.append(f"  {finding.finding_type.value}: {what}")
    if night.unobserved:
        footer += ["", f"NOT OBSERVED ({len(night.unobserved)}): their numbers are carried forward unchanged"]
        footer += _targets_with_reasons(night.unobserved, target_names)
    if night.partly_observed:
        footer += ["", f"PARTLY OBSERVED ({len(night.partly_observed)}): listed; numbers keep their last known flow"]
        footer += _targets_with_reasons(night.partly_observed, target_names)
    if night.held:
        footer += ["", "RELEASES HELD until the next run confirms them (see the SUSPECTED_MASS_RELEASE alert)"]
        footer += [f"  {target_label(h.target_arn, target_names)}: {h.count} of {h.of_total}" for h in night.held[:50]]
    waiting = sum(night.deferred.values())
    if waiting:
        footer += ["", f"{waiting:,} RELEASE(S) AWAIT CONFIRMATION (reported once DescribePhoneNumber confirms them)"]
        footer += [f"  {count:,} {reason}" for reason, count in sorted(night.deferred.items())]
    if night.attribution is not None:
        footer += ["", f"WHO MADE EACH CHANGE is not known tonight: {escaped(night.attribution, 300)}"]
    return footer


def build_baseline(
    account: str,
    run_id: str,
    observed_at: str,
    regions: list[str],
    counts_by_target: dict[str, int],
    target_names: dict[str, str],
) -> OutboxMessage:
    total = sum(counts_by_target.values())
    body = {
        **envelope_fields(EventType.BASELINE, account, run_id, observed_at),
        "regions": regions,
        "numbers": total,
        "targets": [{"target_arn": arn, "numbers": count} for arn, count in sorted(counts_by_target.items())],
    }
    lines = [
        f"Connect Number Watch recorded its baseline for account {account} in {', '.join(regions)}.",
        f"{total:,} phone numbers on {len(counts_by_target)} targets. From tomorrow you hear of every change.",
        "",
        *(f"  {target_label(arn, target_names)}: {count:,}" for arn, count in sorted(counts_by_target.items())),
    ]
    return OutboxMessage(
        message_id=f"baseline-{run_id}",
        event_type=EventType.BASELINE,
        run_id=run_id,
        created_at=observed_at,
        body=body,
        email_text="\n".join(lines[:2000]),
        subject=f"Connect numbers: baseline of {total:,} numbers in {account}"[:SUBJECT_LIMIT],
        attributes={"account": account},
    )


def build_mass_release_alert(
    account: str, run_id: str, observed_at: str, held: list[HeldRelease], target_names: dict[str, str]
) -> OutboxMessage:
    """One alert for the whole run, naming every target whose releases it holds."""
    missing = sum(h.count for h in held)
    shown_targets = held[:ALERT_TARGETS_SHOWN]
    sample_size = max(3, ALERT_SAMPLE_LINES // max(len(shown_targets), 1))
    body = {
        **envelope_fields(EventType.SUSPECTED_MASS_RELEASE, account, run_id, observed_at),
        "missing": missing,
        "targets": [
            {"target_arn": h.target_arn, "missing": h.count, "of_total": h.of_total, "sample": h.sample[:sample_size]}
            for h in held
        ],
    }
    lines = [
        f"{missing:,} numbers of {len(held)} target(s) were not listed tonight.",
        "That is more than the mass-release guard allows in one run, so they are NOT reported released yet.",
        "If the next run still does not list them, each is confirmed with DescribePhoneNumber and reported then.",
        "If this is an API or permission problem, fix it before the next run and nothing is reported.",
    ]
    for hold in shown_targets:
        lines += ["", f"{target_label(hold.target_arn, target_names)}: {hold.count:,} of {hold.of_total:,} missing"]
        lines += [f"  {escaped(number, 20)}" for number in hold.sample[:sample_size]]
    if len(held) > len(shown_targets):
        lines += ["", f"... and {len(held) - len(shown_targets):,} more targets (all in the JSON message)"]
    targets = ",".join(sorted(h.target_arn for h in held))
    return OutboxMessage(
        message_id=f"mass-release-{run_id}-{hashlib.sha256(targets.encode()).hexdigest()[:12]}",
        event_type=EventType.SUSPECTED_MASS_RELEASE,
        run_id=run_id,
        created_at=observed_at,
        body=body,
        email_text="\n".join(lines),
        subject=f"ALERT Connect numbers: {missing:,} missing from {len(held)} target(s) in {account}"[:SUBJECT_LIMIT],
        attributes={"account": account},
    )
