"""`numberwatch inventory`: the numbers an account held, from the evidence archive, as of a date."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import typer
from rich.console import Console

from ..output import Format, emit, say
from .archived import newest_inventory

# A terminal table of 100,000 rows takes Rich minutes to lay out and nobody reads it: a table shows the
# first rows and says how many more there are; CSV and JSON always carry every row.
TABLE_ROWS = 500
COLUMNS = (
    "phone_number",
    "country_code",
    "number_type",
    "target_name",
    "target_kind",
    "region",
    "flow_name",
    "description",
    "first_seen",
    "phone_number_arn",
)
TABLE_COLUMNS = tuple(c for c in COLUMNS if c not in ("target_kind", "phone_number_arn"))  # a terminal's width


def inventory(
    ctx: typer.Context,
    as_of: Annotated[
        datetime | None, typer.Option(formats=["%Y-%m-%d"], help="A UTC date [default: today: the newest inventory]")
    ] = None,
    account: Annotated[str | None, typer.Option(help="The account [default: your credentials']")] = None,
    region: Annotated[str | None, typer.Option(help="Only numbers of this Region")] = None,
    target: Annotated[str | None, typer.Option(help="Only numbers of this instance or TDG (ARN or name)")] = None,
    output: Annotated[
        Format, typer.Option("--format", help="table for people; csv or json for programs")
    ] = Format.TABLE,
    limit: Annotated[
        int, typer.Option(min=0, help="Rows a table shows (0: all; csv and json always give every row)")
    ] = TABLE_ROWS,
) -> None:
    """The numbers held as of a date: the newest complete full inventory on or before it, checked against
    its manifest (the archive starts with its first full run)."""
    found = newest_inventory(ctx.obj, account, as_of.date() if as_of else None)
    rows = [
        row
        for row in found.numbers
        if (region is None or row.get("region") == region)
        and (target is None or target in (row.get("target_arn"), row.get("target_name")))
    ]
    rows.sort(key=lambda row: (str(row.get("phone_number")), str(row.get("phone_number_arn"))))
    title = f"{len(rows):,} numbers as of run {found.run_id} ({found.started_at})"
    console = Console(highlight=False, soft_wrap=output is not Format.TABLE)
    shown = rows[:limit] if output is Format.TABLE and limit else rows
    emit(console, output, title, TABLE_COLUMNS if output is Format.TABLE else COLUMNS, shown)
    if len(shown) < len(rows):
        say(
            console,
            f"... and {len(rows) - len(shown):,} more: --limit 0 shows them all; --format csv or json gives them",
        )
