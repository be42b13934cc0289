"""Tables, CSV and JSON of one set of rows, with text from Connect kept as data.

Descriptions, names and tags are written by the people the tool reports on. In a terminal they must
never lay out the output: every cell goes to Rich as a `Text` (never parsed as markup, so `[bold]`
or `[link=...]` stays literal) after control and format characters are removed (an escape sequence
could otherwise move the cursor or recolour the screen). In CSV a cell that a spreadsheet would run
as a formula (starting with = + - @, a tab or a carriage return) gets a leading quote, except an
E.164 number alone (`+` and digits: no function, no reference, nothing a spreadsheet can run). JSON is
structure-safe and keeps the raw values, for machines.
"""

from __future__ import annotations

import csv
import io
import json
import re
import unicodedata
from collections.abc import Sequence
from enum import StrEnum
from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

_REMOVED_CATEGORIES = frozenset({"Cc", "Cf", "Zl", "Zp", "Co", "Cs", "Cn"})
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_E164 = re.compile(r"\+[0-9]{1,15}")
_HARMLESS_START = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")


class Format(StrEnum):
    TABLE = "table"
    CSV = "csv"
    JSON = "json"


class Report(StrEnum):
    """For a command whose output is one document, not rows: a view for people, or its JSON."""

    TABLE = "table"
    JSON = "json"


def _text(value: Any) -> str:
    """A cell's value as text: a map (tags) as sorted JSON."""
    if isinstance(value, str):
        return value
    return json.dumps(value, sort_keys=True) if isinstance(value, dict) else str(value)


def plain(value: Any) -> str:
    """A value as one line of terminal text: control and format characters removed (newlines, tabs,
    escape sequences and bidirectional overrides among them); None is empty."""
    if value is None:
        return ""
    text = _text(value)
    return "".join(
        c if unicodedata.category(c) not in _REMOVED_CATEGORIES else " " if c in "\t\n\r" else "" for c in text
    )


def csv_cell(value: Any) -> str:
    """A CSV cell no spreadsheet runs as a formula."""
    if value is None:
        return ""
    text = _text(value)
    return f"'{text}" if text.startswith(_FORMULA_STARTS) and not _E164.fullmatch(text) else text


def as_csv(columns: Sequence[str], rows: Sequence[dict[str, Any]]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(columns)
    # The common cell (text that starts harmlessly) inline, the rest through csv_cell: a million cells
    # without a million calls.
    harmless = _HARMLESS_START
    writer.writerows(
        [
            value if value.__class__ is str and value[:1] in harmless else csv_cell(value)
            for value in map(row.get, columns)
        ]
        for row in rows
    )
    return buffer.getvalue()


def as_json(value: Any, indent: int | None = 2) -> str:
    """Indented for a document; `indent=None` for rows, which the C encoder writes ten times faster."""
    if indent is None:
        return json.dumps(value, separators=(",", ":"), default=str)
    return json.dumps(value, indent=indent, sort_keys=True, default=str)


def table(title: str, columns: Sequence[str], rows: Sequence[dict[str, Any]]) -> Table:
    """A Rich table whose every cell is literal text."""
    shown = Table(title=Text(plain(title)), show_lines=False)
    for column in columns:
        shown.add_column(Text(column), overflow="fold")
    for row in rows:
        shown.add_row(*(Text(plain(row.get(column))) for column in columns))
    return shown


def emit(console: Console, output: Format, title: str, columns: Sequence[str], rows: Sequence[dict[str, Any]]) -> None:
    """Rows in the format asked for: a table for people, CSV or JSON for programs (no colour, no wrapping)."""
    if output is Format.TABLE:
        console.print(table(title, columns, rows))
    elif output is Format.CSV:
        console.file.write(as_csv(columns, rows))
    else:
        console.file.write(as_json([{c: row.get(c) for c in columns} for row in rows], indent=None) + "\n")


def say(console: Console, text: str, style: str | None = None) -> None:
    """One line for people, never parsed as markup (it may quote a value from Connect)."""
    console.print(Text(plain(text), style=style or ""), soft_wrap=True)
