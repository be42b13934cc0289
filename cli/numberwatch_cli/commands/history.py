"""`numberwatch history`: every change of a number, and who made it, from the table's NumberHistory index.

A number is its ARN (`NUM#<arn>` in the index). Given an E.164 number instead, its ARNs are found by a
filtered scan of the number items (about $0.003 at 100,000 numbers): a number released and claimed
again has a new ARN, and the history shows both. The index is eventually consistent: a run that has
just finished may take a moment to show.
"""

from __future__ import annotations

import json
import re
from typing import Annotated, Any

import typer
from rich.console import Console

from numberwatch.models import Arn

from ..context import HISTORY_INDEX, Context
from ..errors import CliError
from ..output import Format, emit

E164 = re.compile(r"^\+[1-9][0-9]{1,14}$")
COLUMNS = ("observed_at", "event", "phone_number", "target_arn", "changed", "by", "run_id")


def number_arns(context: Context, number: str) -> list[str]:
    """The ARNs the table knows for an E.164 number (or the ARN given)."""
    if number.startswith("arn:"):
        try:
            Arn.parse(number)
        except ValueError as exc:
            raise CliError(f"{number!r} is not a phone number ARN") from exc
        return [number]
    if not E164.fullmatch(number):
        raise CliError(f"{number!r} is neither an E.164 number (+12065550100) nor a phone number ARN")
    pages = context.dynamodb.get_paginator("scan").paginate(
        TableName=str(context.resource("table")),
        FilterExpression="SK = :sk AND #number = :number",
        ExpressionAttributeNames={"#number": "number"},
        ExpressionAttributeValues={":sk": {"S": "NUM"}, ":number": {"S": number}},
        ProjectionExpression="PK",
    )
    return sorted({item["PK"]["S"].removeprefix("NUM#") for page in pages for item in page.get("Items", [])})


def who(body: dict[str, Any]) -> str:
    actor = body.get("actor")
    if actor:
        session = f" ({actor['session_name']})" if actor.get("session_name") else ""
        return (
            f"{actor.get('principal_arn') or actor.get('principal_type') or '?'}{session} via {actor.get('event_name')}"
        )
    return f"unknown: {body['attribution']}" if body.get("attribution") else "unknown"


def row_of(body: dict[str, Any]) -> dict[str, Any]:
    changed = ", ".join(body.get("changed_fields") or [])
    return {
        "observed_at": body.get("observed_at"),
        "event": body.get("change_type") or body.get("finding_type"),
        "phone_number": body.get("phone_number"),
        "target_arn": body.get("target_arn"),
        "changed": changed or body.get("detail"),
        "by": who(body) if body.get("change_type") else "",
        "run_id": body.get("run_id"),
        "before": body.get("before"),
        "after": body.get("after"),
        "actor": body.get("actor"),
    }


def history(
    ctx: typer.Context,
    number: Annotated[str, typer.Argument(help="An E.164 number (+12065550100) or a phone number ARN")],
    output: Annotated[
        Format, typer.Option("--format", help="table for people; csv or json for programs")
    ] = Format.TABLE,
) -> None:
    """Every change of a number (claimed, released, moved, updated) and finding, oldest first, with who made it."""
    context: Context = ctx.obj
    arns = number_arns(context, number)
    rows = []
    for arn in arns:
        pages = context.dynamodb.get_paginator("query").paginate(
            TableName=str(context.resource("table")),
            IndexName=HISTORY_INDEX,
            KeyConditionExpression="GSI3PK = :key",
            ExpressionAttributeValues={":key": {"S": f"NUM#{arn}"}},
        )
        rows += [row_of(json.loads(item["body"]["S"])) for page in pages for item in page.get("Items", [])]
    if not rows:
        raise CliError(f"no change of {number} is recorded in the table: check the number")
    # Stable: within one second, each ARN's records keep their index's order (the number's versions).
    rows.sort(key=lambda row: str(row["observed_at"]))
    columns = (*COLUMNS, "before", "after", "actor") if output is Format.JSON else COLUMNS
    emit(Console(highlight=False, soft_wrap=output is not Format.TABLE), output, f"History of {number}", columns, rows)
