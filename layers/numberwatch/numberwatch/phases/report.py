"""Report: the month just ended, written to the archive by the first run of each month.

    reports/account=<id>/month=<YYYY-MM>/report.html   (and report.csv, report.md)

It runs after the archive phase, so the evidence it reads includes what this run archived (an earlier
night caught up late among it). Nothing remembers which run was the first of the month: each run lists
the month's report prefix, and a format already there is done. So a run that finds all three does
nothing (one list request), and a run after a failure writes only what is missing. Like all evidence
the reports are written once (`If-None-Match`) and never replaced. A failure costs no event (they were
published before the archive phase) and no evidence: the summary says what happened and the next run
tries again.
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from datetime import datetime

from ..archive_format import manifest_prefix, manifest_started_at, sha256_of
from ..cost import PriceTable
from ..evidence import EvidenceMismatch
from ..models import ReportOutcome, ReportStatus
from ..monthly_report import FORMATS, Format, build_report
from ..observability import logger
from ..ports import Archive, ArchiveConflict, ArchiveMissing, ArchiveUnavailable
from ..report_model import Month
from ..run import Deadline

REPORTS = "reports"
# At 100,000 numbers a month's report takes about 10 s of CPU, 15 s on a loaded machine
# (benchmarks/results/report.md): a run with less time than this left leaves it to the next one.
SECONDS_NEEDED = 60
_FAILURES = (ArchiveUnavailable, ArchiveConflict, ArchiveMissing, EvidenceMismatch, ValueError, KeyError, zlib.error)


def report_prefix(account: str, month: Month) -> str:
    return f"{REPORTS}/account={account}/month={month}/"


def report_key(account: str, month: Month, fmt: Format) -> str:
    return f"{report_prefix(account, month)}report.{fmt}"


def write_last_month(
    archive: Archive,
    account: str,
    now: datetime,
    deadline: Deadline,
    prices: PriceTable,
    required_tag_keys: Sequence[str],
) -> ReportOutcome:
    """The report of the month before `now`'s (UTC), each format not yet in the archive."""
    month = Month.before(now)
    written: list[str] = []
    try:
        present = set(archive.keys(report_prefix(account, month)))
        missing = [fmt for fmt in FORMATS if report_key(account, month, fmt) not in present]
        if not missing:
            return ReportOutcome(status=ReportStatus.ALREADY_WRITTEN, month=str(month))
        if not any(month.holds(manifest_started_at(k).date()) for k in archive.keys(manifest_prefix(account))):
            note = f"no run of {month} is archived: no report"
            return ReportOutcome(status=ReportStatus.NOTHING_TO_REPORT, month=str(month), note=note)
        if deadline.remaining_ms() < (SECONDS_NEEDED + deadline.reserve_seconds) * 1000:
            note = f"less than {SECONDS_NEEDED} s left: the next run writes it"
            return ReportOutcome(status=ReportStatus.NOT_WRITTEN, month=str(month), note=note)
        report = build_report(archive, account, month, prices, required_tag_keys)
        from ..report_render import render  # here: only the first run of a month loads the renderer

        for fmt in missing:
            body = render(report, fmt)
            key = report_key(account, month, fmt)
            archive.put(key, body, sha256_of(body))
            written.append(key)
    except _FAILURES as exc:
        logger.error("The monthly report was not written; the next run tries again", extra={"error": str(exc)})
        return ReportOutcome(status=ReportStatus.FAILED, month=str(month), keys=written, note=str(exc))
    logger.info("Monthly report written", extra={"month": str(month), "keys": written})
    return ReportOutcome(status=ReportStatus.WRITTEN, month=str(month), keys=written)
