"""The monthly report inside whole runs (in-memory fakes): the first run of a month writes the month
before's report once, later runs do nothing, and a failure costs nothing and is retried next run."""

from __future__ import annotations

import csv
import io

from numberwatch.archive_format import sha256_of
from numberwatch.phases.report import report_prefix
from numberwatch.report_model import Month
from tests.unit.factories import ACCOUNT, instance, number, numbers
from tests.unit.test_archive_phase import Nights

SEPTEMBER = report_prefix(ACCOUNT, Month(2026, 9))
FORMATS = ("report.csv", "report.html", "report.md")


def september_nights() -> Nights:
    """Nights from September 28; the fourth is October 1's."""
    nights = Nights()
    a = instance("a")
    nights.connect.add(a, *numbers(3, a))
    return nights


def test_the_first_run_of_a_month_writes_last_months_report_once_and_later_runs_do_nothing() -> None:
    nights = september_nights()
    # Given three nights of September (the first finds no August to report on)
    first = nights.night()
    assert first["monthly_report"]["status"] == "NOTHING_TO_REPORT"
    assert first["monthly_report"]["note"] == "no run of 2026-08 is archived: no report"
    nights.night()
    nights.night()
    # When the first run of October runs
    october_1 = nights.night()
    # Then it writes September's report in the three formats
    assert october_1["monthly_report"]["status"] == "WRITTEN"
    assert sorted(k.rsplit("/", 1)[1] for k in october_1["monthly_report"]["keys"]) == list(FORMATS)
    written = nights.archive.under(SEPTEMBER)
    assert sorted(k.rsplit("/", 1)[1] for k in written) == list(FORMATS)
    assert b"+12060000002" in written[f"{SEPTEMBER}report.md"]
    # And the next run finds it there and writes nothing
    october_2 = nights.night()
    assert october_2["monthly_report"] == {"status": "ALREADY_WRITTEN", "month": "2026-09", "keys": [], "note": ""}
    assert nights.archive.under(SEPTEMBER) == written


def test_september_30s_night_is_in_septembers_report_and_october_1s_is_not() -> None:
    nights = september_nights()
    for _ in range(3):
        nights.night()
    a = instance("a")
    nights.connect.add(a, number(7, a))  # claimed before October 1's night
    nights.night()
    rows = list(csv.DictReader(io.StringIO(nights.archive.objects[f"{SEPTEMBER}report.csv"].decode())))
    assert "'+12060000007" not in {row["phone_number"] for row in rows}
    held = {row["date"]: row["count"] for row in rows if row["section"] == "night" and row["count"]}
    assert held == {"2026-09-28": "3", "2026-09-29": "3", "2026-09-30": "3"}


def test_a_refused_report_costs_no_event_and_the_next_run_writes_it() -> None:
    nights = september_nights()
    for _ in range(3):
        nights.night()
    # Given an archive that refuses the reports (and only them) on October 1, when a number is claimed
    nights.archive.refuse_writes_under = "reports/"
    a = instance("a")
    nights.connect.add(a, number(8, a))
    refused = nights.night()
    # Then the run completes, its change is published and its evidence archived; the report failed
    assert refused["status"] == "COMPLETED" and refused["archive"]["status"] == "WRITTEN"
    assert [b["phone_number"] for b in nights.publisher.bodies("NUMBER_CHANGE")] == ["+12060000008"]
    assert refused["monthly_report"]["status"] == "FAILED" and "AccessDenied" in refused["monthly_report"]["note"]
    assert nights.archive.under("reports/") == {}
    # When the archive accepts again, the next run writes it
    nights.archive.refuse_writes_under = None
    retried = nights.night()
    assert retried["monthly_report"]["status"] == "WRITTEN"
    assert len(nights.archive.under(SEPTEMBER)) == 3


def test_a_format_already_written_is_kept_and_only_the_missing_ones_are_written() -> None:
    nights = september_nights()
    for _ in range(3):
        nights.night()
    # Given September's Markdown already there (a run that wrote it, then failed on the others)
    markdown = b"# written by an earlier run\n"
    nights.archive.put(f"{SEPTEMBER}report.md", markdown, sha256_of(markdown))
    october_1 = nights.night()
    assert sorted(k.rsplit("/", 1)[1] for k in october_1["monthly_report"]["keys"]) == ["report.csv", "report.html"]
    assert nights.archive.objects[f"{SEPTEMBER}report.md"] == markdown


def test_a_run_whose_evidence_the_archive_refused_leaves_the_report_to_the_next_run() -> None:
    nights = september_nights()
    for _ in range(3):
        nights.night()
    nights.archive.refuse_writes = True
    refused = nights.night()
    assert refused["monthly_report"]["status"] == "NOT_WRITTEN"
    nights.archive.refuse_writes = False
    assert nights.night()["monthly_report"]["status"] == "WRITTEN"


def test_a_dry_run_writes_no_report() -> None:
    nights = september_nights()
    for _ in range(3):
        nights.night()
    dry = nights.night(dry_run=True)
    assert dry["monthly_report"] is None and nights.archive.under("reports/") == {}
