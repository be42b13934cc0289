"""The one Logger and Metrics of the function, and its tracing; everyone imports them from here.

Service name, metrics namespace and log level come from Powertools' own environment variables
(POWERTOOLS_SERVICE_NAME, POWERTOOLS_METRICS_NAMESPACE, POWERTOOLS_LOG_LEVEL), set by the template.

The X-Ray SDK is imported only where tracing is on (in Lambda with active tracing): importing it
makes a botocore client for its sampling rules, a third of a cold start elsewhere (tests, the local
stack, `POWERTOOLS_TRACE_DISABLED`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar, cast

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit

from .models import ArchiveStatus, RunStatus, RunSummary
from .ports import Subscription

logger = Logger()
metrics = Metrics()

Handler = TypeVar("Handler", bound=Callable[..., Any])


def traced(handler: Handler) -> Handler:
    """The handler in an X-Ray segment, its response left out (it can be large), when tracing is on."""
    if Tracer._is_tracer_disabled():  # Powertools' own test: a Lambda runtime, not SAM local, not disabled
        return handler
    return cast(Handler, Tracer().capture_lambda_handler(handler, capture_response=False))


def record_run(summary: RunSummary) -> None:
    """The run's metrics, from its summary: one metric per figure, none per target (a per-target
    metric costs $0.30 a month each; per-target figures are in the summary and its log line).
    `SuccessfulRun` feeds the "no run in 26 hours" alarm."""
    if summary.status in (RunStatus.SKIPPED, RunStatus.DRY_RUN):
        return
    count = MetricUnit.Count
    if summary.replayed:  # the run's figures were counted by its first invocation; its publishing is new
        _record_publishing(summary)
        return
    metrics.add_metric(name="TargetsScanned", unit=count, value=summary.targets_scanned)
    metrics.add_metric(name="TargetsUnobserved", unit=count, value=len(summary.targets_unobserved))
    metrics.add_metric(name="NumbersObserved", unit=count, value=summary.numbers_observed)
    for change_type, value in summary.changes.items():
        metrics.add_metric(name=f"Numbers{change_type.title()}", unit=count, value=value)
    metrics.add_metric(name="ReleasesHeld", unit=count, value=summary.releases_held)
    _record_publishing(summary)
    metrics.add_metric(name="ConnectApiCalls", unit=count, value=summary.connect_api_calls)
    if summary.alert_subscription is not None:
        missing = summary.alert_subscription != Subscription.CONFIRMED.value
        metrics.add_metric(name="AlertSubscriptionMissing", unit=count, value=int(missing))
    if summary.archive is not None:
        failed = summary.archive.status is ArchiveStatus.FAILED
        metrics.add_metric(name="ArchiveFailures", unit=count, value=int(failed))
    metrics.add_metric(name="SuccessfulRun", unit=count, value=1)


def _record_publishing(summary: RunSummary) -> None:
    count = MetricUnit.Count
    metrics.add_metric(name="MessagesPending", unit=count, value=summary.messages_pending)
    metrics.add_metric(name="MessagesSetAside", unit=count, value=len(summary.messages_set_aside))
    metrics.add_metric(name="ChatMessagesFailed", unit=count, value=len(summary.chat_messages_failed))


def record_organization_run(accounts_scanned: int, accounts_not_observed: int, chat_messages_failed: int) -> None:
    """The organization run's own figures (each account's scan records its own run): an account whose
    role is missing or whose scan failed has no run of its own to tell operators."""
    metrics.add_metric(name="AccountsScanned", unit=MetricUnit.Count, value=accounts_scanned)
    metrics.add_metric(name="AccountsNotObserved", unit=MetricUnit.Count, value=accounts_not_observed)
    metrics.add_metric(name="ChatMessagesFailed", unit=MetricUnit.Count, value=chat_messages_failed)
