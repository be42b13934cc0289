"""The monthly report as plain data: one model that the HTML, CSV and Markdown renderings all read
(`report_render`), built from the archive by `monthly_report`. Pure.

The one decision: the model holds what a person reads, never the month's rows. Per night it keeps
counts; at month end it keeps aggregates, plus only the numbers a person must act on (unrouted, missing
a required tag, released). So a month of 100,000 numbers is a few thousand small records at most.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

# Connect may keep a released number in a cooldown of up to 180 days before anyone can claim it again
# (FACTS.md); the report gives the latest date it can end.
RELEASE_COOLDOWN = timedelta(days=180)
CHANGE_TYPES = ("CLAIMED", "RELEASED", "MOVED", "UPDATED")
_MONTH = re.compile(r"^([0-9]{4})-(0[1-9]|1[0-2])$")


class MonthError(ValueError):
    """A month that is not YYYY-MM."""


@dataclass(frozen=True, order=True)
class Month:
    year: int
    month: int

    @classmethod
    def parse(cls, text: str) -> Month:
        match = _MONTH.fullmatch(text)
        if match is None:
            raise MonthError(f"a month is YYYY-MM (for example 2026-10), not {text!r}")
        return cls(int(match[1]), int(match[2]))

    @classmethod
    def before(cls, moment: datetime) -> Month:
        """The month that ended before the UTC month of `moment`."""
        current = moment.astimezone(UTC)
        return cls(current.year - 1, 12) if current.month == 1 else cls(current.year, current.month - 1)

    def __str__(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"

    @property
    def first_day(self) -> date:
        return date(self.year, self.month, 1)

    @property
    def last_day(self) -> date:
        following = date(self.year + 1, 1, 1) if self.month == 12 else date(self.year, self.month + 1, 1)
        return following - timedelta(days=1)

    def days(self) -> list[date]:
        return [self.first_day + timedelta(days=n) for n in range(self.last_day.day)]

    def holds(self, day: date) -> bool:
        return (day.year, day.month) == (self.year, self.month)


@dataclass(frozen=True)
class Holding:
    """Numbers held at month end on one target, of one country and type."""

    region: str
    target_arn: str
    target_name: str | None
    target_kind: str | None
    country: str | None
    number_type: str | None
    count: int
    monthly_cost: float | None  # None: the price table has no rate for them


@dataclass(frozen=True)
class NumberLine:
    """One number a person may have to act on, as the month-end inventory holds it."""

    phone_number: str
    phone_number_arn: str
    region: str
    target_name: str | None
    description: str | None
    detail: str  # what is wrong: the missing tag keys, or why it is listed


@dataclass(frozen=True)
class ChangeLine:
    """One change of the month, with who made it."""

    observed_at: str  # when the scan saw it (UTC, ISO 8601)
    change_type: str
    phone_number: str
    phone_number_arn: str
    region: str
    target_arn: str | None
    changed_fields: tuple[str, ...]
    actor: str | None  # the principal (and the call) CloudTrail recorded
    acted_at: str | None  # when CloudTrail recorded the call
    attribution: str | None  # why there is no actor, when there is none


@dataclass(frozen=True)
class Released:
    phone_number: str
    phone_number_arn: str
    region: str
    released_on: date  # CloudTrail's time of the release call when recorded, else the night it was seen
    cooldown_ends_by: date


@dataclass(frozen=True)
class Cost:
    currency: str
    monthly: float
    unrouted_monthly: float
    unpriced: int
    prices: str  # the price table's source and date (EXAMPLE when it is the example table)


@dataclass
class MonthReport:
    account: str
    month: Month
    month_end_run: str | None = None  # the run whose full inventory is the month-end state
    month_end_at: str | None = None  # when that run started
    required_tag_keys: tuple[str, ...] = ()
    holdings: list[Holding] = field(default_factory=list)
    numbers_held: int = 0
    held_per_night: dict[date, int] = field(default_factory=dict)  # nights with a full inventory only
    changes: list[ChangeLine] = field(default_factory=list)
    changes_per_night: dict[date, dict[str, int]] = field(default_factory=dict)
    unrouted: list[NumberLine] = field(default_factory=list)
    missing_tags: list[NumberLine] = field(default_factory=list)
    tags_unread: int = 0  # month-end numbers whose tags no run of the month read
    released: list[Released] = field(default_factory=list)
    cost: Cost | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def change_counts(self) -> dict[str, int]:
        return {kind: sum(1 for c in self.changes if c.change_type == kind) for kind in CHANGE_TYPES}


def cooldown_ends_by(released_on: date) -> date:
    return released_on + RELEASE_COOLDOWN
