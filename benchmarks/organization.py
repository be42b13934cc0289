"""`make bench-org`: organization mode's speed and cost, measured at the scale this machine holds and
modelled at 200 accounts x 3 Regions x 1,000 numbers.

1. One account, 3 Regions, 1,000 numbers per Region (three instances of about 333 numbers each), under
   Connect's default quota (2/s, burst 5) and our default pace (1/s per Region and API): the handler in
   its own process, against the local stack in another, a baseline night then a quiet night; once with
   this branch's layer (Regions in parallel) and once with the layer of the commit before it (Regions
   one after the other, checked out in a temporary worktree).
2. A small organization (`--accounts`, default 4) of such accounts through the template's own state
   machine on moto's interpreter: the duration of each Lambda invocation (plan, each account, digest),
   the DynamoDB and SNS calls, the state transitions.
3. The model: 200 accounts at MaxConcurrency 10, 40 and 200; wall time = plan + ceil(200 / M) waves of
   the mean measured account + digest (Step Functions starts the next item as soon as one ends, so waves
   are an upper bound for uniform accounts); GB-seconds at the template's memory; state transitions
   from the definition (per execution 3, per account 1, plus 1 per failed account); $ per month at 30
   nights.
No assertion on time anywhere: these are figures. Writes benchmarks/results/organization.{md,json}.

    PYTHONPATH=local:layers/numberwatch:functions/scan_numbers:. python -m benchmarks.organization
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import math
import os
import platform
import statistics
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

import boto3

from benchmarks.calls import CallCounter
from benchmarks.costs import PRICE, PRICES_DATE
from benchmarks.estate import ROOT, SEEDER, control, start_stack
from benchmarks.run import run_process
from localaws.demo import SEEDER_ACCESS_KEY, create_instance
from localaws.lambda_runtime import ACCOUNT, deploy
from localaws.organization import deploy_organization, member_connect
from localaws.stack import LocalStack
from localaws.template import template

RESULTS = ROOT / "benchmarks" / "results"
REGIONS = ("us-east-1", "us-west-2", "eu-west-2")
NUMBERS_PER_REGION = 1000
INSTANCES_PER_REGION = 3
ORGANIZATION_ACCOUNTS = 200
CONCURRENCIES = (10, 40, 200)
NIGHTS_PER_MONTH = 30
# Step Functions Standard, us-east-1, per state transition (the same date as the other prices).
STATE_TRANSITION_PRICE = 0.025 / 1000
# main when this was measured: everything but Regions in parallel, the "before" of the one-account comparison.
BEFORE_PARALLEL_REGIONS = "545630e"


# ------------------------------------------------------------------ one account, before and after
def seed_account(endpoint: str, client_for: Any, account: str) -> None:
    for region in REGIONS:
        client = client_for(region)
        for index in range(INSTANCES_PER_REGION):
            instance = create_instance(client, f"contact-{region}-{index}")
            count = NUMBERS_PER_REGION // INSTANCES_PER_REGION + (1 if index < NUMBERS_PER_REGION % 3 else 0)
            control(endpoint, "POST", "/connect-emulator/seed", {
                "account": account, "region": region, "target_arn": instance["Arn"], "count": count,
                "description_every": 5,
            })  # fmt: skip


def one_account(layer_root: Path, endpoint: str) -> dict[str, Any]:
    """A baseline then a quiet night of one account, with the layer and handler found under `layer_root`."""
    control(endpoint, "POST", "/connect-emulator/reset", {})
    control(endpoint, "POST", "/moto-api/reset", {})
    control(endpoint, "POST", "/connect-emulator/quotas", {"unlimited_access_keys": [SEEDER]})

    def seeder(region: str) -> Any:
        return boto3.client("connect", region_name=region, aws_access_key_id=SEEDER, aws_secret_access_key="x")

    seed_account(endpoint, seeder, ACCOUNT)
    control(endpoint, "POST", "/connect-emulator/quotas", {"enabled": True, "rate": 2, "burst": 5})
    deployment = deploy(",".join(REGIONS))
    env = {
        **{k: v for k, v in os.environ.items() if k.startswith("AWS_")},
        **deployment.env,
        "POWERTOOLS_TRACE_DISABLED": "true",
        "POWERTOOLS_LOG_LEVEL": "WARNING",
        "POWERTOOLS_METRICS_DISABLED": "true",
        "NUMBERWATCH_ROOT": str(layer_root),
        # Details asked for, as the "before" code always did: the two differ in their Regions alone.
        "DETAIL_CALLS_PER_RUN": "300",
    }
    nights = {}
    for night in ("baseline", "quiet"):
        result = run_process("benchmarks.handler_process", env)
        nights[night] = {
            "wall_seconds": result["wall_seconds"],
            "connect_calls": result["summary"]["connect_api_calls"],
            "status": result["summary"]["status"],
        }
    return nights


def before_and_after(endpoint: str) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as scratch:
        before = Path(scratch) / "before"
        subprocess.run(
            ["git", "-C", str(ROOT), "worktree", "add", "--detach", str(before), BEFORE_PARALLEL_REGIONS],
            check=True, capture_output=True,
        )  # fmt: skip
        try:
            sequential = one_account(before, endpoint)
        finally:
            subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(before)], check=True)
    parallel = one_account(ROOT, endpoint)
    return {"before": sequential, "after": parallel}


# ------------------------------------------------------------------ a small organization, measured
def small_organization(accounts: int) -> dict[str, Any]:
    stack = LocalStack(port=0).start()
    os.environ["AWS_ENDPOINT_URL"] = stack.endpoint_url
    counter = CallCounter()
    counter.install()
    try:
        control(stack.endpoint_url, "POST", "/connect-emulator/quotas", {"unlimited_access_keys": [SEEDER_ACCESS_KEY]})
        organization = deploy_organization(stack.app, accounts, REGIONS, ExcludedAccounts=ACCOUNT)
        organization.function.env.update(POWERTOOLS_METRICS_DISABLED="true", POWERTOOLS_LOG_LEVEL="WARNING")
        durations = organization.function.durations
        for account in organization.members:
            seed_account(stack.endpoint_url, lambda region, a=account: member_connect(a, region), account)
        control(stack.endpoint_url, "POST", "/connect-emulator/quotas", {"enabled": True, "rate": 2, "burst": 5})
        nights = {}
        for night in ("baseline", "quiet"):
            durations.clear()
            counter.clear()
            started = time.perf_counter()
            with contextlib.redirect_stdout(io.StringIO()):
                execution = organization.start()
                described = organization.wait(execution, timeout_seconds=1800)
            wall = time.perf_counter() - started
            history = boto3.client("stepfunctions").get_execution_history(executionArn=execution)["events"]
            figures = counter.figures()
            ddb, sns = figures["dynamodb"], figures["sns"]
            nights[night] = {
                "status": described["status"],
                "wall_seconds": wall,
                "invocations": [{"step": event.get("source"), "seconds": seconds} for event, seconds in durations],
                "top_level_states_entered": sum(1 for e in history if e["type"].endswith("StateEntered")),
                "dynamodb": {"calls": ddb["calls"], "write_units": ddb["write_units"], "read_units": ddb["read_units"]},
                "sns_messages": sns["messages"],
            }
        return {"accounts": accounts, "nights": nights}
    finally:
        stack.stop()


# ------------------------------------------------------------------ the model
def model(measured: dict[str, Any], memory_mb: int) -> dict[str, Any]:
    accounts = measured["accounts"]
    rows = []
    for night, figures in measured["nights"].items():
        steps: dict[str, list[float]] = {}
        for invocation in figures["invocations"]:
            steps.setdefault(invocation["step"], []).append(invocation["seconds"])
        account_seconds = steps["organization-account"]
        plan, digest = max(steps["organization-plan"]), max(steps["organization-digest"])
        # The digest reads each account's messages: scaled by accounts, from what was measured.
        digest_at_scale = digest * ORGANIZATION_ACCOUNTS / accounts
        slowest, mean = max(account_seconds), statistics.mean(account_seconds)
        gb_seconds = (plan + ORGANIZATION_ACCOUNTS * mean + digest_at_scale) * memory_mb / 1024
        transitions = 3 + ORGANIZATION_ACCOUNTS
        invocations = 2 + ORGANIZATION_ACCOUNTS
        ddb = figures["dynamodb"]
        scale = ORGANIZATION_ACCOUNTS / accounts
        dynamodb_cost = scale * (
            float(ddb["write_units"]) * PRICE["dynamodb_write_unit"]
            + float(ddb["read_units"]) * PRICE["dynamodb_read_unit"]
        )
        night_cost = (
            gb_seconds * PRICE["lambda_gb_second_arm64"]
            + invocations * PRICE["lambda_request"]
            + transitions * STATE_TRANSITION_PRICE
            + dynamodb_cost
            + figures["sns_messages"] * scale * PRICE["sns_publish"]
        )
        rows.append(
            {
                "night": night,
                "account_seconds": {"mean": mean, "slowest": slowest},
                "plan_seconds": plan,
                "digest_seconds_at_scale": digest_at_scale,
                "wall_seconds": {
                    str(m): plan + math.ceil(ORGANIZATION_ACCOUNTS / m) * mean + digest_at_scale for m in CONCURRENCIES
                },
                "lambda_gb_seconds": gb_seconds,
                "state_transitions": transitions,
                "state_transitions_cost": transitions * STATE_TRANSITION_PRICE,
                "cost_per_night": night_cost,
                "cost_per_month": night_cost * NIGHTS_PER_MONTH,
            }
        )
    return {
        "accounts": ORGANIZATION_ACCOUNTS,
        "regions": len(REGIONS),
        "numbers_per_region": NUMBERS_PER_REGION,
        "rows": rows,
    }


def markdown(report: dict[str, Any]) -> str:
    one, measured_on = report["one_account"], report["measured_on"]
    lines = [
        "# Organization mode: measured and modelled",
        "",
        f"Measured {measured_on['date']} on {measured_on['machine']}, Python {measured_on['python']}; prices of "
        f"{PRICES_DATE} (us-east-1), Step Functions Standard ${STATE_TRANSITION_PRICE * 1000:.3f} per 1,000 state "
        f"transitions; Lambda at {measured_on['memory_mb']} MB.",
        "",
        f"## One account, {len(REGIONS)} Regions x {NUMBERS_PER_REGION:,} numbers "
        "(Connect's quota enforced, our pace 1/s, details asked for: DetailCallsPerRun 300)",
        "",
        "| night | Regions one after the other (before) s | Regions in parallel (after) s"
        " | Connect calls before / after |",
        "|---|---:|---:|---:|",
    ]
    for night in ("baseline", "quiet"):
        before, after = one["before"][night], one["after"][night]
        lines.append(
            f"| {night} | {before['wall_seconds']:.1f} | {after['wall_seconds']:.1f} | "
            f"{before['connect_calls']} / {after['connect_calls']} |"
        )
    small = report["small_organization"]
    lines += [
        "",
        f"## A measured organization: {small['accounts']} accounts x {len(REGIONS)} Regions x "
        f"{NUMBERS_PER_REGION:,} numbers, through the template's state machine",
        "",
        "| night | execution wall s | per-account Lambda s (mean / slowest) | plan s | digest s "
        "| top-level states entered |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for night, figures in small["nights"].items():
        accounts = [i["seconds"] for i in figures["invocations"] if i["step"] == "organization-account"]
        plan = [i["seconds"] for i in figures["invocations"] if i["step"] == "organization-plan"]
        digest = [i["seconds"] for i in figures["invocations"] if i["step"] == "organization-digest"]
        lines.append(
            f"| {night} | {figures['wall_seconds']:.1f} | {statistics.mean(accounts):.2f} / {max(accounts):.2f} | "
            f"{max(plan):.2f} | {max(digest):.2f} | {figures['top_level_states_entered']} |"
        )
    modelled = report["model"]
    lines += [
        "",
        f"## Modelled: {modelled['accounts']} accounts x {modelled['regions']} Regions x "
        f"{modelled['numbers_per_region']:,} numbers",
        "",
        "| night | wall s at MaxConcurrency "
        + " / ".join(str(m) for m in CONCURRENCIES)
        + " | Lambda GB-s | state transitions ($) | $ per night | $ per month (30 such nights) |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for row in modelled["rows"]:
        walls = " / ".join(f"{row['wall_seconds'][str(m)]:.0f}" for m in CONCURRENCIES)
        monthly = "- (once)" if row["night"] == "baseline" else f"${row['cost_per_month']:.2f}"
        lines.append(
            f"| {row['night']} | {walls} | {row['lambda_gb_seconds']:.0f} | {row['state_transitions']} "
            f"(${row['state_transitions_cost']:.4f}) | ${row['cost_per_night']:.4f} | {monthly} |"
        )
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--accounts", type=int, default=4, help="accounts of the measured organization")
    parser.add_argument("--report-only", action="store_true", help="rewrite organization.md from organization.json")
    args = parser.parse_args(argv)
    if args.report_only:
        report = json.loads((RESULTS / "organization.json").read_text())
        (RESULTS / "organization.md").write_text(markdown(report))
        print(markdown(report))
        return 0
    memory_mb = int(template()["Parameters"]["FunctionMemorySize"]["Default"])
    os.environ.update(
        AWS_ACCESS_KEY_ID="bench", AWS_SECRET_ACCESS_KEY="bench", AWS_DEFAULT_REGION="us-east-1",
        AWS_REGION="us-east-1", AWS_ACCOUNT_ID_ENDPOINT_MODE="disabled",
    )  # fmt: skip
    process, endpoint = start_stack()
    os.environ["AWS_ENDPOINT_URL"] = endpoint
    try:
        one = before_and_after(endpoint)
    finally:
        process.terminate()
        process.wait()
    print(json.dumps(one), flush=True)
    small = small_organization(args.accounts)
    report = {
        "measured_on": {
            "date": time.strftime("%Y-%m-%d"), "machine": f"{platform.machine()}, {os.cpu_count()} cores",
            "python": platform.python_version(), "memory_mb": memory_mb,
        },
        "one_account": one,
        "small_organization": small,
        "model": model(small, memory_mb),
    }  # fmt: skip
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "organization.json").write_text(json.dumps(report, indent=2))
    (RESULTS / "organization.md").write_text(markdown(report))
    print(markdown(report))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
