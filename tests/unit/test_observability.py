"""The run's metrics: what the alarms watch."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from numberwatch.models import RunStatus, RunSummary
from numberwatch.observability import metrics, record_run


@pytest.fixture(autouse=True)
def _clean_metrics() -> Iterator[None]:
    metrics.clear_metrics()
    yield
    metrics.clear_metrics()


def values() -> dict[str, list[float]]:
    return {name: entry["Value"] for name, entry in metrics.metric_set.items()}


def test_a_run_with_an_unobserved_target_says_so_and_still_counts_as_run() -> None:
    summary = RunSummary(
        run_id="r",
        status=RunStatus.PARTIAL,
        targets_scanned=3,
        targets_unobserved=[{"target_arn": "arn", "reason": "AccessDeniedException"}],
        changes={"CLAIMED": 2, "RELEASED": 0, "MOVED": 1, "UPDATED": 0},
    )
    record_run(summary)
    recorded = values()
    assert recorded["TargetsUnobserved"] == [1.0]
    assert recorded["TargetsScanned"] == [3.0]
    assert recorded["NumbersClaimed"] == [2.0] and recorded["NumbersMoved"] == [1.0]
    assert recorded["SuccessfulRun"] == [1.0]


@pytest.mark.parametrize("status", [RunStatus.SKIPPED, RunStatus.DRY_RUN])
def test_a_skipped_or_dry_run_feeds_no_alarm(status: RunStatus) -> None:
    record_run(RunSummary(run_id="r", status=status))
    assert values() == {}
