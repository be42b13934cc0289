"""`make bench`: cost and speed of the nightly scan for 1,000, 10,000 and 100,000 numbers.

For each estate (several instances and TDGs, seeded through the emulator's bulk seeding) and each
of three nights (baseline, no change, 1% changed), the real handler runs in its own process
against the local stack (in another process) under Connect's default quota, and so does the naive
baseline (benchmarks/naive.py). Prints one table; writes benchmarks/results/results.{md,json} and
one PNG per cost. No assertion on time anywhere: these are figures.

    PYTHONPATH=local:. python -m benchmarks.run [--sizes 1000,10000,100000] [--naive-up-to 10000]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import re
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3

from benchmarks.archive import archive_section
from localaws.demo import create_instance
from localaws.lambda_runtime import deploy

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
NIGHTS = ("baseline", "quiet", "1% changed")
HOME, WEST = "us-east-1", "us-west-2"
ACCOUNT = "123456789012"
SEEDER = "AKIABENCHSEEDER00000"
# Share of the estate per target: (name, share)
LAYOUT = (("alpha", 0.30), ("bravo", 0.20), ("charlie", 0.15), ("alpha-replica", 0.05), ("default-tdg", 0.10),
          ("global-tdg", 0.20))  # fmt: skip

# Unit prices, us-east-1, on-demand, as published on 2026-11-01. One place, with their date.
PRICES_DATE = "2026-11-01"
PRICE = {
    "lambda_gb_second_arm64": 0.0000133334,
    "lambda_request": 0.20 / 1e6,
    "dynamodb_write_unit": 0.625 / 1e6,
    "dynamodb_read_unit": 0.125 / 1e6,
    "sns_publish": 0.50 / 1e6,
    "aws_config_item": 0.003,
}
RATE_CAP = 1.0  # the template's default CONNECT_REQUESTS_PER_SECOND


@dataclass
class Estate:
    size: int
    targets: dict[str, str] = field(default_factory=dict)  # name -> ARN
    counts: dict[str, int] = field(default_factory=dict)
    instances: dict[str, list[str]] = field(default_factory=dict)  # region -> instance ids
    tdgs_per_instance: dict[str, int] = field(default_factory=dict)

    def minimum_calls(self) -> dict[str, int]:
        return {
            "ListInstances": sum(max(1, math.ceil(len(ids) / 10)) for ids in self.instances.values()),
            "ListTrafficDistributionGroups": sum(max(1, math.ceil(n / 10)) for n in self.tdgs_per_instance.values()),
            "ListPhoneNumbersV2": sum(max(1, math.ceil(n / 1000)) for n in self.counts.values()),
        }


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def control(endpoint: str, method: str, path: str, payload: dict[str, Any] | None = None) -> Any:
    data = None if payload is None else json.dumps(payload).encode()
    request = urllib.request.Request(
        endpoint + path, data=data, method=method, headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=600) as response:
        body = response.read()
    return json.loads(body) if body else None


def start_stack() -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    env = {**os.environ, "PYTHONPATH": str(ROOT / "local")}
    process = subprocess.Popen(
        [sys.executable, "-m", "localaws", "--port", str(port)], env=env, stdout=subprocess.DEVNULL
    )
    endpoint = f"http://127.0.0.1:{port}"
    for _ in range(300):
        try:
            control(endpoint, "GET", "/connect-emulator/quotas")
            return process, endpoint
        except OSError:
            time.sleep(0.1)
    raise RuntimeError("the local stack did not start")


def seeder(region: str) -> Any:
    return boto3.client("connect", region_name=region, aws_access_key_id=SEEDER, aws_secret_access_key="x")


def build_estate(endpoint: str, size: int) -> Estate:
    control(endpoint, "POST", "/connect-emulator/reset", {})
    control(endpoint, "POST", "/moto-api/reset", {})
    control(endpoint, "POST", "/connect-emulator/quotas", {"unlimited_access_keys": [SEEDER]})
    home, west = seeder(HOME), seeder(WEST)

    alpha, bravo = create_instance(home, "alpha"), create_instance(home, "bravo")
    charlie = create_instance(west, "charlie")
    replica = home.replicate_instance(InstanceId=alpha["Id"], ReplicaRegion=WEST)
    default_tdg = home.list_traffic_distribution_groups(InstanceId=alpha["Id"])["TrafficDistributionGroupSummaryList"][
        0
    ]
    global_tdg = home.create_traffic_distribution_group(Name="global", InstanceId=alpha["Id"])
    estate = Estate(size)
    estate.targets = {
        "alpha": alpha["Arn"], "bravo": bravo["Arn"], "charlie": charlie["Arn"], "alpha-replica": replica["Arn"],
        "default-tdg": default_tdg["Arn"], "global-tdg": global_tdg["Arn"],
    }  # fmt: skip
    estate.instances = {HOME: [alpha["Id"], bravo["Id"]], WEST: [charlie["Id"], replica["Id"]]}
    estate.tdgs_per_instance = {"alpha": 2, "bravo": 0, "charlie": 0, "alpha-replica": 2}
    for name, share in LAYOUT:
        count = round(size * share)
        arn = estate.targets[name]
        control(endpoint, "POST", "/connect-emulator/seed", {
            "account": ACCOUNT, "region": arn.split(":")[3], "target_arn": arn, "count": count,
            "countries": ["US", "GB", "DE", "CA"], "types": ["DID", "TOLL_FREE"], "description_every": 5,
            "imported_every": 40,
        })  # fmt: skip
        estate.counts[name] = count
    return estate


def change_one_percent(estate: Estate) -> dict[str, int]:
    """1% of the estate: 40% claims, 30% releases, 15% moves, 15% description edits (public API)."""
    total = max(4, estate.size // 100)
    plan = {"claims": total * 40 // 100, "releases": total * 30 // 100, "moves": total * 15 // 100}
    plan["updates"] = total - sum(plan.values())
    home = seeder(HOME)
    listed = [
        n
        for page in home.get_paginator("list_phone_numbers_v2").paginate(
            TargetArn=estate.targets["alpha"], PaginationConfig={"PageSize": 1000}
        )
        for n in page["ListPhoneNumbersSummaryList"]
    ]
    victims = iter(listed)
    for _ in range(plan["releases"]):
        home.release_phone_number(PhoneNumberId=next(victims)["PhoneNumberId"])
    for _ in range(plan["moves"]):
        home.update_phone_number(PhoneNumberId=next(victims)["PhoneNumberId"], TargetArn=estate.targets["bravo"])
    for _ in range(plan["updates"]):
        home.update_phone_number_metadata(PhoneNumberId=next(victims)["PhoneNumberId"], PhoneNumberDescription="edited")
    claimed = 0
    while claimed < plan["claims"]:
        offers = home.search_available_phone_numbers(
            TargetArn=estate.targets["bravo"], PhoneNumberCountryCode="US", PhoneNumberType="DID",
            MaxResults=min(10, plan["claims"] - claimed),
        )["AvailableNumbersList"]  # fmt: skip
        for offer in offers:
            home.claim_phone_number(TargetArn=estate.targets["bravo"], PhoneNumber=offer["PhoneNumber"])
            claimed += 1
    estate.counts["alpha"] -= plan["releases"] + plan["moves"]
    estate.counts["bravo"] += plan["moves"] + plan["claims"]
    return plan


def run_process(module: str, env: dict[str, str]) -> dict[str, Any]:
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as handle:
        json.dump(env, handle)
    child_env = {**os.environ, "PYTHONPATH": f"{ROOT}:{ROOT / 'local'}"}
    completed = subprocess.run(
        [sys.executable, "-m", module, handle.name], env=child_env, capture_output=True, text=True, check=False
    )
    os.unlink(handle.name)
    line = next((x for x in completed.stdout.splitlines() if x.startswith("BENCH ")), None)
    if completed.returncode != 0 or line is None:
        raise RuntimeError(f"{module} failed:\n{completed.stderr[-4000:]}")
    result: dict[str, Any] = json.loads(line[6:])
    return result


def connect_entries(endpoint: str) -> list[dict[str, Any]]:
    """Each request the emulator served (throttled ones left out)."""
    entries = control(endpoint, "GET", "/connect-emulator/requests?entries=1")["entries"]
    return [{"region": e["region"], "operation": e["operation"]} for e in entries if e["outcome"] == "ok"]


def connect_calls(endpoint: str) -> dict[str, dict[str, int]]:
    operations: dict[str, dict[str, int]] = control(endpoint, "GET", "/connect-emulator/requests")["operations"]
    return operations


def read_units(dynamodb: dict[str, Any]) -> float:
    """Estimated eventually consistent read units: half a unit per 4 KB, at least half a unit per call."""
    calls = sum(int(dynamodb["calls"].get(op, 0)) for op in ("GetItem", "Query", "BatchGetItem"))
    return max(calls * 0.5, float(dynamodb["bytes_read"]) / 4096 * 0.5)


def cost(result: dict[str, Any], memory_mb: int) -> float:
    """Lambda GB-seconds at the template's memory size, DynamoDB on-demand units, SNS publishes."""
    seconds = float(result["wall_seconds"])
    lambda_cost = seconds * memory_mb / 1024 * PRICE["lambda_gb_second_arm64"] + PRICE["lambda_request"]
    dynamodb = result["dynamodb"]
    writes = float(dynamodb["write_units"]) * PRICE["dynamodb_write_unit"]
    reads = read_units(dynamodb) * PRICE["dynamodb_read_unit"]
    return lambda_cost + writes + reads + int(result["sns"]["messages"]) * PRICE["sns_publish"]


def import_profile(env: dict[str, str]) -> dict[str, Any]:
    """`python -S -X importtime -c "import app"` with only the layer's own dependencies on the path
    (as in Lambda; the dev venv has more, e.g. awscrt): the median of three, and the modules that
    take most of it."""
    layer = ROOT / "benchmarks" / ".layer"
    if not layer.exists():
        subprocess.run(
            [sys.executable, "-m", "pip", "install", "--quiet", "--target", str(layer),
             "-r", str(ROOT / "layers/numberwatch/requirements.txt")],
            check=True,
        )  # fmt: skip
    path = f"{layer}:{ROOT / 'layers/numberwatch'}:{ROOT / 'functions/scan_numbers'}"
    child_env = {**env, "PYTHONPATH": path}
    runs = []
    for _ in range(3):
        completed = subprocess.run(
            [sys.executable, "-S", "-X", "importtime", "-c", "import app"],
            env=child_env, capture_output=True, text=True, check=True,
        )  # fmt: skip
        rows = []
        for line in completed.stderr.splitlines():
            match = re.match(r"import time:\s+(\d+) \|\s+(\d+) \|(\s*)(\S+)", line)
            if match:
                rows.append((int(match[2]), len(match[3]), match[4]))
        total = next(cumulative for cumulative, depth, name in rows if name == "app" and depth == 1)
        runs.append((total, rows))
    total, rows = sorted(runs, key=lambda run: run[0])[1]
    top = sorted(((c, n) for c, d, n in rows if 2 <= d <= 5 and n != "app"), reverse=True)[:8]
    return {
        "total_ms": total / 1000,
        "runs_ms": sorted(r[0] / 1000 for r in runs),
        "top": [{"module": n, "ms": c / 1000, "share": c / total} for c, n in top],
    }


def template_memory_mb() -> int:
    """The function's memory size: the template's FunctionMemorySize default."""
    from localaws.template import template

    return int(template()["Parameters"]["FunctionMemorySize"]["Default"])


def report_again() -> int:
    """Rewrite results.md and the plots from results.json (costs at the template's memory size now)."""
    report = json.loads((RESULTS / "results.json").read_text())
    memory_mb = template_memory_mb()
    for row in report["rows"]:
        for side in ("ours", "naive"):
            if side in row:
                row[side]["cost"] = cost(row[side], memory_mb)
    report["measured_on"]["memory_mb"] = memory_mb
    (RESULTS / "results.json").write_text(json.dumps(report, indent=2))
    (RESULTS / "results.md").write_text(markdown(report))
    plot(report)
    print(markdown(report))
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", default="1000,10000,100000")
    parser.add_argument("--naive-up-to", type=int, default=10000, help="run the naive baseline up to this size")
    parser.add_argument("--report-only", action="store_true", help="rewrite the report from results.json")
    args = parser.parse_args(argv)
    if args.report_only:
        return report_again()
    sizes = [int(s) for s in args.sizes.split(",")]
    memory_mb = template_memory_mb()
    process, endpoint = start_stack()
    os.environ.update(
        AWS_ENDPOINT_URL=endpoint, AWS_ACCESS_KEY_ID="bench", AWS_SECRET_ACCESS_KEY="bench", AWS_DEFAULT_REGION=HOME,
        AWS_REGION=HOME, AWS_ACCOUNT_ID_ENDPOINT_MODE="disabled",
    )  # fmt: skip
    rows: list[dict[str, Any]] = []
    imports: dict[str, Any] = {}
    try:
        for size in sizes:
            estate = build_estate(endpoint, size)
            deployment = deploy()
            naive_table = f"naive-{size}"
            naive_topic = boto3.client("sns").create_topic(Name=f"naive-{size}")["TopicArn"]
            boto3.client("dynamodb").create_table(
                TableName=naive_table, BillingMode="PAY_PER_REQUEST",
                KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
            )  # fmt: skip
            env = {
                **{k: v for k, v in os.environ.items() if k.startswith("AWS_")},
                **deployment.env,
                "POWERTOOLS_TRACE_DISABLED": "true",
                "POWERTOOLS_LOG_LEVEL": "WARNING",
                "POWERTOOLS_METRICS_DISABLED": "true",
                "NUMBERWATCH_ROOT": str(ROOT),
                "NAIVE_TABLE": naive_table,
                "NAIVE_TOPIC_ARN": naive_topic,
            }
            if not imports:
                imports = import_profile(env)
            for night in NIGHTS:
                # The estate's own changes are made by the seeding client, exempt from the quota.
                control(
                    endpoint, "POST", "/connect-emulator/quotas", {"enabled": False, "unlimited_access_keys": [SEEDER]}
                )
                changed = change_one_percent(estate) if night == "1% changed" else {}
                row: dict[str, Any] = {"size": size, "night": night, "changed": sum(changed.values())}
                minimum = estate.minimum_calls()
                control(endpoint, "POST", "/connect-emulator/quotas", {"enabled": True, "rate": 2, "burst": 5,
                                                                        "unlimited_access_keys": []})  # fmt: skip
                control(endpoint, "DELETE", "/connect-emulator/requests")
                ours = run_process("benchmarks.handler_process", env)
                ours["connect"] = connect_calls(endpoint)
                ours["connect_entries"] = connect_entries(endpoint)
                ours["cost"] = cost(ours, memory_mb)
                row["ours"] = ours
                row["minimum"] = minimum
                if size <= args.naive_up_to:
                    control(endpoint, "DELETE", "/connect-emulator/requests")
                    naive = run_process("benchmarks.naive", env)
                    naive["connect"] = connect_calls(endpoint)
                    naive["cost"] = cost(naive, memory_mb)
                    row["naive"] = naive
                rows.append(row)
                print_row(row, flush=True)
                write_report(rows, imports, memory_mb)
    finally:
        process.terminate()
        process.wait()
    report = write_report(rows, imports, memory_mb)
    plot(report)
    print("\n" + markdown(report))
    return 0


def write_report(rows: list[dict[str, Any]], imports: dict[str, Any], memory_mb: int) -> dict[str, Any]:
    """results.json and results.md, rewritten after every night so that a long run leaves figures."""
    report = {
        "measured_on": {
            "date": time.strftime("%Y-%m-%d"), "machine": f"{platform.machine()}, {os.cpu_count()} cores",
            "python": platform.python_version(), "memory_mb": memory_mb, "rate_cap": RATE_CAP,
        },
        "prices": {"date": PRICES_DATE, **PRICE},
        "imports": imports,
        "rows": rows,
    }  # fmt: skip
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "results.json").write_text(json.dumps(report, indent=2))
    (RESULTS / "results.md").write_text(markdown(report))
    return report


def connect_total(result: dict[str, Any]) -> int:
    return sum(v.get("ok", 0) for v in result["connect"].values())


def print_row(row: dict[str, Any], flush: bool = False) -> None:
    ours = row["ours"]
    print(
        f"{row['size']:>7} {row['night']:<10} connect={connect_total(ours)} (min {sum(row['minimum'].values())}) "
        f"wall={ours['wall_seconds']:.1f}s cpu={ours['cpu_seconds']:.2f}s rss={ours['peak_rss_mb']:.0f}MB "
        f"ddb_calls={sum(ours['dynamodb']['calls'].values())} "
        f"written={sum(ours['dynamodb']['items_written'].values())} "
        f"sns={ours['sns']['messages']}",
        flush=flush,
    )


def ratio(ours: float, naive: float | None) -> str:
    if naive is None:
        return "-"
    if naive == 0:
        return "0/0" if ours == 0 else "inf"
    return f"{ours / naive:.3f}"


def paced_bound(result: dict[str, Any], rate: float) -> float:
    """The least wall time our pacing allows: per Region and API, one request per 1/rate seconds."""
    per_key: dict[tuple[str, str], int] = {}
    for entry in result.get("connect_entries", []):
        key = (entry["region"], entry["operation"])
        per_key[key] = per_key.get(key, 0) + 1
    return sum(max(0, n - 1) for n in per_key.values()) / rate


def table_row(row: dict[str, Any], rate: float) -> str:
    ours, naive = row["ours"], row.get("naive")
    ddb = ours["dynamodb"]
    written = sum(ddb["items_written"].values())
    write_calls = sum(
        ddb["calls"].get(op, 0) for op in ("TransactWriteItems", "BatchWriteItem", "PutItem", "DeleteItem")
    )
    throttled = sum(v.get("throttled", 0) for v in ours["connect"].values())
    config_items = row["size"] if row["night"] == "baseline" else row["changed"]
    cells = [
        f"{row['size']:,}",
        row["night"],
        f"{connect_total(ours)} / {sum(row['minimum'].values())} / {connect_total(naive) if naive else '-'}",
        str(throttled),
        f"{ours['wall_seconds']:.1f} / {paced_bound(ours, rate):.1f} / {connect_total(ours) / rate:.0f}",
        f"{naive['wall_seconds']:.1f}" if naive else "-",
        f"{ours['cpu_seconds']:.2f}",
        f"{ours['peak_rss_mb']:.0f}",
        f"{sum(ddb['calls'].values())} / {sum(naive['dynamodb']['calls'].values()) if naive else '-'}",
        str(sum(ddb["items_read"].values())),
        str(written),
        f"{written / write_calls if write_calls else 0:.1f}",
        f"{ours['sns']['calls']} / {ours['sns']['messages']} / {naive['sns']['messages'] if naive else '-'}",
        f"{ours['cost']:.5f} / {naive['cost']:.5f}" if naive else f"{ours['cost']:.5f} / -",
        f"{config_items * PRICE['aws_config_item']:.2f}",
    ]
    return "| " + " | ".join(cells) + " |"


def markdown(report: dict[str, Any]) -> str:
    measured = report["measured_on"]
    rate = measured["rate_cap"]
    lines = [
        "# Benchmark results",
        "",
        f"Measured {measured['date']} on {measured['machine']}, Python {measured['python']}; the handler in its own",
        "process, the local stack in another; Connect's default quota (2/s, burst 5) enforced; our rate cap",
        f"{rate}/s per Region and API; Lambda memory {measured['memory_mb']} MB;"
        f" unit prices of {report['prices']['date']}.",
        "CPU is the handler process's user + system time for the invocation (waiting for the quota costs none).",
        "",
        "| numbers | night | Connect calls ours / minimum / naive | throttled | wall s ours / paced bound / calls÷rate"
        " | wall s naive | CPU s | peak RSS MB | DynamoDB calls ours / naive | items read | items written"
        " | items per write call | SNS calls / messages / naive messages | $ per run ours / naive | AWS Config $ |",
        "|---:|---|---|---:|---|---:|---:|---:|---|---:|---:|---:|---|---|---:|",
        *(table_row(row, rate) for row in report["rows"]),
        "",
        "Ratios ours / naive (lower is better):",
        "",
        "| numbers | night | Connect calls | wall | DynamoDB calls | SNS messages | $ per run |",
        "|---:|---|---:|---:|---:|---:|---:|",
    ]
    for row in report["rows"]:
        if "naive" not in row:
            continue
        ours, naive = row["ours"], row["naive"]
        cells = [
            f"{row['size']:,}",
            row["night"],
            ratio(connect_total(ours), connect_total(naive)),
            ratio(ours["wall_seconds"], naive["wall_seconds"]),
            ratio(sum(ours["dynamodb"]["calls"].values()), sum(naive["dynamodb"]["calls"].values())),
            ratio(ours["sns"]["messages"], naive["sns"]["messages"]),
            ratio(ours["cost"], naive["cost"]),
        ]
        lines.append("| " + " | ".join(cells) + " |")
    lines += [
        "",
        "Per month, 30 nights of the kind:",
        "",
        "| numbers | night | ours $ / month | AWS Config $ / month |",
    ]
    lines.append("|---:|---|---:|---:|")
    for row in report["rows"]:
        if row["night"] != "baseline":
            config = row["changed"] * 30 * PRICE["aws_config_item"]
            lines.append(f"| {row['size']:,} | {row['night']} | {row['ours']['cost'] * 30:.4f} | {config:.2f} |")
    lines += archive_section(report["rows"])
    imports = report["imports"]
    runs = ", ".join(f"{r:.0f}" for r in imports["runs_ms"])
    lines += [
        "",
        "Cold-start import of the handler module, only the layer's dependencies on the path:"
        f" {imports['total_ms']:.0f} ms"
        f" (median of {runs} ms). Largest shares (a module's time includes what it imports):",
        "",
        *(f"- `{m['module']}`: {m['ms']:.0f} ms ({m['share']:.0%})" for m in imports["top"]),
        "",
        "Targets: Connect calls equal to the minimum; wall time within 10% of the paced bound; a quiet night reads",
        "one small item per target plus bookkeeping and publishes nothing; quiet night at 100,000 numbers under",
        "3 s of CPU and 256 MB peak RSS; handler import under 500 ms.",
        "",
    ]
    return "\n".join(lines)


def plot(report: dict[str, Any]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figures: dict[str, tuple[str, Callable[[dict[str, Any]], float]]] = {
        "connect_calls": ("Connect calls", lambda r: connect_total(r)),
        "wall_seconds": ("wall time under the quota (s)", lambda r: r["wall_seconds"]),
        "cpu_seconds": ("handler CPU (s)", lambda r: r["cpu_seconds"]),
        "dynamodb_calls": ("DynamoDB calls", lambda r: sum(r["dynamodb"]["calls"].values())),
        "items_written": ("DynamoDB items written", lambda r: sum(r["dynamodb"]["items_written"].values())),
        "peak_rss_mb": ("peak RSS (MB)", lambda r: r["peak_rss_mb"]),
        "cost_per_run": ("estimated $ per run", lambda r: r["cost"]),
    }
    for name, (label, value) in figures.items():
        figure, axis = plt.subplots(figsize=(6, 4))
        for night in NIGHTS:
            rows = [r for r in report["rows"] if r["night"] == night]
            axis.plot([r["size"] for r in rows], [value(r["ours"]) for r in rows], marker="o", label=f"ours, {night}")
            naive = [r for r in rows if "naive" in r]
            if naive:
                axis.plot([r["size"] for r in naive], [value(r["naive"]) for r in naive], marker="x", linestyle="--",
                          label=f"naive, {night}")  # fmt: skip
        axis.set_xscale("log")
        axis.set_xlabel("numbers in the estate")
        axis.set_ylabel(label)
        axis.legend(fontsize=7)
        axis.grid(True, alpha=0.3)
        figure.tight_layout()
        figure.savefig(RESULTS / f"{name}.png", dpi=100)
        plt.close(figure)


if __name__ == "__main__":
    sys.exit(main())
