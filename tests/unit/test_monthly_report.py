"""The monthly report from an in-memory archive: what it holds, where the month begins and ends, and
how each format shows hostile text from Connect (descriptions, names, tags, principals)."""

from __future__ import annotations

import csv
import io
import os
import re
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, date, datetime

import pytest

from localaws.archived_month import ArchivedNights
from numberwatch.archive_format import INVENTORY
from numberwatch.cost import PriceTable
from numberwatch.evidence import EvidenceMismatch
from numberwatch.models import Actor, Change, ChangeType, PhoneNumber, Target, TargetKind
from numberwatch.monthly_report import build_report, render_month
from numberwatch.report_model import Month, MonthError
from tests.unit.factories import ACCOUNT, number
from tests.unit.fake_archive import FakeArchive

SCRIPT = "<script>document.title='pwned'</script>"
FORMULA = '=HYPERLINK("http://evil.example/x","click")'
HOSTILE_NAME = "</svg><script>alert(1)</script> | *sales* | [x](http://evil.example)"
HOSTILE_PRINCIPAL = "arn:aws:sts::123456789012:assumed-role/Admin/<img src=x onerror=alert(2)>"
TARGET = Target(
    f"arn:aws:connect:us-east-1:{ACCOUNT}:instance/aaaaaaaa-0000-4000-8000-000000000000",
    TargetKind.INSTANCE,
    HOSTILE_NAME,
    f"arn:aws:connect:us-east-1:{ACCOUNT}:instance/aaaaaaaa-0000-4000-8000-000000000000",
    ("us-east-1",),
)
REQUIRED = ("cost-center", "owner")


def at(day: date, hour: int = 6) -> datetime:
    return datetime(day.year, day.month, day.day, hour, 0, 0, 250_000, tzinfo=UTC)


class Month10:
    """October 2026: three nights, framed by a night of September 30 and one of November 1.

    - number 1: unrouted, its description hostile, described every night tagged owner only (lacks cost-center);
    - number 2: routed, described fully tagged on October 1, not described after;
    - number 3: routed, described only on November 1 (after the month): its tags unread in October;
    - number 4: released on October 2 (CloudTrail recorded the call late on October 1) by a hostile principal;
    - number 5: claimed on October 3, nobody known; on November 1, number 6 is claimed (not October's)."""

    def __init__(self) -> None:
        self.archive = FakeArchive()
        self.nights = ArchivedNights(self.archive, ACCOUNT)
        n1 = self._number(1, flow=None, tags={"owner": "x"}, description=f"{SCRIPT} | {FORMULA}")
        n2_tagged = self._number(2, tags={"cost-center": "1", "owner": "y"})
        n2, n3, n4 = self._number(2), self._number(3), self._number(4)
        n3_untagged = self._number(3, tags={})
        self.n5, n6 = self._number(5), self._number(6)
        release = Actor(
            "ReleasePhoneNumber", "2026-10-01T23:50:00Z", "e1", principal_arn=HOSTILE_PRINCIPAL, session_name="s"
        )
        self.runs = {
            "sep30": self.nights.night(at(date(2026, 9, 30)), {TARGET: [n1, n2, n3, n4]}, described=[n1]),
            "oct1": self.nights.night(at(date(2026, 10, 1)), {TARGET: [n1, n2, n3, n4]}, described=[n1, n2_tagged]),
            "oct2": self.nights.night(
                at(date(2026, 10, 2)),
                {TARGET: [n1, n2, n3]},
                [self._change(ChangeType.RELEASED, n4, release)],
                described=[n1],
            ),
            "oct3": self.nights.night(
                at(date(2026, 10, 3)),
                {TARGET: [n1, n2, n3, self.n5]},
                [self._change(ChangeType.CLAIMED, self.n5)],
                attribution="made in the admin website: not recorded as an API call",
                described=[n1],
            ),
            "nov1": self.nights.night(
                at(date(2026, 11, 1)),
                {TARGET: [n1, n2, n3, self.n5, n6]},
                [self._change(ChangeType.CLAIMED, n6)],
                described=[n1, n3_untagged],
            ),
        }

    @staticmethod
    def _number(
        index: int, flow: str | None = "flow-1", tags: dict[str, str] | None = None, description: str | None = None
    ) -> PhoneNumber:
        tagged = None if tags is None else tuple(sorted(tags.items()))
        return replace(number(index, TARGET, description=description), flow_id=flow, tags=tagged)

    @staticmethod
    def _change(kind: ChangeType, subject: PhoneNumber, actor: Actor | None = None) -> Change:
        before, after = (subject, None) if kind is ChangeType.RELEASED else (None, subject)
        return Change(kind, subject.arn, before, after, 1, 2, (), actor)

    def render(self, fmt: str, month: str = "2026-10") -> str:
        return render_month(self.archive, ACCOUNT, month, fmt, required_tag_keys=REQUIRED).decode()  # type: ignore[arg-type]


@pytest.fixture
def october() -> Month10:
    return Month10()


def test_the_month_is_its_own_nights_and_changes_and_its_end_is_its_last_full_inventory(october: Month10) -> None:
    # Given nights of September 30, October 1 to 3 and November 1
    # When October's report is built
    report = build_report(october.archive, ACCOUNT, Month.parse("2026-10"), PriceTable.example_table(), REQUIRED)
    # Then only October's nights are counted, its changes alone are listed, and October 3 is its end
    assert report.held_per_night == {date(2026, 10, 1): 4, date(2026, 10, 2): 3, date(2026, 10, 3): 4}
    assert [(c.change_type, c.phone_number) for c in report.changes] == [
        ("RELEASED", "+12060000004"),
        ("CLAIMED", "+12060000005"),
    ]
    assert report.month_end_run == october.runs["oct3"]
    assert report.numbers_held == 4
    assert [(h.target_name, h.country, h.number_type, h.count) for h in report.holdings] == [
        (HOSTILE_NAME, "US", "DID", 4)
    ]
    assert [n.phone_number for n in report.unrouted] == ["+12060000001"]


def test_who_made_each_change_or_why_nobody_is_known(october: Month10) -> None:
    report = build_report(october.archive, ACCOUNT, Month.parse("2026-10"), PriceTable.example_table(), REQUIRED)
    released, claimed = report.changes
    assert released.actor == f"{HOSTILE_PRINCIPAL} (ReleasePhoneNumber)"
    assert released.acted_at == "2026-10-01T23:50:00Z"
    assert claimed.actor is None
    assert claimed.attribution == "made in the admin website: not recorded as an API call"


def test_a_released_number_is_dated_by_cloudtrails_call_and_its_cooldown_ends_180_days_later(
    october: Month10,
) -> None:
    # Given number 4 released by a call CloudTrail recorded at 23:50 on October 1, seen the night of October 2
    report = build_report(october.archive, ACCOUNT, Month.parse("2026-10"), PriceTable.example_table(), REQUIRED)
    # Then it was released on October 1, and its cooldown ends by March 30, 2027 at the latest
    (released,) = report.released
    assert (released.phone_number, released.released_on, released.cooldown_ends_by) == (
        "+12060000004",
        date(2026, 10, 1),
        date(2027, 3, 30),
    )


def test_a_release_nobody_recorded_is_dated_by_the_night_it_was_seen() -> None:
    archive = FakeArchive()
    nights = ArchivedNights(archive, ACCOUNT)
    gone = Month10._number(9)
    nights.night(at(date(2026, 10, 30)), {TARGET: []}, [Month10._change(ChangeType.RELEASED, gone)])
    report = build_report(archive, ACCOUNT, Month.parse("2026-10"), PriceTable.example_table())
    assert [(r.released_on, r.cooldown_ends_by) for r in report.released] == [(date(2026, 10, 30), date(2027, 4, 28))]


def test_missing_tags_come_from_the_newest_night_that_read_them_and_unread_ones_are_counted_apart(
    october: Month10,
) -> None:
    # Given number 1 described every night tagged owner only, number 2 described fully tagged on October 1 only,
    # number 3 described (untagged) only on November 1, and number 5 (claimed October 3, nobody known) never
    report = build_report(october.archive, ACCOUNT, Month.parse("2026-10"), PriceTable.example_table(), REQUIRED)
    # Then number 1 lacks cost-center, number 2 lacks nothing, and two numbers' tags are unknown
    assert [(n.phone_number, n.detail) for n in report.missing_tags] == [("+12060000001", "cost-center")]
    assert report.tags_unread == 2


def test_the_estimated_cost_is_the_price_tables_for_the_numbers_held_at_month_end(october: Month10) -> None:
    prices = PriceTable.parse(
        '{"currency": "USD", "source": "test", "as_of": "2026-10-01", "daily": {"US": {"DID": 0.1}}}'
    )
    report = build_report(october.archive, ACCOUNT, Month.parse("2026-10"), prices)
    assert report.cost is not None
    assert (report.cost.monthly, report.cost.unrouted_monthly, report.cost.unpriced) == (12.0, 3.0, 0)


def test_html_shows_hostile_text_as_text_and_holds_no_script_at_all(october: Month10) -> None:
    page = october.render("html")
    assert "<script" not in page.lower()
    assert "<img" not in page.lower()
    assert "&lt;script&gt;document.title=&#x27;pwned&#x27;&lt;/script&gt;" in page
    assert "&lt;/svg&gt;&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "&lt;img src=x onerror=alert(2)&gt;" in page


def test_html_opens_with_no_network(october: Month10) -> None:
    page = october.render("html")
    # Nothing fetched: no src, no stylesheet link, no url() in a style, no import, and a policy that allows none
    assert not re.search(r"\b(src|href)\s*=", page.replace("src=x onerror", ""))
    assert "url(" not in page and "@import" not in page and "kozea.github.io" not in page
    assert '<meta http-equiv="Content-Security-Policy" content="default-src \'none\';' in page


def test_html_draws_both_charts_with_a_point_per_night_and_a_bar_per_change(october: Month10) -> None:
    page = october.render("html")
    held, changes = re.findall(r"<svg\b.*?</svg>", page, flags=re.S)
    assert "Numbers held per night" in held and held.count("<circle") == 3  # the three nights of October
    assert "Changes per night by type" in changes
    bars = re.findall(r'<rect [^>]*height="([0-9.]+)" class="rect reactive tooltip-trigger"', changes)
    assert sum(1 for height in bars if float(height) > 0) == 2  # one release, one claim


def test_the_same_month_renders_the_same_bytes(october: Month10) -> None:
    # The scan writes each format once and a retry must not conflict with what it wrote: no uuid, no date
    assert october.render("html") == october.render("html")
    assert re.search(r"20\d\d-\d\d-\d\d", october.render("html").split("<svg", 1)[1].split("</svg>", 1)[0]) is None


def test_csv_cells_that_start_like_formulas_get_an_apostrophe_and_keep_their_text(october: Month10) -> None:
    rows = list(csv.DictReader(io.StringIO(october.render("csv"))))
    (unrouted,) = [r for r in rows if r["section"] == "unrouted"]
    assert unrouted["description"] == f"{SCRIPT} | {FORMULA}"  # starts with "<": kept as it is
    assert unrouted["phone_number"] == "'+12060000001"
    (held,) = [r for r in rows if r["section"] == "held"]
    assert held["target"] == HOSTILE_NAME
    every_cell = [value for row in rows for value in row.values() if value]
    assert not [value for value in every_cell if value[0] in "=+-@\t\r"]


def test_a_description_that_is_a_formula_is_defused_in_csv() -> None:
    archive = FakeArchive()
    ArchivedNights(archive, ACCOUNT).night(
        at(date(2026, 10, 5)), {TARGET: [Month10._number(1, flow=None, description=FORMULA)]}
    )
    rows = list(csv.DictReader(io.StringIO(render_month(archive, ACCOUNT, "2026-10", "csv").decode())))
    (unrouted,) = [r for r in rows if r["section"] == "unrouted"]
    assert unrouted["description"] == "'" + FORMULA


def test_markdown_escapes_every_pipe_and_tag_so_each_row_keeps_its_columns(october: Month10) -> None:
    text = october.render("md")
    held_table = text.split("## Numbers held at month end")[1].split("##")[0]
    header, _, row = [line for line in held_table.splitlines() if line.startswith("|")]
    unescaped_pipes = re.compile(r"(?<!\\)\|")
    assert len(unescaped_pipes.findall(row)) == len(unescaped_pipes.findall(header))
    assert "<script>" not in text
    assert not re.search(r"(?<!\\)\]\(", text)  # no link: every "](" has its bracket escaped
    assert r"\<script\>" in text


def test_a_month_with_no_run_says_so_in_every_format() -> None:
    archive = FakeArchive()
    for fmt in ("html", "csv", "md"):
        body = render_month(archive, ACCOUNT, "2026-10", fmt).decode()  # type: ignore[arg-type]
        assert "the archive holds no full inventory on or before 2026-10-31" in body


def test_a_month_without_a_full_inventory_ends_with_the_inventory_it_started_with(october: Month10) -> None:
    # Given nothing archived in December, the newest full inventory before it is November 1's
    report = build_report(october.archive, ACCOUNT, Month.parse("2026-12"), PriceTable.example_table())
    assert report.month_end_run == october.runs["nov1"]
    assert report.numbers_held == 5 and report.held_per_night == {} and report.changes == []


def test_an_object_that_does_not_match_its_manifest_stops_the_report(october: Month10) -> None:
    (key,) = [k for k in october.archive.under(INVENTORY.prefix) if october.runs["oct2"] in k]
    body = october.archive.objects[key]
    october.archive.objects[key] = body[:-1] + bytes([body[-1] ^ 1])
    with pytest.raises(EvidenceMismatch, match=key):
        render_month(october.archive, ACCOUNT, "2026-10", "md")


@pytest.mark.parametrize(("month", "fmt"), [("2026-13", "html"), ("October", "html"), ("2026-10", "pdf")])
def test_a_bad_month_or_format_is_refused_with_what_is_expected(month: str, fmt: str) -> None:
    with pytest.raises(ValueError, match=r"YYYY-MM|one of html, csv, md"):
        render_month(FakeArchive(), ACCOUNT, month, fmt)  # type: ignore[arg-type]


def test_month_error_is_a_value_error_naming_the_format() -> None:
    with pytest.raises(MonthError, match="2026-10"):
        Month.parse("10/2026")


def test_the_scan_never_imports_the_renderer_or_pygal() -> None:
    # The report path imports pygal (about 70 ms); the nightly scan's cold start must not pay for it
    code = (
        "import sys, numberwatch.service, numberwatch.monthly_report; "
        "print(sorted(m for m in sys.modules if m.startswith(('pygal', 'numberwatch.report_render'))))"
    )
    environment = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env=environment)
    loaded = run.stdout.strip()
    assert loaded == "[]"


def test_a_change_carries_the_tags_it_was_described_with_when_no_inventory_row_does() -> None:
    # Given inventories that never hold tags, and an update that removed the owner tag of number 2
    archive = FakeArchive()
    nights = ArchivedNights(archive, ACCOUNT)
    one, two = Month10._number(1), Month10._number(2)
    untagged = replace(two, tags=(("cost-center", "7"),), description="edited")
    nights.night(at(date(2026, 10, 1)), {TARGET: [one, two]})
    update = Change(ChangeType.UPDATED, two.arn, two, untagged, 1, 2, ("PhoneNumberDescription",))
    nights.night(at(date(2026, 10, 2)), {TARGET: [one, two]}, [update])
    # When the report is built
    report = build_report(archive, ACCOUNT, Month.parse("2026-10"), PriceTable.example_table(), REQUIRED)
    # Then number 2 lacks owner, by its change; number 1's tags are unknown
    assert [(n.phone_number, n.detail) for n in report.missing_tags] == [("+12060000002", "owner")]
    assert report.tags_unread == 1


def _tags_night(
    nights: ArchivedNights, day: date, held: list[PhoneNumber], changes: Sequence[Change] = (),
    described: Sequence[PhoneNumber] = (),
) -> None:  # fmt: skip
    nights.night(at(day), {TARGET: held}, changes, described=described)


def test_tags_described_before_the_month_count_and_the_newer_of_a_details_row_and_a_change_wins() -> None:
    # Given number 1 described fully tagged in August (well within the lookback) and not since;
    # number 2 fully tagged by an October 2 change, then described without its owner tag on October 3;
    # number 3 described without tags on October 1, then fully tagged by an October 2 change;
    # number 4 described fully tagged in June, before the lookback
    archive = FakeArchive()
    nights = ArchivedNights(archive, ACCOUNT)
    held = [Month10._number(index) for index in (1, 2, 3, 4)]
    full = {"cost-center": "1", "owner": "o"}
    n1, n2, n3, n4 = (Month10._number(index, tags=full) for index in (1, 2, 3, 4))
    _tags_night(nights, date(2026, 6, 15), held, described=[n4])
    _tags_night(nights, date(2026, 8, 20), held, described=[n1])
    _tags_night(nights, date(2026, 10, 1), held, described=[Month10._number(3, tags={})])
    updates = [Change(ChangeType.UPDATED, n.arn, before, n, 1, 2, ("Tags",)) for n, before in ((n2, held[1]),
               (n3, held[2]))]  # fmt: skip
    _tags_night(nights, date(2026, 10, 2), held, updates)
    _tags_night(nights, date(2026, 10, 3), held, described=[Month10._number(2, tags={"cost-center": "1"})])
    # When October's report is built
    report = build_report(archive, ACCOUNT, Month.parse("2026-10"), PriceTable.example_table(), REQUIRED)
    # Then number 1 lacks nothing (August's details), number 2 lacks owner (October 3's details, newer than
    # its change), number 3 lacks nothing (its change, newer than October 1's details), number 4 is unread
    assert [(n.phone_number, n.detail) for n in report.missing_tags] == [("+12060000002", "owner")]
    assert report.tags_unread == 1
