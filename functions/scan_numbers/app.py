"""Lambda entry point of the nightly scan: parse the event, run one scan (or one step of the
organization run), return its summary."""

from __future__ import annotations

import gc
import os
from typing import TYPE_CHECKING, Any

from numberwatch.dependencies import build_organization_service, build_scan_service
from numberwatch.models import ScanRequest
from numberwatch.observability import logger, metrics, record_organization_run, record_run, traced
from numberwatch.request import parse_request
from numberwatch.run import RunContext
from numberwatch.settings import Settings

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext

    from numberwatch.organization import OrganizationRequest

# Parsed once per container: a bad setting fails the cold start, naming the variable.
SETTINGS = Settings.from_environment(os.environ)

# A night makes millions of short-lived containers (items, summaries, numbers) and few cycles. The
# collector, started every 700 allocations (and over the older generations, which hold the night's
# numbers, every 10th and 100th time), took about a sixth of a baseline's CPU. Started every 10,000, a
# 100,000-number baseline took 14.7 s of CPU against 17.9 s (with the transactions' compact JSON; medians
# of three runs, alternated), and its peak memory did not move.
gc.set_threshold(10_000, 10, 10)


@logger.inject_lambda_context(log_event=False)
@metrics.log_metrics  # no cold-start metric: nothing reads it, and each metric costs $0.30 a month
@traced
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    logger.set_correlation_id(context.aws_request_id)
    request = parse_request(event)
    if isinstance(request, ScanRequest):
        remaining_ms = context.get_remaining_time_in_millis
        service = build_scan_service(SETTINGS, remaining_ms)
        summary = service.run(request, RunContext(run_id=context.aws_request_id, remaining_ms=remaining_ms))
        record_run(summary)
        logger.info("Run finished", extra={"summary": summary.model_dump(mode="json", exclude={"preview"})})
        return summary.model_dump(mode="json")
    return organization_step(request, context)


def organization_step(request: OrganizationRequest, context: LambdaContext) -> dict[str, Any]:
    """One step of the organization run's state machine."""
    # Imported here: a single-account deployment never loads organization mode's code.
    from numberwatch.organization import AccountScanRequest, OrganizationPlanRequest

    remaining_ms = context.get_remaining_time_in_millis
    organization = build_organization_service(SETTINGS, remaining_ms)
    if isinstance(request, OrganizationPlanRequest):
        return organization.plan(request).model_dump(mode="json")
    if isinstance(request, AccountScanRequest):
        scan = organization.scan_account(request, RunContext(run_id=request.org_run_id, remaining_ms=remaining_ms))
        if scan.summary is not None:
            record_run(scan.summary)
        logger.info("Account scanned", extra={"outcome": scan.outcome.model_dump(mode="json")})
        return scan.outcome.model_dump(mode="json")
    step = organization.send_digest(request, RunContext(run_id=request.org_run_id, remaining_ms=remaining_ms))
    record_organization_run(
        len(request.outcomes), sum(1 for o in request.outcomes if not o.observed), len(step.chat.failed)
    )
    result = step.as_json()
    logger.info("Organization run finished", extra={"summary": result})
    return result
