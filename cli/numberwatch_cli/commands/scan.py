"""`numberwatch scan`: the nightly scan, run from a laptop with your own credentials.

It is the function's own code: `Settings` from the stack's outputs and the parameters it was deployed
with (a function variable set in this shell wins), `dependencies.build_scan_service`, `ScanService.run`,
the same request model. A dry run (the default) lists, diffs and reports, and writes, publishes and
leases nothing. `--write` runs for real, under the lease, within the function's 15 minutes. The number
topic admits only the function's role as publisher: what a laptop run cannot publish stays in the
outbox, and the next nightly run sends it (nothing is lost; `messages_pending` says how many).
"""

from __future__ import annotations

import os
import time
import uuid
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import Progress

from numberwatch.models import RunStatus, RunSummary
from numberwatch.settings import ConfigurationError, Settings

from ..context import Context
from ..errors import CliError, Exit
from ..output import Report, as_json, say

LAMBDA_TIMEOUT_SECONDS = 900  # the function's; the lease (LEASE_SECONDS) outlasts it


# The stack's parameters that shape a run, by the function's variable each sets (template.yaml's
# Environment): a laptop run behaves as the nightly one, unless this shell sets the variable itself.
RUN_PARAMETERS = {
    "CONNECT_REQUESTS_PER_SECOND": "ConnectRequestsPerSecond",
    "MASS_RELEASE_SHARE": "MassReleaseShare",
    "MASS_RELEASE_MIN_NUMBERS": "MassReleaseMinNumbers",
    "DESCRIBE_CALLS_PER_RUN": "DescribeCallsPerRun",
    "DETAIL_CALLS_PER_RUN": "DetailCallsPerRun",
    "FULL_VERIFICATION_RUNS": "FullVerificationRuns",
    "REQUIRED_TAG_KEYS": "RequiredTagKeys",
    "NUMBER_PRICES": "NumberPrices",
    "CLOUDTRAIL_LOOKUP": "CloudTrailLookup",
    "HISTORY_RETENTION_DAYS": "HistoryRetentionDays",
}


def settings_for(context: Context) -> Settings:
    """The function's settings: its resources and the parameters it was deployed with from the stack, a
    variable set in this shell over them, the defaults for the rest."""
    deployed = {variable: value for variable, name in RUN_PARAMETERS.items() if (value := context.parameter(name))}
    resources = {
        "TABLE_NAME": context.resource("table"),
        "TOPIC_ARN": context.resource("topic"),
        "ARCHIVE_BUCKET": context.resource("bucket", required=False) or "",
        "SCAN_REGIONS": context.resource("scan_regions", required=False),
        "AWS_REGION": context.region_name,
    }
    try:
        return Settings.from_environment(
            {**deployed, **os.environ, **{k: v for k, v in resources.items() if v is not None}}
        )
    except ConfigurationError as exc:
        raise CliError(str(exc)) from exc


def known_targets(context: Context, settings: Settings, account: str) -> dict[str, tuple[str, int]]:
    """Each target the snapshot knows, with its name and count of numbers: the progress's estimate."""
    store = context.store()
    return {
        arn: (record.target.name, record.count)
        for region in settings.regions
        for arn, record in store.targets(account, region).items()
    }


def needs_attention(summary: RunSummary) -> bool:
    return (
        summary.status in (RunStatus.PARTIAL, RunStatus.SKIPPED)
        or bool(summary.targets_unobserved or summary.targets_not_reached or summary.targets_partly_observed)
        or bool(summary.messages_pending or summary.messages_set_aside)
    )


def scan(
    ctx: typer.Context,
    write: Annotated[
        bool, typer.Option("--write", help="Write the snapshot and send the messages (else a dry run)")
    ] = False,
    target: Annotated[
        list[str] | None, typer.Option(help="Only this instance or TDG (id or ARN); repeat for more")
    ] = None,
    output: Annotated[
        Report, typer.Option("--format", help="table for people; json: the run's summary")
    ] = Report.TABLE,
    verbose: Annotated[bool, typer.Option(help="The function's own log lines (JSON) on stderr")] = False,
) -> None:
    """Run the scan with your credentials through the function's own code, showing each target's pages
    and the time left at our pace. Exit 1 when the run is partial, skipped (another run holds the lease),
    or left messages unsent."""
    # The function's own code, imported only here: it brings in Powertools and the adapters, a second that
    # the other commands do without.
    from numberwatch.dependencies import build_scan_service
    from numberwatch.observability import logger
    from numberwatch.request import InvalidScanRequest, parse_scan_request
    from numberwatch.run import RunContext

    from .progress import ScanProgress

    context: Context = ctx.obj
    try:
        request = parse_scan_request(
            {"source": "manual", "dry_run": not write, **({"targets": target} if target else {})}
        )
    except InvalidScanRequest as exc:
        raise CliError(str(exc)) from exc
    settings = settings_for(context)
    account = context.account
    logger.setLevel("DEBUG" if verbose else "CRITICAL")
    console = Console(stderr=True, highlight=False)
    started = time.monotonic()

    def remaining_ms() -> int:
        return int((LAMBDA_TIMEOUT_SECONDS - (time.monotonic() - started)) * 1000)

    with Progress(*ScanProgress.columns(), console=console, transient=output is Report.JSON) as live:
        progress = ScanProgress(live, settings.connect_requests_per_second, known_targets(context, settings, account))
        progress.register(context.session.events)
        try:
            service = build_scan_service(settings, remaining_ms)
            summary = service.run(request, RunContext(run_id=str(uuid.uuid4()), remaining_ms=remaining_ms))
        finally:
            progress.unregister(context.session.events)
    if output is Report.JSON:
        Console(highlight=False, soft_wrap=True).file.write(as_json(summary.model_dump(mode="json")) + "\n")
    else:
        report(Console(highlight=False), summary)
    if needs_attention(summary):
        raise typer.Exit(Exit.FINDINGS)


def report(console: Console, summary: RunSummary) -> None:
    changes = ", ".join(f"{count:,} {kind.lower()}" for kind, count in summary.changes.items() if count) or "no change"
    say(console, f"{summary.status.value} run {summary.run_id}: {summary.numbers_observed:,} numbers on "
        f"{summary.targets_scanned:,} targets; {changes}; {summary.connect_api_calls:,} Connect calls, "
        f"{summary.duration_ms / 1000:,.1f} s")  # fmt: skip
    if summary.dry_run:
        say(console, "dry run: nothing written, published or archived (--write to run for real)")
    for unobserved in summary.targets_unobserved:
        say(console, f"not observed: {unobserved['target_arn']}: {unobserved['reason']}", "yellow")
    if summary.message:
        say(console, summary.message, "yellow")
    if summary.messages_pending:
        say(console, f"{summary.messages_pending:,} messages wait in the outbox: the number topic admits only the "
            "function's role, so the next nightly run sends them", "yellow")  # fmt: skip
    if summary.archive is not None:
        say(console, f"archive: {summary.archive.status.value}")
