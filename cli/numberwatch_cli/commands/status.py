"""`numberwatch status`: the last runs, the lease, messages waiting or set aside, releases held."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

import typer
from rich.console import Console

from numberwatch.models import RunStatus

from ..context import UNSENT_INDEX, Context
from ..errors import Exit
from ..output import Format, Report, as_json, emit, say

RUNS_SHOWN = 5


def _lease(context: Context, account: str) -> dict[str, Any] | None:
    item = context.dynamodb.get_item(
        TableName=str(context.resource("table")),
        Key={"PK": {"S": f"LEASE#{account}"}, "SK": {"S": "LEASE"}},
        ConsistentRead=True,
    ).get("Item")
    if item is None:
        return None
    expires = datetime.fromtimestamp(int(item["expires_at"]["N"]), UTC)
    return {"owner": item["owner"]["S"], "expires_at": expires.isoformat(), "live": expires > datetime.now(UTC)}


def _messages(context: Context, partition: str) -> list[dict[str, Any]]:
    """Messages under one key of the Unsent index (eventually consistent: a moment behind)."""
    pages = context.dynamodb.get_paginator("query").paginate(
        TableName=str(context.resource("table")),
        IndexName=UNSENT_INDEX,
        KeyConditionExpression="GSI2PK = :pk",
        ExpressionAttributeValues={":pk": {"S": partition}},
    )
    return [
        {
            "message_id": item["message_id"]["S"],
            "event_type": item["event_type"]["S"],
            "run_id": item["run_id"]["S"],
            "reason": item.get("set_aside_reason", {}).get("S"),
        }
        for page in pages
        for item in page.get("Items", [])
    ]


def collect(context: Context, account: str) -> dict[str, Any]:
    store = context.store()
    runs = store.recent_runs(account, RUNS_SHOWN)
    regions = sorted({region for run in runs for region in run.summary.get("regions", [])})
    held = [
        {"target": record.target.name, "target_arn": arn, "held": record.held_count, "since_run": record.held_since_run}
        for region in regions
        for arn, record in sorted(store.targets(account, region).items())
        if record.held_count
    ]
    return {
        "account": account,
        "runs": [
            {
                "started_at": run.started_at.isoformat(timespec="seconds"),
                "run_id": run.run_id,
                "status": run.status.value,
                "numbers": run.summary.get("numbers_observed"),
                "changes": sum((run.summary.get("changes") or {}).values()),
                "unobserved": len(run.summary.get("targets_unobserved") or []),
            }
            for run in runs
        ],
        "lease": _lease(context, account),
        "pending": _messages(context, f"UNSENT#{account}"),
        "set_aside": _messages(context, f"SETASIDE#{account}"),
        "held_releases": held,
    }


def problems(state: dict[str, Any]) -> list[str]:
    """What a person should look at; empty when all is well."""
    found = []
    if not state["runs"]:
        found.append("no run recorded yet")
    elif state["runs"][0]["status"] not in (RunStatus.COMPLETED.value, RunStatus.RUNNING.value):
        found.append(f"the last run is {state['runs'][0]['status']}")
    if state["pending"]:
        found.append(f"{len(state['pending'])} messages wait in the outbox (the next run sends them)")
    if state["set_aside"]:
        found.append(f"{len(state['set_aside'])} messages were set aside (SNS refused them as our fault)")
    if state["held_releases"]:
        found.append(f"releases are held on {len(state['held_releases'])} targets (a suspected mass release)")
    return found


def status(
    ctx: typer.Context,
    account: Annotated[str | None, typer.Option(help="The account [default: your credentials']")] = None,
    output: Annotated[Report, typer.Option("--format", help="table for people; json for programs")] = Report.TABLE,
) -> None:
    """The last runs, who holds the lease, messages waiting or set aside, and releases held. Exit 1 when
    any of them needs a person's attention."""
    context: Context = ctx.obj
    state = collect(context, account or context.account)
    found = problems(state)
    console = Console(highlight=False, soft_wrap=output is Report.JSON)
    if output is Report.JSON:
        console.file.write(as_json({**state, "problems": found}) + "\n")
    else:
        columns = ("started_at", "run_id", "status", "numbers", "changes", "unobserved")
        emit(console, Format.TABLE, f"Last runs of account {state['account']}", columns, state["runs"])
        lease = state["lease"]
        if lease is None or not lease["live"]:
            say(console, "lease: free")
        else:
            say(console, f"lease: held by run {lease['owner']} until {lease['expires_at']}")
        if state["set_aside"]:
            emit(
                console, Format.TABLE, "Set aside", ("message_id", "event_type", "run_id", "reason"), state["set_aside"]
            )
        if state["held_releases"]:
            emit(
                console,
                Format.TABLE,
                "Releases held",
                ("target", "target_arn", "held", "since_run"),
                state["held_releases"],
            )
        for problem in found:
            say(console, f"attention: {problem}", "yellow")
        if not found:
            say(console, "all well", "green")
    if found:
        raise typer.Exit(Exit.FINDINGS)
