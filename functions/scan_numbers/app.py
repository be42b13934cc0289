"""Lambda entry point of the nightly scan: parse the event, run one scan, return its summary."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

from numberwatch.dependencies import build_scan_service
from numberwatch.observability import logger, metrics, record_run, traced
from numberwatch.request import parse_scan_request
from numberwatch.run import RunContext
from numberwatch.settings import Settings

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext

# Parsed once per container: a bad setting fails the cold start, naming the variable.
SETTINGS = Settings.from_environment(os.environ)


@logger.inject_lambda_context(log_event=False)
@metrics.log_metrics  # no cold-start metric: nothing reads it, and each metric costs $0.30 a month
@traced
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    logger.set_correlation_id(context.aws_request_id)
    request = parse_scan_request(event)
    service = build_scan_service(SETTINGS, context.get_remaining_time_in_millis)
    summary = service.run(
        request, RunContext(run_id=context.aws_request_id, remaining_ms=context.get_remaining_time_in_millis)
    )
    record_run(summary)
    logger.info("Run finished", extra={"summary": summary.model_dump(mode="json", exclude={"preview"})})
    return summary.model_dump(mode="json")
