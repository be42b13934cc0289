"""`make bench`: cost and speed of the nightly scan for 1,000, 10,000 and 100,000 numbers, side by side
with the naive script; `make bench-million`: one account of 1,000,000 numbers.

For each estate (`benchmarks.estate`) and each of three nights (baseline, no change, 1% changed), the
real handler runs in its own process against the local stack (in another process) under Connect's
default quota, and so does the naive baseline (`benchmarks.naive`). The local stack is strongly
consistent here (its lagged reads are for the tests). Writes benchmarks/results/results.{json,md}
(million.json for the million) and one PNG per figure. No assertion on time anywhere: these are figures.

    PYTHONPATH=local:. python -m benchmarks.run [--sizes 1000,10000,100000] [--naive-up-to 10000]
    PYTHONPATH=local:. python -m benchmarks.run --million
    PYTHONPATH=local:. python -m benchmarks.run --details --sizes 1000,10000
    PYTHONPATH=local:. python -m benchmarks.run --report-only
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from typing import Any

import boto3

from benchmarks.calls import item_size
from benchmarks.costs import run_cost
from benchmarks.estate import (
    HOME,
    ROOT,
    SEEDER,
    Estate,
    build_estate,
    build_million,
    change_one_percent,
    control,
    start_stack,
)
from benchmarks.report import write_report
from localaws.lambda_runtime import deploy
from localaws.template import template

RESULTS = ROOT / "benchmarks" / "results"
NIGHTS = ("baseline", "quiet", "1% changed")
QUOTA = {"enabled": True, "rate": 2, "burst": 5, "unlimited_access_keys": []}  # Connect's default
DETAILS = 300  # `make bench-details`: the README's example of details asked for
MAX_INVOCATIONS = 3


def run_process(module: str, env: dict[str, str]) -> dict[str, Any]:
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as handle:
        json.dump(env, handle)
    # The dev venv has awscrt (botocore[crt], which the dev tools pull in), and botocore signs with it;
    # Lambda's runtime and our layer have none, so the night signs in pure Python as it would there.
    child_env = {**os.environ, "PYTHONPATH": f"{ROOT}:{ROOT / 'local'}", "BOTO_DISABLE_CRT": "true"}
    completed = subprocess.run(
        [sys.executable, "-m", module, handle.name], env=child_env, capture_output=True, text=True, check=False
    )
    os.unlink(handle.name)
    line = next((x for x in completed.stdout.splitlines() if x.startswith("BENCH ")), None)
    if completed.returncode != 0 or line is None:
        raise RuntimeError(f"{module} failed:\n{completed.stderr[-4000:]}")
    result: dict[str, Any] = json.loads(line[6:])
    return result


def connect_requests(endpoint: str) -> list[dict[str, Any]]:
    """Every request the emulator got since the last reset of its log, in order."""
    entries: list[dict[str, Any]] = control(endpoint, "GET", "/connect-emulator/requests?entries=1")["entries"]
    control(endpoint, "DELETE", "/connect-emulator/requests")
    return entries


def paced_bound(entries: list[dict[str, Any]], pace: dict[str, float]) -> float:
    """The least wall time our call gates allow for these requests in this order, were everything but
    the waiting instantaneous: a token bucket per Region and API that starts full (CloudTrail's at its
    own pace)."""
    now = 0.0
    buckets: dict[tuple[str, str], tuple[float, float]] = {}
    for entry in entries:
        key = (entry["region"], entry["operation"])
        trail = entry["operation"] == "LookupEvents"
        rate, burst = (pace["trail_rate"], pace["trail_burst"]) if trail else (pace["rate"], pace["burst"])
        tokens, at = buckets.get(key, (burst, now))
        tokens = min(burst, tokens + (now - at) * rate) - 1.0
        if tokens < 0:
            now += -tokens / rate
            tokens = 0.0
        buckets[key] = (tokens, now)
    return now


def connect_figures(entries: list[dict[str, Any]], estate: Estate, result: dict[str, Any]) -> dict[str, Any]:
    """Connect calls by operation against the listing's minimum, and DescribePhoneNumber by purpose."""
    calls: dict[str, int] = {}
    throttled = 0
    for entry in entries:
        if entry["outcome"] == "throttled":
            throttled += 1
        calls[entry["operation"]] = calls.get(entry["operation"], 0) + 1
    minimum = estate.minimum_calls()
    released = estate.changed_ids.get("released", set())
    changed = set().union(*(ids for kind, ids in estate.changed_ids.items() if kind != "released"))
    describe = {"confirm": 0, "changes": 0, "rotation": 0}
    for number_id, count in result.get("described", {}).items():
        kind = "confirm" if number_id in released else "changes" if number_id in changed else "rotation"
        describe[kind] += count
    listing = {op: calls.get(op, 0) for op in minimum}
    return {
        "calls": calls,
        "total": sum(calls.values()),
        "throttled": throttled,
        "listing": sum(listing.values()),
        "minimum": minimum,
        "listing_minimum": sum(minimum.values()),
        "describe": describe,
    }


def table_bytes(table: str) -> dict[str, Any]:
    """The table's items and bytes by kind (numbers, buckets, targets and scopes, messages, runs), and its
    scope records (where each Region's rotation of descriptions stands)."""
    by_kind: dict[str, int] = {}
    items: dict[str, int] = {}
    scopes: dict[str, int] = {}
    for page in boto3.client("dynamodb").get_paginator("scan").paginate(TableName=table, ConsistentRead=True):
        for item in page["Items"]:
            kind = item["PK"]["S"].split("#", 1)[0]
            by_kind[kind] = by_kind.get(kind, 0) + item_size(item)
            items[kind] = items.get(kind, 0) + 1
            if item["SK"]["S"] == "#SCOPE":
                scopes[item["PK"]["S"].rsplit("#", 1)[-1]] = int(item.get("refresh_from", {"N": "0"})["N"])
    return {"bytes": by_kind, "items": items, "refresh_from": scopes}


def settings_of(env: dict[str, str]) -> dict[str, float]:
    """The pace and budget the deployed function uses (the template's, else the code's defaults)."""
    sys.path[:0] = [str(ROOT / "layers/numberwatch")]
    from numberwatch.settings import CLOUDTRAIL_BURST, Settings

    settings = Settings.from_environment({"AWS_REGION": HOME, **env})
    return {
        "rate": settings.connect_requests_per_second,
        "burst": settings.connect_burst,
        "describe_budget": settings.describe_calls_per_run,
        "detail_budget": settings.detail_calls_per_run,
        "trail_rate": settings.cloudtrail_requests_per_second,
        "trail_burst": CLOUDTRAIL_BURST,
    }


def ours_night(
    endpoint: str, env: dict[str, str], estate: Estate, pace: dict[str, float], memory_mb: int
) -> dict[str, Any]:
    control(endpoint, "DELETE", "/connect-emulator/requests")
    result = run_process("benchmarks.handler_process", env)
    entries = connect_requests(endpoint)
    summary = result["summary"]
    result["connect"] = connect_figures(entries, estate, result)
    result["paced_bound_seconds"] = paced_bound(entries, pace)
    result["changes"] = summary["changes"]
    result["changes_total"] = sum(summary["changes"].values())
    lookups = result["sdk_calls"].get("cloudtrail", {})
    result["cloudtrail"] = {"calls": sum(lookups.values()), "lookups": summary.get("cloudtrail_lookups", 0)}
    result["cost"] = run_cost(result, memory_mb, init_seconds=result["import_seconds"])
    result.pop("described", None)
    return result


def naive_night(endpoint: str, env: dict[str, str], memory_mb: int) -> dict[str, Any]:
    control(endpoint, "DELETE", "/connect-emulator/requests")
    result = run_process("benchmarks.naive", env)
    entries = connect_requests(endpoint)
    result["connect"] = {"total": len(entries), "throttled": sum(1 for e in entries if e["outcome"] == "throttled")}
    result["cost"] = run_cost(result, memory_mb)
    result.pop("described", None)
    return result


FLOOR_RUNS = 21  # the machine this was measured on is shared: many runs, and their fastest too


def import_profile(env: dict[str, str]) -> dict[str, Any]:
    """`python -S -X importtime -c "import app"` with only the layer's own dependencies on the path (as
    in Lambda; the dev venv has more, e.g. awscrt), as tests and the local stack run it (tracing off)
    and as Lambda with active tracing does (LAMBDA_TASK_ROOT set: Powertools turns tracing on): the
    median of five, the CPU time of the import, and the modules that take most of it; then the floor,
    the dependencies alone against the handler, both timed without -X importtime."""
    layer = ROOT / "benchmarks" / ".layer"
    if not layer.exists():
        subprocess.run(
            [sys.executable, "-m", "pip", "install", "--quiet", "--target", str(layer),
             "-r", str(ROOT / "layers/numberwatch/requirements.txt")],
            check=True,
        )  # fmt: skip
    path = f"{layer}:{ROOT / 'layers/numberwatch'}:{ROOT / 'functions/scan_numbers'}"
    measure = "import resource, time; c = time.process_time(); import app; print('CPU', time.process_time() - c)"
    profiles: dict[str, Any] = {}
    for name, extra in (("tracing_off", {"POWERTOOLS_TRACE_DISABLED": "true"}), ("lambda_tracing_on", {
        "LAMBDA_TASK_ROOT": str(ROOT / "functions/scan_numbers"), "POWERTOOLS_TRACE_DISABLED": "false",
        "AWS_XRAY_CONTEXT_MISSING": "IGNORE_ERROR"})):  # fmt: skip
        child_env = {**env, **extra, "AWS_REGION": HOME, "PYTHONPATH": path}
        runs = []
        for _ in range(5):
            completed = subprocess.run(
                [sys.executable, "-S", "-X", "importtime", "-c", measure],
                env=child_env, capture_output=True, text=True, check=True,
            )  # fmt: skip
            rows = []
            for line in completed.stderr.splitlines():
                match = re.match(r"import time:\s+(\d+) \|\s+(\d+) \|(\s*)(\S+)", line)
                if match:
                    rows.append((int(match[2]), len(match[3]), match[4]))
            total = next(cumulative for cumulative, depth, module in rows if module == "app" and depth == 1)
            cpu = float(completed.stdout.split("CPU ")[1])
            runs.append((total, cpu, rows))
        runs.sort(key=lambda run: run[0])
        total, _, rows = runs[len(runs) // 2]
        top = sorted(((c, n) for c, d, n in rows if 2 <= d <= 5 and n != "app"), reverse=True)[:8]
        profiles[name] = {
            "total_ms": total / 1000,
            "runs_ms": [r[0] / 1000 for r in runs],
            "cpu_ms": sorted(r[1] * 1000 for r in runs)[len(runs) // 2],
            "top": [{"module": n, "ms": c / 1000, "share": c / total} for c, n in top],
        }
    # The floor: the layer's dependencies imported alone, without a line of ours, timed the same way as
    # the handler beside it (no -X importtime, whose own overhead the figures above include).
    timed = (
        "import time; w, c = time.perf_counter(), time.process_time(); {};"
        " print(time.perf_counter() - w, time.process_time() - c)"
    )
    statements = {
        "dependencies": "import boto3, botocore.config; from pydantic import BaseModel; "
        "from aws_lambda_powertools import Logger, Metrics, Tracer",
        "handler": "import app",
    }
    child_env = {**env, "POWERTOOLS_TRACE_DISABLED": "true", "AWS_REGION": HOME, "PYTHONPATH": path}
    wall_ms: dict[str, list[float]] = {name: [] for name in statements}
    cpu_ms: dict[str, list[float]] = {name: [] for name in statements}
    for _ in range(FLOOR_RUNS):
        for name, statement in statements.items():  # alternated: a load that comes and goes hits both
            completed = subprocess.run(
                [sys.executable, "-S", "-c", timed.format(statement)],
                env=child_env, capture_output=True, text=True, check=True,
            )  # fmt: skip
            seconds, cpu_seconds = (float(f) for f in completed.stdout.split())
            wall_ms[name].append(seconds * 1000)
            cpu_ms[name].append(cpu_seconds * 1000)
    profiles["floor"] = {
        "runs": FLOOR_RUNS,
        **{f"{name}_ms": statistics.median(wall_ms[name]) for name in statements},
        **{f"{name}_fastest_ms": min(wall_ms[name]) for name in statements},  # the least disturbed by load
        **{f"{name}_cpu_ms": statistics.median(cpu_ms[name]) for name in statements},
    }
    return profiles


def measure_estate(
    endpoint: str,
    estate: Estate,
    naive_too: bool,
    memory_mb: int,
    layout: str,
    settings: dict[str, str] | None = None,
    save: Callable[[list[dict[str, Any]], dict[str, float]], None] = lambda rows, pace: None,
) -> tuple[list[dict[str, Any]], dict[str, str], dict[str, float]]:
    """The three nights of one estate: its rows, the function's environment and its pace. A night whose
    run could not reach every target in time goes on with a further invocation (at most three), each
    its own row; the million's table is not scanned (a million items through the local stack). `save`
    gets the rows so far and the pace after each row (a long run keeps what it measured if a later night
    fails)."""
    deployment = deploy()
    pace = settings_of(deployment.env)
    naive_table = f"naive-{estate.size}"
    naive_topic = boto3.client("sns").create_topic(Name=f"naive-{estate.size}")["TopicArn"]
    boto3.client("dynamodb").create_table(
        TableName=naive_table, BillingMode="PAY_PER_REQUEST",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
    )  # fmt: skip
    env = {
        **{k: v for k, v in os.environ.items() if k.startswith("AWS_")},
        **deployment.env,
        "POWERTOOLS_TRACE_DISABLED": "true",
        "POWERTOOLS_LOG_LEVEL": "INFO",  # the template's default: its bytes are part of the bill
        "POWERTOOLS_METRICS_NAMESPACE": "ConnectNumberWatch",
        "NUMBERWATCH_ROOT": str(ROOT),
        "NAIVE_TABLE": naive_table,
        "NAIVE_TOPIC_ARN": naive_topic,
        **(settings or {}),
    }
    env.pop("POWERTOOLS_METRICS_DISABLED", None)
    rows = []
    for night in NIGHTS:
        # The estate's own changes are made by the seeding client, exempt from the quota.
        control(endpoint, "POST", "/connect-emulator/quotas", {"enabled": False, "unlimited_access_keys": [SEEDER]})
        estate.changed_ids = {}
        made = change_one_percent(estate) if night == "1% changed" else {}
        control(endpoint, "POST", "/connect-emulator/quotas", QUOTA)
        for invocation in range(1, MAX_INVOCATIONS + 1):
            row: dict[str, Any] = {"size": estate.size, "night": night, "layout": layout, "made": made,
                                   "changed": sum(made.values()), "invocation": invocation}  # fmt: skip
            row["ours"] = ours_night(endpoint, env, estate, pace, memory_mb)
            row["ours"]["table"] = table_bytes(deployment.table) if layout == "standard" else {}
            if naive_too:
                row["naive"] = naive_night(endpoint, env, memory_mb)
            rows.append(row)
            print_row(row)
            save(rows, pace)
            if not row["ours"]["summary"].get("resume_with"):
                break
    return rows, deployment.env, pace


def print_row(row: dict[str, Any]) -> None:
    ours = row["ours"]
    naive = row.get("naive")
    print(
        f"{row['size']:>8} {row['night']:<10} #{row['invocation']} {ours['summary']['status']} "
        f"connect={ours['connect']['total']} "
        f"(listing {ours['connect']['listing']}/min {ours['connect']['listing_minimum']}, "
        f"describe {ours['connect']['describe']}) wall={ours['wall_seconds']:.1f}s "
        f"(bound {ours['paced_bound_seconds']:.1f}) cpu={ours['cpu_seconds']:.2f}s rss={ours['peak_rss_mb']:.0f}MB "
        f"read={ours['dynamodb']['items_read']} written={ours['dynamodb']['items_written']} "
        f"changes={ours['changes_total']}"
        + (f" | naive wall={naive['wall_seconds']:.1f}s cpu={naive['cpu_seconds']:.2f}s" if naive else ""),
        flush=True,
    )


def measured_on(pace: dict[str, float], memory_mb: int) -> dict[str, Any]:
    return {
        "date": time.strftime("%Y-%m-%d"),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, shared",
        "python": platform.python_version(),
        "memory_mb": memory_mb,
        "pace": pace,
        "quota": {"rate": QUOTA["rate"], "burst": QUOTA["burst"]},
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", default="1000,10000,100000")
    parser.add_argument("--naive-up-to", type=int, default=10000, help="run the naive baseline up to this size")
    parser.add_argument("--million", action="store_true", help="one account of 10 targets of 100,000 numbers")
    parser.add_argument("--report-only", action="store_true", help="rewrite the report from the JSON files")
    parser.add_argument(
        "--details",
        action="store_true",
        help=f"DETAIL_CALLS_PER_RUN={DETAILS} (tags and status of what changed, then the rest in rotation), with"
        " the naive script alongside, into details.json",
    )
    args = parser.parse_args(argv)
    if args.report_only:
        write_report(RESULTS)
        return 0
    process, endpoint = start_stack()
    os.environ.update(
        AWS_ENDPOINT_URL=endpoint, AWS_ACCESS_KEY_ID="bench", AWS_SECRET_ACCESS_KEY="bench", AWS_DEFAULT_REGION=HOME,
        AWS_REGION=HOME, AWS_ACCOUNT_ID_ENDPOINT_MODE="disabled",
    )  # fmt: skip
    memory_mb = int(template()["Parameters"]["FunctionMemorySize"]["Default"])
    try:
        RESULTS.mkdir(parents=True, exist_ok=True)
        if args.million:

            def save(rows: list[dict[str, Any]], pace: dict[str, float]) -> None:
                report = {"measured_on": measured_on(pace, memory_mb), "rows": rows}
                (RESULTS / "million.json").write_text(json.dumps(report, indent=2))

            measure_estate(endpoint, build_million(endpoint), False, memory_mb, "million", save=save)
        elif args.details:
            rows = []
            for size in (int(s) for s in args.sizes.split(",")):
                estate = build_estate(endpoint, size)
                settings = {"DETAIL_CALLS_PER_RUN": str(DETAILS)}
                naive_too = size <= args.naive_up_to
                measured, _, pace = measure_estate(endpoint, estate, naive_too, memory_mb, "standard", settings)
                rows += measured
                report = {"measured_on": measured_on(pace, memory_mb), "rows": rows}
                (RESULTS / "details.json").write_text(json.dumps(report, indent=2))
        else:
            rows = []
            imports: dict[str, Any] = {}
            for size in (int(s) for s in args.sizes.split(",")):
                estate = build_estate(endpoint, size)
                measured, env, pace = measure_estate(endpoint, estate, size <= args.naive_up_to, memory_mb, "standard")
                rows += measured
                report = {"measured_on": measured_on(pace, memory_mb), "imports": imports, "rows": rows}
                (RESULTS / "results.json").write_text(json.dumps(report, indent=2))
                if not imports:
                    report["imports"] = imports = import_profile(env)
                    (RESULTS / "results.json").write_text(json.dumps(report, indent=2))
    finally:
        process.terminate()
        process.wait()
    print(write_report(RESULTS))
    return 0


if __name__ == "__main__":
    sys.exit(main())
