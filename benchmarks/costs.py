"""The whole bill: what a run costs, what the deployed stack costs every month whatever it does, and
what keeping the table costs, from the figures a benchmark night measured and the template itself.

Unit prices are AWS's public on-demand prices in us-east-1, as published on `PRICES_DATE`; free tiers
are left out (an account usually spends them elsewhere), except where the README says so. Every
fixed figure is counted from `template.yaml` (alarms, dashboards, keys) and from the metrics a run
actually emitted (each distinct metric name and dimension set is one billed custom metric), so that
a change to either shows in the bill.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

PRICES_DATE = "2026-11-01"
PRICE = {
    "lambda_gb_second_arm64": 0.0000133334,
    "lambda_request": 0.20 / 1e6,
    "dynamodb_write_unit": 0.625 / 1e6,
    "dynamodb_read_unit": 0.125 / 1e6,
    "dynamodb_storage_gb_month": 0.25,
    "dynamodb_pitr_gb_month": 0.20,
    "sns_publish": 0.50 / 1e6,  # per 64 KB chunk; every message here is one
    "kms_key_month": 1.00,
    "kms_request": 0.03 / 10_000,
    "cloudwatch_metric_month": 0.30,
    "cloudwatch_alarm_month": 0.10,  # standard resolution, per metric the alarm reads
    "cloudwatch_dashboard_month": 3.00,  # the account's first 3 dashboards are free
    "logs_ingested_gb": 0.50,
    "logs_stored_gb_month": 0.03,
    "scheduler_invocation": 1.00 / 1e6,
    "xray_trace": 5.00 / 1e6,
    "aws_config_item": 0.003,  # continuous recording, per configuration item recorded
}
NIGHTS_A_MONTH = 30
# Lambda's own lines per invocation (JSON log format: platform start, report, end), measured on Lambda.
PLATFORM_LOG_BYTES = 900
# KMS requests a night: the function's environment at cold start, and the data keys DynamoDB, SNS and
# CloudWatch Logs each reuse for five minutes (at most one each per five minutes of the run).
KMS_REQUESTS_FIXED = 1


@dataclass(frozen=True)
class Deployment:
    """What the template deploys that is billed by the month, whatever the runs do."""

    alarms: int
    dashboards: int
    keys: int
    log_retention_days: int
    history_retention_days: int
    memory_mb: int

    @classmethod
    def from_template(
        cls, template: dict[str, Any], alert_email: bool = True, organization: bool = False
    ) -> Deployment:
        """The template's defaults, deployed with or without an alert email, in one account or over an
        organization: a resource under a condition the deployment does not meet is not created."""
        resources = template["Resources"]
        parameters = template["Parameters"]
        unmet = {"HasAlertEmail"} if not alert_email else set()
        unmet |= {"IsOrganization"} if not organization else set()

        def of_type(kind: str) -> list[dict[str, Any]]:
            return [r for r in resources.values() if r["Type"] == kind and r.get("Condition") not in unmet]

        alarms = of_type("AWS::CloudWatch::Alarm")
        return cls(
            alarms=len(alarms),
            dashboards=len(of_type("AWS::CloudWatch::Dashboard")),
            keys=len(of_type("AWS::KMS::Key")),
            log_retention_days=int(parameters["LogRetentionDays"]["Default"]),
            history_retention_days=int(parameters["HistoryRetentionDays"]["Default"]),
            memory_mb=int(parameters["FunctionMemorySize"]["Default"]),
        )


def run_cost(result: dict[str, Any], memory_mb: int, init_seconds: float = 0.0) -> dict[str, float]:
    """$ of one run, by service: Lambda (the invocation and its cold start, both billed), DynamoDB
    request units, SNS publishes, CloudWatch Logs ingestion; Connect and CloudTrail lookups are free."""
    seconds = float(result["wall_seconds"]) + init_seconds
    dynamodb = result["dynamodb"]
    logged = int(result.get("log_bytes", 0)) + PLATFORM_LOG_BYTES
    costs = {
        "lambda": seconds * memory_mb / 1024 * PRICE["lambda_gb_second_arm64"] + PRICE["lambda_request"],
        "dynamodb_reads": float(dynamodb["read_units"]) * PRICE["dynamodb_read_unit"],
        "dynamodb_writes": float(dynamodb["write_units"]) * PRICE["dynamodb_write_unit"],
        "sns": int(result["sns"]["messages"]) * PRICE["sns_publish"],
        "logs": logged / 1e9 * PRICE["logs_ingested_gb"],
        "kms": (KMS_REQUESTS_FIXED + 3 * math.ceil(seconds / 300)) * PRICE["kms_request"],
    }
    costs["total"] = sum(costs.values())
    return costs


def fixed_monthly(deployment: Deployment, custom_metrics: int) -> dict[str, float]:
    """$ a month the stack costs whatever its runs do."""
    costs = {
        "kms_keys": deployment.keys * PRICE["kms_key_month"],
        "custom_metrics": custom_metrics * PRICE["cloudwatch_metric_month"],
        "alarms": deployment.alarms * PRICE["cloudwatch_alarm_month"],
        "dashboards": deployment.dashboards * PRICE["cloudwatch_dashboard_month"],
        "schedule_and_traces": NIGHTS_A_MONTH * (PRICE["scheduler_invocation"] + PRICE["xray_trace"]),
    }
    costs["total"] = sum(costs.values())
    return costs


def storage_monthly(
    table_bytes: dict[str, int], history_bytes_a_night: float, log_bytes_a_night: float, deployment: Deployment
) -> dict[str, float]:
    """$ a month to keep the table (snapshot, plus `history_retention_days` nights of change records)
    with point-in-time recovery, and `log_retention_days` of logs, at the steady state."""
    gigabyte = 1e9
    history = history_bytes_a_night * deployment.history_retention_days
    table = (sum(table_bytes.values()) + history) / gigabyte
    logs = (log_bytes_a_night + PLATFORM_LOG_BYTES) * deployment.log_retention_days / gigabyte
    costs = {
        "dynamodb_storage": table * PRICE["dynamodb_storage_gb_month"],
        "dynamodb_pitr": table * PRICE["dynamodb_pitr_gb_month"],
        "logs_storage": logs * PRICE["logs_stored_gb_month"],
    }
    costs["total"] = sum(costs.values())
    return costs


def aws_config_monthly(changes_a_night: int) -> float:
    """AWS Config recording the same estate: one configuration item per change (a month of nights)."""
    return changes_a_night * NIGHTS_A_MONTH * PRICE["aws_config_item"]
