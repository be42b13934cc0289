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


def test_a_run_invoked_again_once_over_counts_its_changes_no_second_time_but_tells_what_it_could_not_send() -> None:
    # Given the recorded summary of a run with changes, answered again by a replay that left a message
    changes = {"CLAIMED": 2, "RELEASED": 1, "MOVED": 0, "UPDATED": 0}
    replayed = RunSummary(
        run_id="r", status=RunStatus.COMPLETED, changes=changes, replayed=True, messages_set_aside=["m1"]
    )
    record_run(replayed)
    # Then only its publishing is counted: the run's first invocation counted the rest
    assert values() == {"MessagesPending": [0.0], "MessagesSetAside": [1.0], "ChatMessagesFailed": [0.0]}


def test_no_metric_is_per_target_and_a_missing_subscription_is_one(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(metrics, "namespace", "ConnectNumberWatch")
    # Each distinct dimension set is one billed custom metric: per-target figures stay in the summary.
    summary = RunSummary(
        run_id="r",
        status=RunStatus.COMPLETED,
        numbers_by_target={f"arn:aws:connect:us-east-1:123456789012:instance/{i}": i for i in range(50)},
        messages_set_aside=["m1", "m2"],
        alert_subscription="PENDING_CONFIRMATION",
    )
    record_run(summary)
    recorded = values()
    assert recorded["MessagesSetAside"] == [2.0] and recorded["AlertSubscriptionMissing"] == [1.0]
    metrics.flush_metrics()
    emitted = [line for line in capsys.readouterr().out.splitlines() if '"_aws"' in line]
    assert len(emitted) == 1 and '"Target"' not in emitted[0]


def test_a_confirmed_subscription_is_zero_and_no_alert_email_is_no_metric() -> None:
    record_run(RunSummary(run_id="r", status=RunStatus.COMPLETED, alert_subscription="CONFIRMED"))
    assert values()["AlertSubscriptionMissing"] == [0.0]
    metrics.clear_metrics()
    record_run(RunSummary(run_id="r", status=RunStatus.COMPLETED))
    assert "AlertSubscriptionMissing" not in values()
