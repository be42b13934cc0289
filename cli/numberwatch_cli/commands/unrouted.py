"""`numberwatch unrouted`: numbers held (and paid for) that no contact flow answers, from the newest inventory."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console

from numberwatch.models import UNKNOWN_FLOW

from ..errors import Exit
from ..output import Format, emit, say
from .archived import newest_inventory

COLUMNS = ("phone_number", "country_code", "number_type", "target_name", "region", "description", "first_seen")


def unrouted(
    ctx: typer.Context,
    account: Annotated[str | None, typer.Option(help="The account [default: your credentials']")] = None,
    output: Annotated[
        Format, typer.Option("--format", help="table for people; csv or json for programs")
    ] = Format.TABLE,
) -> None:
    """Numbers associated with no contact flow in the newest full inventory. Exit 1 when there are any.
    A number whose routing could not be read that night is not counted: it is not known to be unrouted."""
    found = newest_inventory(ctx.obj, account, None)
    rows = sorted(
        (row for row in found.numbers if row.get("flow_id") is None),
        key=lambda row: (str(row.get("phone_number")), str(row.get("phone_number_arn"))),
    )
    unknown = sum(1 for row in found.numbers if row.get("flow_id") == UNKNOWN_FLOW)
    console = Console(highlight=False, soft_wrap=output is not Format.TABLE)
    title = f"{len(rows):,} of {len(found.numbers):,} numbers answer no contact flow (run {found.run_id})"
    emit(console, output, title, COLUMNS, rows)
    if unknown and output is Format.TABLE:
        say(console, f"{unknown:,} numbers' routing could not be read that night; they are not listed")
    if rows:
        raise typer.Exit(Exit.FINDINGS)
