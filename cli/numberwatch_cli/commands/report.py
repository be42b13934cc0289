"""`numberwatch report`: the monthly report of one account, from the evidence archive alone.

The same bytes the first run of the next month writes to the archive (`numberwatch.monthly_report`),
rendered here on demand: for a month still running, or into a file of one's own. The required tag keys
and the price table are the deployment's (its RequiredTagKeys and NumberPrices parameters, read with
its outputs) unless given here (or by the function's own REQUIRED_TAG_KEYS and NUMBER_PRICES
variables); with the bucket named instead of read from a stack, none is read: the defaults are none
and the example prices.
"""

from __future__ import annotations

import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from numberwatch.cost import PriceTable
from numberwatch.evidence import EvidenceMismatch
from numberwatch.monthly_report import render_month
from numberwatch.report_model import Month, MonthError

from ..errors import CliError, Exit
from ..output import say


class ReportFormat(StrEnum):
    HTML = "html"
    CSV = "csv"
    MD = "md"


def report(
    ctx: typer.Context,
    month: Annotated[str, typer.Option(help="The month, YYYY-MM (UTC)")],
    output_format: Annotated[
        ReportFormat, typer.Option("--format", help="html (one file, opens offline), csv or md")
    ] = ReportFormat.HTML,
    output: Annotated[
        str | None,
        typer.Option(
            "--output", "-o", help="Where to write it ('-': standard output) [default: report-ACCOUNT-MONTH.FORMAT]"
        ),
    ] = None,
    account: Annotated[str | None, typer.Option(help="The account [default: your credentials']")] = None,
    required_tag_keys: Annotated[
        str | None,
        typer.Option(
            envvar="REQUIRED_TAG_KEYS",
            help="Tag keys every number must carry, comma-separated [default: the stack's RequiredTagKeys]",
        ),
    ] = None,
    prices: Annotated[
        str | None,
        typer.Option(
            envvar="NUMBER_PRICES",
            help="The price table's JSON, as NUMBER_PRICES takes it [default: the stack's NumberPrices]",
        ),
    ] = None,
) -> None:
    """Numbers held at month end, every change of the month with who made it, unrouted numbers, numbers
    missing a required tag, releases and their cooldown, the estimated cost, and charts per night."""
    try:
        Month.parse(month)
    except MonthError as exc:
        raise CliError(f"{exc}: give --month as YYYY-MM, e.g. 2026-10") from exc
    who = account or ctx.obj.account
    keys = required_tag_keys if required_tag_keys is not None else ctx.obj.parameter("RequiredTagKeys") or ""
    table_text = prices if prices is not None else ctx.obj.parameter("NumberPrices") or ""
    try:
        table = PriceTable.parse(table_text) if table_text.strip() else None
    except ValueError as exc:
        raise CliError(f"the price table is not valid ({exc}): see NUMBER_PRICES in the README") from exc
    try:
        body = render_month(
            ctx.obj.archive(),
            who,
            month,
            output_format.value,
            table,
            required_tag_keys=[key.strip() for key in keys.split(",") if key.strip()],
        )
    except EvidenceMismatch as exc:
        raise CliError(
            f"the archive does not match its manifest ({exc}): run `numberwatch verify`", Exit.FINDINGS
        ) from exc
    if output == "-":
        sys.stdout.buffer.write(body)
        return
    path = Path(output or f"report-{who}-{month}.{output_format.value}")
    path.write_bytes(body)
    say(Console(highlight=False, stderr=True), f"wrote {path} ({len(body):,} bytes)")
