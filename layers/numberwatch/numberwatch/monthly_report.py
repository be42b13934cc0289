"""The monthly report, from the evidence archive alone: `render_month` is the one entry point (the
`numberwatch report` command and the scan's first run of each month both call it).

The one decision: the month is streamed, never held. Each night's inventory is decompressed a chunk at
a time and counted line by line; a row is parsed only when it belongs to the month-end inventory, whose
rows are folded into aggregates as they come. Every object read is checked against the SHA-256 its
manifest records, as the verifier does.

Which numbers miss a required tag comes from the archived tags and the `RequiredTagKeys` setting, not
from the month's `MISSING_REQUIRED_TAGS` findings: findings are events the archive does not keep (its
changes table holds `NUMBER_CHANGE` events), and a finding is sent once, when a number becomes so, so a
number untagged since before the month would never appear. A number's tags are the newest the evidence
holds at month end: a details row's (DescribePhoneNumber's answer, read in rotation a budget a night, so
the nights of the `TAGS_LOOKBACK_DAYS` before the month are read too) or a change's (every changed
number is described, and its event carries its tags), whichever is newer. Numbers whose tags no such
evidence holds are counted apart, never guessed.
"""

from __future__ import annotations

import json
import zlib
from collections import Counter
from collections.abc import Iterator, Sequence
from datetime import date, datetime, timedelta
from typing import Any, Literal, get_args

from .archive_format import (
    CHANGES,
    DETAILS,
    Entry,
    Manifest,
    manifest_prefix,
    manifest_started_at,
    partition_value,
    rows_of,
    sha256_of,
)
from .cost import DAYS_A_MONTH, PriceTable
from .evidence import EvidenceMismatch, read_manifest
from .ports import Archive
from .report_model import (
    ChangeLine,
    Cost,
    Holding,
    Month,
    MonthReport,
    NumberLine,
    Released,
    cooldown_ends_by,
)

Format = Literal["html", "csv", "md"]
FORMATS: tuple[Format, ...] = get_args(Format)
_CHUNK = 1 << 20  # decompressed bytes at a time: a few thousand rows
# How far before the month the details rows are read: a number is described in rotation, at most about
# numbers / DescribeCallsPerRun nights apart (92 nights cover 27,600 numbers at the default 300).
TAGS_LOOKBACK_DAYS = 92


def render_month(
    archive: Archive,
    account: str,
    month: str,
    fmt: Format,
    prices: PriceTable | None = None,
    *,
    required_tag_keys: Sequence[str] = (),
) -> bytes:
    """The report of `month` (YYYY-MM, UTC) for `account`, from the archive alone, as `fmt`:

    - ``html``: one self-contained file (charts as inline SVG, no script, no external file or font);
    - ``csv``: one table, a `section` column first, every cell safe to open in a spreadsheet;
    - ``md``: Markdown, every value from Connect escaped.

    It holds the numbers held at month end (by Region, target, country and type), every change of
    the month with who made it, the unrouted numbers at month end, the numbers missing one of
    `required_tag_keys` (the deployment's `RequiredTagKeys`; none given: that section says so),
    the numbers released with the latest date their cooldown ends, the estimated monthly cost, and
    numbers held and changes per night. Month end is the newest full inventory of a run that started
    on or before the month's last day.

    `prices` is a `numberwatch.cost.PriceTable` (the deployment's `NumberPrices`); None prices with
    the example table and the report says the figures are examples. Raises `MonthError` for a month
    that is not YYYY-MM, `ValueError` for another format, `EvidenceMismatch` when an archived object
    does not match its manifest, and `ArchiveUnavailable` when the archive cannot be read.
    """
    if fmt not in FORMATS:
        raise ValueError(f"a report is one of {', '.join(FORMATS)}, not {fmt!r}")
    report = build_report(archive, account, Month.parse(month), prices or PriceTable.example_table(), required_tag_keys)
    from .report_render import render  # here: the scan's cold start never loads the renderer

    return render(report, fmt)


def build_report(
    archive: Archive, account: str, month: Month, prices: PriceTable, required_tag_keys: Sequence[str] = ()
) -> MonthReport:
    """The month's report model, read from the archive."""
    report = MonthReport(account, month, required_tag_keys=tuple(required_tag_keys))
    keys = archive.keys(manifest_prefix(account))
    in_month = [k for k in keys if month.holds(manifest_started_at(k).date())]
    manifests = [read_manifest(archive, key) for key in in_month]
    tags = _Tags(tuple(required_tag_keys))
    for manifest in manifests:
        _read_changes(archive, manifest, report, tags)
    if tags.required:
        since = month.first_day - timedelta(days=TAGS_LOOKBACK_DAYS)
        before = [k for k in keys if since <= manifest_started_at(k).date() < month.first_day]
        for manifest in [*(read_manifest(archive, key) for key in before), *manifests]:
            _read_details(archive, manifest, tags)
    nightly: dict[date, Manifest] = {}  # the last full run of each night
    for manifest in manifests:
        if manifest.full_inventory:
            nightly[_started(manifest).date()] = manifest
    month_end = next(reversed(nightly.values()), None) or _last_full_before(archive, keys, month)
    if month_end is None:
        report.notes.append(f"the archive holds no full inventory on or before {month.last_day.isoformat()}")
    readings = list(nightly.values())
    if month_end is not None and month_end not in readings:
        readings.insert(0, month_end)  # no full run in the month: the state it started with
    end = _MonthEnd(report, prices, tags)
    for manifest in readings:
        is_end = manifest is month_end
        count = sum(
            _read_inventory(archive, entry, end if is_end else None)
            for entry in manifest.objects
            if entry.key in manifest.inventory_keys
        )
        if month.holds(_started(manifest).date()):
            report.held_per_night[_started(manifest).date()] = count
    if month_end is not None:
        report.month_end_run, report.month_end_at = month_end.run_id, month_end.started_at
        end.close()
    if not nightly:
        report.notes.append("no run of the month archived a full inventory: numbers per night are not known")
    report.changes.sort(key=lambda c: (c.observed_at, c.region, c.phone_number, c.change_type))
    report.released.sort(key=lambda r: (r.released_on, r.phone_number))
    return report


class _Tags:
    """Which required keys each number lacked, by the newest evidence that held its tags."""

    def __init__(self, required: tuple[str, ...]) -> None:
        self.required = required
        self._newest: dict[str, tuple[str, tuple[str, ...]]] = {}  # ARN -> (observed at, missing keys)
        self._shared: dict[tuple[str, ...], tuple[str, ...]] = {}  # the few distinct answers, shared

    def of(self, tags: dict[str, str]) -> tuple[str, ...]:
        missing = tuple(key for key in self.required if key not in tags)
        return self._shared.setdefault(missing, missing)

    def missing(self, arn: str) -> tuple[str, ...] | None:
        """The keys the number lacked when its tags were last read; None: no evidence read them."""
        newest = self._newest.get(arn)
        return None if newest is None else newest[1]

    def note(self, arn: str, observed_at: str, tags: dict[str, str] | None) -> None:
        if self.required and tags is not None:
            known = self._newest.get(arn)
            if known is None or known[0] <= observed_at:
                self._newest[arn] = (observed_at, self.of(tags))


class _MonthEnd:
    """The month-end inventory, folded row by row into what the report shows."""

    def __init__(self, report: MonthReport, prices: PriceTable, tags: _Tags) -> None:
        self.report, self.prices, self.tags = report, prices, tags
        self.held: Counter[tuple[str, str, str | None, str | None, str | None, str | None]] = Counter()
        self.unrouted_kinds: Counter[tuple[str, str]] = Counter()

    def add(self, row: dict[str, Any], region: str) -> None:
        report = self.report
        country, kind = row.get("country_code"), row.get("number_type")
        target = (region, row["target_arn"], row.get("target_name"), row.get("target_kind"), country, kind)
        self.held[target] += 1
        if row.get("flow_id") is None:
            self.unrouted_kinds[(country or "", kind or "")] += 1
            report.unrouted.append(_number_line(row, region, "associated with no contact flow"))
        if not self.tags.required:
            return
        missing = self.tags.missing(row["phone_number_arn"])
        if missing is None:
            report.tags_unread += 1
        elif missing:
            report.missing_tags.append(_number_line(row, region, ", ".join(missing)))

    def close(self) -> None:
        report, prices = self.report, self.prices
        by_kind: Counter[tuple[str, str]] = Counter()
        for (region, arn, name, target_kind, country, kind), count in sorted(self.held.items(), key=_holding_order):
            by_kind[(country or "", kind or "")] += count
            rate = prices.daily_rate(country or "", kind or "")
            cost = None if rate is None else round(rate * count * DAYS_A_MONTH, 2)
            report.holdings.append(Holding(region, arn, name, target_kind, country, kind, count, cost))
        report.numbers_held = sum(by_kind.values())
        held, unrouted = prices.estimate(by_kind), prices.estimate(self.unrouted_kinds)
        report.cost = Cost(prices.currency, held.monthly, unrouted.monthly, held.unpriced, prices.describe_source())
        report.unrouted.sort(key=lambda n: n.phone_number)
        report.missing_tags.sort(key=lambda n: n.phone_number)


def _holding_order(item: tuple[tuple[str, str, str | None, str | None, str | None, str | None], int]) -> list[str]:
    return [part or "" for part in item[0]]


def _number_line(row: dict[str, Any], region: str, detail: str) -> NumberLine:
    return NumberLine(
        phone_number=str(row.get("phone_number") or ""),
        phone_number_arn=row["phone_number_arn"],
        region=region,
        target_name=row.get("target_name"),
        description=row.get("description"),
        detail=detail,
    )


def _read_inventory(archive: Archive, entry: Entry, end: _MonthEnd | None) -> int:
    """Stream one inventory object: its row count, and, for the month-end inventory, every row into `end`."""
    region = partition_value(entry.key, "region")
    count = 0
    for line in _lines(_checked(archive, entry)):
        count += 1
        if end is not None:
            end.add(json.loads(line), region)
    return count


def _read_details(archive: Archive, manifest: Manifest, tags: _Tags) -> None:
    """Every number a run described, its tags into `tags` (at most a night's DescribePhoneNumber budget)."""
    for entry in manifest.objects:
        if entry.key.startswith(f"{DETAILS.prefix}/"):
            for line in _lines(_checked(archive, entry)):
                row = json.loads(line)
                tags.note(row["phone_number_arn"], row["described_at"], row.get("tags"))


def _lines(body: bytes) -> Iterator[bytes]:
    """The rows of a gzip JSON Lines object, decompressed a chunk at a time."""
    decompressor = zlib.decompressobj(16 + zlib.MAX_WBITS)
    pending = b""
    data = decompressor.decompress(body, _CHUNK)
    while data:
        *complete, pending = (pending + data).split(b"\n")
        yield from (line for line in complete if line)
        data = decompressor.decompress(decompressor.unconsumed_tail, _CHUNK)
    if pending.strip():
        yield pending


def _read_changes(archive: Archive, manifest: Manifest, report: MonthReport, tags: _Tags) -> None:
    for entry in manifest.objects:
        if not entry.key.startswith(f"{CHANGES.prefix}/"):
            continue
        region = partition_value(entry.key, "region")
        for row in rows_of(_checked(archive, entry)):
            change = _change_line(row, region)
            tags.note(change.phone_number_arn, change.observed_at, (row.get("after") or {}).get("Tags"))
            report.changes.append(change)
            night = datetime.fromisoformat(change.observed_at).date()
            counts = report.changes_per_night.setdefault(night, {})
            counts[change.change_type] = counts.get(change.change_type, 0) + 1
            if change.change_type == "RELEASED":
                released_on = _released_on(row, night)
                report.released.append(
                    Released(change.phone_number, change.phone_number_arn, region, released_on,
                             cooldown_ends_by(released_on))
                )  # fmt: skip


def _change_line(row: dict[str, Any], region: str) -> ChangeLine:
    actor = row.get("actor") or None
    who = None
    if actor is not None:
        principal = actor.get("principal_arn") or actor.get("session_name") or "unknown principal"
        who = f"{principal} ({actor.get('event_name') or 'call'})"
    return ChangeLine(
        observed_at=str(row["observed_at"]),
        change_type=str(row["change_type"]),
        phone_number=str(row.get("phone_number") or ""),
        phone_number_arn=str(row["phone_number_arn"]),
        region=region,
        target_arn=row.get("target_arn"),
        changed_fields=tuple(row.get("changed_fields") or ()),
        actor=who,
        acted_at=None if actor is None else actor.get("event_time"),
        attribution=row.get("attribution"),
    )


def _released_on(row: dict[str, Any], night: date) -> date:
    """CloudTrail's time of the ReleasePhoneNumber call when it recorded one, else the night it was seen."""
    actor = row.get("actor") or {}
    if actor.get("event_name") == "ReleasePhoneNumber" and actor.get("event_time"):
        return datetime.fromisoformat(str(actor["event_time"])).date()
    return night


def _last_full_before(archive: Archive, keys: list[str], month: Month) -> Manifest | None:
    for key in reversed([k for k in keys if manifest_started_at(k).date() < month.first_day]):
        manifest = read_manifest(archive, key)
        if manifest.full_inventory:
            return manifest
    return None


def _checked(archive: Archive, entry: Entry) -> bytes:
    body = archive.get(entry.key)
    if sha256_of(body) != entry.sha256:
        raise EvidenceMismatch(f"{entry.key} does not match the SHA-256 its manifest records")
    return body


def _started(manifest: Manifest) -> datetime:
    return datetime.fromisoformat(manifest.started_at)
