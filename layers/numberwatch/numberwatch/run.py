"""What every phase of a run shares: its identity, its clock and its deadline."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from .observability import logger

# Connect and CloudTrail calls stop this long before a run's deadline, so that a run that cannot list
# every target in time (a million numbers in one Region at our pace) still writes what it observed; the
# targets it did not reach are listed first by the next run.
WRITE_RESERVE_SECONDS = 60


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
class Deadline:
    """The moment a run must stop to finish cleanly before the Lambda timeout (`reserve_seconds` early)."""

    remaining_ms: Callable[[], int]
    reserve_seconds: float
    reached: bool = field(default=False, init=False)

    def before(self, seconds: float) -> Deadline:
        """A deadline `seconds` earlier than this one."""
        return Deadline(self.remaining_ms, self.reserve_seconds + seconds)

    def passed(self) -> bool:
        if not self.reached and self.remaining_ms() < self.reserve_seconds * 1000:
            logger.warning("Stopping before the Lambda timeout; the rest is finished next run")
            self.reached = True
        return self.reached
