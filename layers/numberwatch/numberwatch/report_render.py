"""The monthly report's three renderings of one model (`report_model.MonthReport`): HTML, CSV, Markdown.
Pure: bytes out, nothing read or written.

The one decision: text from Connect and CloudTrail (descriptions, target names, principals, the
archive's attribution notes) is hostile, and each format gets the escaping its readers need. HTML and
Markdown show it as `render.escaped` does in the emails (control and format characters escaped, URL
schemes defanged, length capped), then escape it for their syntax (HTML entities; a backslash before
each of Markdown's syntax characters, pipes included). CSV keeps the exact text (the file is
data, as the archive is) and defuses spreadsheet formulas: a cell that begins with = + - @ tab or CR is
prefixed with an apostrophe (OWASP's advice; a phone number "+1206..." reads "'+1206..."). The HTML is
one file that opens with no network: charts are inline SVG drawn by pygal (imported here only, so the
scan's cold start never pays for it) with pygal's scripts stripped, and a Content-Security-Policy that
allows no script and no fetch at all.
"""

from __future__ import annotations

import csv
import html
import io
import math
import re
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from .render import escaped
from .report_model import CHANGE_TYPES, MonthReport, NumberLine

SHOWN_LIMIT = 120  # characters of one value from Connect, as shown
NONE = "(none)"
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
# What makes Markdown out of text inside a line: emphasis, code, links and images, HTML, entities, table
# cells. (`#`, `+`, `-` and `>` matter at the start of a line only, where a value never is.)
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_\[\]<>|~&])")
CSV_COLUMNS = (
    "section", "date", "region", "target", "target_arn", "description", "country_code", "number_type", "phone_number",
    "phone_number_arn", "change_type", "detail", "actor", "until", "count", "amount",
)  # fmt: skip
_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"
_STYLE = """
body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;margin:2em;color:#1d1d1f;max-width:1200px}
table{border-collapse:collapse;margin:0.5em 0 1.5em;font-size:0.9em}
th,td{border:1px solid #ccc;padding:0.25em 0.6em;text-align:left;vertical-align:top}
th{background:#f2f2f2} td.n{text-align:right;font-variant-numeric:tabular-nums}
figure{margin:0 0 1.5em} .note{color:#8a5300}
"""


def render(report: MonthReport, fmt: str) -> bytes:
    renderers: dict[str, Callable[[MonthReport], str]] = {"html": to_html, "csv": to_csv, "md": to_markdown}
    return renderers[fmt](report).encode()


# ------------------------------------------------------------------ shared
def shown(value: str | None) -> str:
    """A value from Connect as a person reads it (not yet escaped for any syntax)."""
    return NONE if value is None else escaped(value, SHOWN_LIMIT)


def _money(amount: float | None, currency: str) -> str:
    return "no price" if amount is None else f"{amount:,.2f} {currency}"


def _summary(report: MonthReport) -> list[tuple[str, str]]:
    cost, counts = report.cost, report.change_counts
    rows = [
        ("Account", report.account),
        ("Month (UTC)", str(report.month)),
        ("Month-end inventory", f"run {report.month_end_run}, {report.month_end_at}" if report.month_end_run else NONE),
        ("Numbers held at month end", f"{report.numbers_held:,}"),
        ("Changes", ", ".join(f"{counts[k]:,} {k.lower()}" for k in CHANGE_TYPES)),
        ("Unrouted at month end", f"{len(report.unrouted):,}"),
        ("Missing a required tag", _missing_summary(report)),
        ("Released (in cooldown)", f"{len(report.released):,}"),
    ]
    if cost is not None:
        rows += [
            ("Estimated cost a month", _money(cost.monthly, cost.currency)),
            ("of which unrouted", _money(cost.unrouted_monthly, cost.currency)),
            ("Numbers without a price", f"{cost.unpriced:,}"),
            ("Prices", cost.prices),
        ]
    return rows


def _missing_summary(report: MonthReport) -> str:
    if not report.required_tag_keys:
        return "no required tag keys configured (RequiredTagKeys)"
    keys = ", ".join(report.required_tag_keys)
    unread = f"; tags of {report.tags_unread:,} numbers not read this month" if report.tags_unread else ""
    return f"{len(report.missing_tags):,} (required: {keys}){unread}"


def _changes_table(report: MonthReport) -> tuple[list[str], list[list[str]]]:
    header = ["Seen", "Change", "Number", "Region", "Fields", "Who", "When (CloudTrail)"]
    rows = [
        [c.observed_at, c.change_type, c.phone_number, c.region, ", ".join(c.changed_fields) or "",
         shown(c.actor) if c.actor else f"not known: {shown(c.attribution)}", c.acted_at or ""]
        for c in report.changes
    ]  # fmt: skip
    return header, rows


def _holdings_table(report: MonthReport) -> tuple[list[str], list[list[str]]]:
    currency = report.cost.currency if report.cost else ""
    header = ["Region", "Target", "Kind", "Country", "Type", "Numbers", "Cost a month"]
    rows = [
        [h.region, shown(h.target_name), h.target_kind or "", h.country or "", h.number_type or "",
         f"{h.count:,}", _money(h.monthly_cost, currency)]
        for h in report.holdings
    ]  # fmt: skip
    return header, rows


def _numbers_table(lines: Sequence[NumberLine], detail: str) -> tuple[list[str], list[list[str]]]:
    header = ["Number", "Region", "Target", "Description", detail]
    rows = [[n.phone_number, n.region, shown(n.target_name), shown(n.description), n.detail] for n in lines]
    return header, rows


def _released_table(report: MonthReport) -> tuple[list[str], list[list[str]]]:
    header = ["Number", "Region", "Released", "Cooldown ends by"]
    rows = [
        [r.phone_number, r.region, r.released_on.isoformat(), r.cooldown_ends_by.isoformat()] for r in report.released
    ]
    return header, rows


def _sections(report: MonthReport) -> list[tuple[str, str, str, tuple[list[str], list[list[str]]]]]:
    """(id, heading, what it is, table) of each table section, in the order every format shows them."""
    tags = ", ".join(report.required_tag_keys) or "none configured"
    return [
        ("held", "Numbers held at month end", "by Region, target, country and type", _holdings_table(report)),
        ("changes", "Changes of the month", "with who made each (CloudTrail), when known", _changes_table(report)),
        ("unrouted", "Unrouted at month end", "held and paid for, associated with no contact flow",
         _numbers_table(report.unrouted, "Why")),
        ("missing-tags", "Missing a required tag", f"required tag keys: {tags}",
         _numbers_table(report.missing_tags, "Missing keys")),
        ("released", "Released this month", "Connect may keep a released number in cooldown for up to 180 days",
         _released_table(report)),
    ]  # fmt: skip


# ------------------------------------------------------------------ charts
def charts(report: MonthReport) -> list[str]:
    """Numbers held per night (a line) and changes per night by type (stacked bars), as SVG."""
    import pygal  # about 70 ms of imports, paid on the report path only

    days = report.month.days()
    labels = [f"{d.day:02d}" for d in days]
    options: dict[str, Any] = {
        "js": [],  # pygal's default loads its tooltips from the web: the report opens offline
        "disable_xml_declaration": True,
        "width": 900,
        "height": 320,
        "x_labels": labels,
        "legend_at_bottom": True,
        "print_values": False,
        "show_minor_x_labels": True,
    }
    held = pygal.Line(title=f"Numbers held per night, {report.month}", show_legend=False, **options)
    held.add("numbers held", [report.held_per_night.get(d) for d in days])
    tallest = max((sum(counts.values()) for counts in report.changes_per_night.values()), default=0)
    step = max(1, math.ceil(tallest / 10))
    whole = list(range(0, max(tallest, 1) + step, step))  # counts: whole numbers on the axis
    changes = pygal.StackedBar(title=f"Changes per night by type, {report.month}", y_labels=whole, **options)
    for kind in CHANGE_TYPES:
        changes.add(kind.lower(), [report.changes_per_night.get(d, {}).get(kind, 0) for d in days])
    rendered = []
    for name, chart in (("held", held), ("changes", changes)):
        chart.uuid = name  # a fixed id: the same month renders the same bytes
        chart.add_xml_filter(_without_scripts_or_comments)
        rendered.append(str(chart.render(is_unicode=True)))
    return rendered


def _without_scripts_or_comments(root: Any) -> Any:
    """pygal writes a config script (for its tooltips, unused here) and a comment with today's date."""
    for parent in list(root.iter()):
        for child in list(parent):
            if not isinstance(child.tag, str) or child.tag.rsplit("}", 1)[-1] == "script":
                parent.remove(child)
    return root


# ------------------------------------------------------------------ HTML
def _html_table(header: Sequence[str], rows: Iterable[Sequence[str]]) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    body = "".join(
        "<tr>" + "".join(f"<td{_numeric(v)}>{html.escape(v, quote=True)}</td>" for v in row) + "</tr>" for row in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _html_facts(rows: Iterable[tuple[str, str]]) -> str:
    body = "".join(f"<tr><th>{html.escape(k)}</th><td>{html.escape(v, quote=True)}</td></tr>" for k, v in rows)
    return f"<table>{body}</table>"


def _numeric(value: str) -> str:
    return ' class="n"' if value[:1].isdigit() and value.replace(",", "").replace(".", "").isdigit() else ""


def to_html(report: MonthReport) -> str:
    title = html.escape(f"Connect numbers of {report.account}, {report.month}")
    parts = [
        f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        f'<meta http-equiv="Content-Security-Policy" content="{_CSP}">'
        f"<title>{title}</title><style>{_STYLE}</style></head><body>",
        f"<h1>{title}</h1>",
        '<section id="summary"><h2>Summary</h2>',
        _html_facts(_summary(report)),
        "</section>",
    ]
    parts += [f'<p class="note">{html.escape(note)}</p>' for note in report.notes]
    parts.append('<section id="charts"><h2>Night by night</h2>')
    parts += [f"<figure>{svg}</figure>" for svg in charts(report)]
    parts.append("</section>")
    for anchor, heading, what, (header, rows) in _sections(report):
        parts.append(f'<section id="{anchor}"><h2>{html.escape(heading)} ({len(rows):,})</h2>')
        parts.append(f"<p>{html.escape(what)}</p>")
        parts.append(_html_table(header, rows) if rows else "<p>None.</p>")
        parts.append("</section>")
    parts.append("</body></html>\n")
    return "\n".join(parts)


# ------------------------------------------------------------------ Markdown
def md(value: str) -> str:
    """Markdown that shows `value` as text: its syntax characters backslash-escaped, so no pipe, tag, link
    or emphasis survives, and "www." broken so that GitHub does not turn a bare domain into a link."""
    return _MARKDOWN_SPECIAL.sub(r"\\\1", value).replace("www.", "www\\.")


def _md_table(header: Sequence[str], rows: Iterable[Sequence[str]]) -> list[str]:
    lines = ["| " + " | ".join(md(h) for h in header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(md(v) for v in row) + " |" for row in rows]
    return lines


def to_markdown(report: MonthReport) -> str:
    lines = [f"# {md(f'Connect numbers of {report.account}, {report.month}')}", ""]
    lines += [*_md_table(["", ""], _summary(report)), ""]
    lines += [f"> {md(note)}" for note in report.notes]
    lines += ["## Numbers held and changes per night", ""]
    lines += _md_table(
        ["Night", "Numbers held", *(k.lower() for k in CHANGE_TYPES)],
        [
            [d.isoformat(), _count(report.held_per_night.get(d)),
             *(str(report.changes_per_night.get(d, {}).get(k, 0)) for k in CHANGE_TYPES)]
            for d in report.month.days()
        ],
    )  # fmt: skip
    for _, heading, what, (header, rows) in _sections(report):
        lines += ["", f"## {md(heading)} ({len(rows):,})", "", md(what), ""]
        lines += _md_table(header, rows) if rows else ["None."]
    return "\n".join(lines) + "\n"


def _count(value: int | None) -> str:
    return "" if value is None else f"{value:,}"


# ------------------------------------------------------------------ CSV
def cell(value: object) -> object:
    """A CSV cell no spreadsheet evaluates: text that begins like a formula gets an apostrophe."""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def to_csv(report: MonthReport) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    currency = report.cost.currency if report.cost else ""

    def row(section: str, **values: object) -> None:
        writer.writerow([cell(section), *(cell(values.get(column)) for column in CSV_COLUMNS[1:])])

    for label, value in _summary(report):
        row("summary", detail=label, amount=value)
    for note in report.notes:
        row("note", detail=note)
    for d in report.month.days():
        row("night", date=d.isoformat(), count=report.held_per_night.get(d))
        for kind in CHANGE_TYPES:
            count = report.changes_per_night.get(d, {}).get(kind, 0)
            row("night_changes", date=d.isoformat(), change_type=kind, count=count)
    for h in report.holdings:
        row("held", region=h.region, target=h.target_name, target_arn=h.target_arn, country_code=h.country,
            number_type=h.number_type, detail=h.target_kind, count=h.count,
            amount=None if h.monthly_cost is None else f"{h.monthly_cost:.2f} {currency}")  # fmt: skip
    for c in report.changes:
        row("change", date=c.observed_at, region=c.region, target_arn=c.target_arn, phone_number=c.phone_number,
            phone_number_arn=c.phone_number_arn, change_type=c.change_type, detail=" ".join(c.changed_fields),
            actor=c.actor if c.actor else f"not known: {c.attribution}", until=c.acted_at)  # fmt: skip
    for section, lines in (("unrouted", report.unrouted), ("missing_tags", report.missing_tags)):
        for n in lines:
            row(section, region=n.region, target=n.target_name, phone_number=n.phone_number,
                phone_number_arn=n.phone_number_arn, detail=n.detail, description=n.description)  # fmt: skip
    for r in report.released:
        row("released", date=r.released_on.isoformat(), region=r.region, phone_number=r.phone_number,
            phone_number_arn=r.phone_number_arn, until=r.cooldown_ends_by.isoformat())  # fmt: skip
    return buffer.getvalue()
