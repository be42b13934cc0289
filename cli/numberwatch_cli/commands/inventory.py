"""`numberwatch inventory`: the numbers an account held, from the evidence archive, as of a date."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import typer
from rich.console import Console

from ..output import Format, emit
from .archived import newest_inventory

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
    emit(Console(highlight=False, soft_wrap=output is not Format.TABLE), output, title, COLUMNS, rows)
