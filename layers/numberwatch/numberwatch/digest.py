"""Messages for people: the nightly digest, the baseline summary, the mass-release alert.

Each is one SNS message that the email subscription lets through. The digest lists claimed and
released numbers first, then moved and updated, and is cut ("... and 1,234 more") so that the
whole SNS message, JSON envelope and attributes included, stays under 256 KiB. Pure: no I/O.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable
from typing import Any

from .events import SNS_MESSAGE_LIMIT, OutboxMessage, describe, envelope
from .models import SCHEMA_VERSION, Change, ChangeType, EventType, HeldRelease, Unobserved

SUBJECT_LIMIT = 99
# Room for message attributes, the subject and SNS's own accounting.
ENVELOPE_RESERVE = 4 * 1024
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


def _common(event_type: EventType, account: str, run_id: str, observed_at: str) -> dict[str, Any]:
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


def _fit(header: list[str], sections: list[tuple[str, list[str]]], footer: list[str], budget: int) -> str:
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


def build_digest(
    account: str,
    run_id: str,
    observed_at: str,
    changes: Iterable[Change],
    unobserved: list[Unobserved],
    held: list[HeldRelease],
    deferred: int,
    target_names: dict[str, str],
) -> OutboxMessage | None:
    """The night's digest, or None when there is nothing to tell."""
    by_type: dict[ChangeType, list[Change]] = {t: [] for t in DIGEST_ORDER}
    for change in changes:
        by_type[change.change_type].append(change)
    counts = Counter({t: len(v) for t, v in by_type.items()})
    if not any(counts.values()) and not unobserved and not held and not deferred:
        return None
    body = {
        **_common(EventType.DIGEST, account, run_id, observed_at),
        "counts": {t.value: counts[t] for t in DIGEST_ORDER},
        "unobserved_targets": [{"target_arn": u.target_arn, "reason": u.reason} for u in unobserved],
        "held_releases": [{"target_arn": h.target_arn, "count": h.count, "of_total": h.of_total} for h in held],
        "deferred_releases": deferred,
    }
    header = [
        f"Amazon Connect phone numbers in account {account}",
        f"Observed {observed_at} (run {run_id})",
    ]
    footer: list[str] = []
    if unobserved:
        footer += ["", f"NOT OBSERVED ({len(unobserved)}): their numbers are carried forward unchanged"]
        footer += [f"  {target_names.get(u.target_arn, u.target_arn)}: {u.reason}" for u in unobserved[:50]]
    if held:
        footer += ["", "RELEASES HELD until the next run confirms them (see the SUSPECTED_MASS_RELEASE alert)"]
        footer += [f"  {target_names.get(h.target_arn, h.target_arn)}: {h.count} of {h.of_total}" for h in held]
    if deferred:
        footer += ["", f"{deferred} release(s) deferred: their Region was not fully observed, or the run was limited"]
    sections = [(t.value, sorted(describe(c, target_names) for c in by_type[t])) for t in DIGEST_ORDER if by_type[t]]
    empty = len(envelope(body, "")) + ENVELOPE_RESERVE
    text = _fit(header, sections, footer, SNS_MESSAGE_LIMIT - empty)
    return OutboxMessage(
        # A retry that found more changes sends a second, fuller digest rather than none.
        message_id=f"digest-{run_id}-{sum(counts.values())}",
        event_type=EventType.DIGEST,
        run_id=run_id,
        created_at=observed_at,
        body=body,
        email_text=text,
        subject=subject(counts, account, len(unobserved), sum(h.count for h in held)),
        attributes={"account": account},
    )


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
        **_common(EventType.BASELINE, account, run_id, observed_at),
        "regions": regions,
        "numbers": total,
        "targets": [{"target_arn": arn, "numbers": count} for arn, count in sorted(counts_by_target.items())],
    }
    lines = [
        f"Connect Number Watch recorded its baseline for account {account} in {', '.join(regions)}.",
        f"{total:,} phone numbers on {len(counts_by_target)} targets. From tomorrow you hear of every change.",
        "",
        *(f"  {target_names.get(arn, arn)}: {count:,}" for arn, count in sorted(counts_by_target.items())),
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
    account: str, run_id: str, observed_at: str, held: HeldRelease, target_names: dict[str, str]
) -> OutboxMessage:
    name = target_names.get(held.target_arn, held.target_arn)
    body = {
        **_common(EventType.SUSPECTED_MASS_RELEASE, account, run_id, observed_at),
        "target_arn": held.target_arn,
        "missing": held.count,
        "of_total": held.of_total,
        "sample": held.sample,
    }
    text = "\n".join(
        [
            f"{held.count:,} of {held.of_total:,} numbers of {name} were not listed tonight.",
            "That is more than the mass-release guard allows in one run, so they are NOT reported released yet.",
            "If the next run still does not list them, their releases are confirmed and reported then.",
            "If this is an API or permission problem, fix it before the next run and nothing is reported.",
            "",
            "Sample of the missing numbers:",
            *(f"  {n}" for n in held.sample),
        ]
    )
    return OutboxMessage(
        message_id=f"mass-release-{run_id}-{held.target_arn.rsplit('/', 1)[-1]}",
        event_type=EventType.SUSPECTED_MASS_RELEASE,
        run_id=run_id,
        created_at=observed_at,
        body=body,
        email_text=text,
        subject=f"ALERT Connect numbers: {held.count:,} missing from {name}"[:SUBJECT_LIMIT],
        attributes={"account": account, "region": held.target_arn.split(":")[3]},
    )
