"""The scan's live progress: pages listed per target, and how long the rest takes at our pace.

It listens to the SDK's own events on the session the scan's clients are made from (botocore copies a
session's handlers into every client it makes), so the scan's code needs no hook: each
ListPhoneNumbersV2 response is one page of a target (up to 1,000 numbers), each DescribePhoneNumber
one call of the nightly budget. The estimate is the pace's: Connect is called at
CONNECT_REQUESTS_PER_SECOND per Region and API, Regions in parallel, so what is left takes, per
Region, its pages left divided by the pace, and the scan as long as its slowest Region. A target's
expected pages come from the snapshot's count of its numbers (unknown on a first run).
"""

from __future__ import annotations

import math
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from rich.progress import BarColumn, Progress, SpinnerColumn, TaskID, TextColumn

from numberwatch.adapters.connect import PAGE_SIZE
from numberwatch.models import Arn

from ..output import plain


def pages_for(numbers: int) -> int:
    """ListPhoneNumbersV2 pages a target of `numbers` numbers takes (an empty target still takes one)."""
    return max(1, math.ceil(numbers / PAGE_SIZE))


def seconds_left(pages_left_by_region: Mapping[str, int], requests_per_second: float) -> float:
    """At our pace per Region and API, Regions in parallel: the slowest Region's pages over the pace."""
    return max(pages_left_by_region.values(), default=0) / requests_per_second


@dataclass
class TargetPages:
    name: str
    region: str
    expected: int | None  # None: not in the snapshot yet
    listed: int = 0
    numbers: int = 0
    done: bool = False

    @property
    def left(self) -> int:
        if self.done:
            return 0
        if self.expected is None:
            return 1  # at least the page being read
        return max(self.expected - self.listed, 1)


class ScanProgress:
    """Rich tasks fed by SDK events (which arrive from the scan's Region threads)."""

    def __init__(self, progress: Progress, requests_per_second: float, known: Mapping[str, tuple[str, int]]) -> None:
        self.progress = progress
        self.rate = requests_per_second
        self.targets = {
            arn: TargetPages(name, Arn.parse(arn).region, pages_for(count)) for arn, (name, count) in known.items()
        }
        self.tasks: dict[str, TaskID] = {}
        self.lock = threading.Lock()
        self.described = 0
        self.overall = progress.add_task(self._overall(), total=None)

    @staticmethod
    def columns() -> tuple[Any, ...]:
        # markup=False: a target's name comes from Connect and must never be read as Rich markup.
        return (SpinnerColumn(), TextColumn("{task.description}", markup=False), BarColumn())

    def handlers(self) -> dict[str, Any]:
        return {
            "before-parameter-build.connect.ListPhoneNumbersV2": self._before_listing,
            "after-call.connect.ListPhoneNumbersV2": self._after_listing,
            "after-call.connect.DescribePhoneNumber": self._after_describe,
        }

    def register(self, events: Any) -> None:
        """On the session, before the scan makes its clients (a client copies the session's handlers)."""
        for event, handler in self.handlers().items():
            events.register(event, handler, unique_id=f"numberwatch-progress-{event}")

    def unregister(self, events: Any) -> None:
        for event, handler in self.handlers().items():
            events.unregister(event, handler, unique_id=f"numberwatch-progress-{event}")

    def _before_listing(self, params: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
        context["numberwatch_target"] = params.get("TargetArn")

    def _after_listing(self, parsed: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
        arn = context.get("numberwatch_target")
        if not arn or "Error" in parsed:
            return
        with self.lock:
            pages = self.targets.get(arn)
            if pages is None:
                pages = self.targets[arn] = TargetPages(arn.rsplit("/", 1)[-1], Arn.parse(arn).region, None)
            pages.listed += 1
            pages.numbers += len(parsed.get("ListPhoneNumbersSummaryList", []))
            pages.done = not parsed.get("NextToken")
            self._show(arn, pages)

    def _after_describe(self, **_: Any) -> None:
        with self.lock:
            self.described += 1
            self.progress.update(self.overall, description=self._overall())

    def pages_left(self) -> dict[str, int]:
        left: dict[str, int] = {}
        for pages in self.targets.values():
            left[pages.region] = left.get(pages.region, 0) + pages.left
        return left

    def _show(self, arn: str, pages: TargetPages) -> None:
        expected = f"{pages.expected:,}" if pages.expected is not None else "?"
        text = plain(
            f"{pages.name} ({pages.region}): page {pages.listed:,} of {expected}, {pages.numbers:,} numbers"
            + (", done" if pages.done else f", ~{pages.left / self.rate:,.0f} s left")
        )
        total = max(pages.expected or pages.listed, pages.listed)
        if arn not in self.tasks:
            self.tasks[arn] = self.progress.add_task(text, total=total)
        self.progress.update(self.tasks[arn], description=text, completed=pages.listed, total=total)
        self.progress.update(self.overall, description=self._overall())

    def _overall(self) -> str:
        left = self.pages_left()
        seconds = seconds_left(left, self.rate)
        return (
            f"listing: {sum(left.values()):,} pages left, ~{seconds:,.0f} s at {self.rate:g} request/s per Region;"
            f" DescribePhoneNumber calls: {self.described:,}"
        )
