"""`numberwatch inventory` over an archive of 100,000 numbers: seconds and peak RSS, per output format.

The archive is written into the local stack's S3 with the archive format's own writer (rows, gzip,
manifest), as a complete full run of four targets in two Regions would leave it; then the installed
console script runs in a process of its own against it (as a person would run it), and its wall time
and peak RSS (the child's own rusage) are measured. Figures only: writes benchmarks/results/cli.*.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3

from localaws.lambda_runtime import ACCOUNT, CLIENT_ENVIRONMENT, create_archive_bucket, use_local_stack
from localaws.stack import LocalStack
from numberwatch.adapters.s3_archive import S3Archive
from numberwatch.archive_format import (
    INVENTORY,
    Entry,
    JsonLinesGzip,
    Manifest,
    inventory_lines,
    manifest_key,
    run_date,
    sha256_of,
)
from numberwatch.models import PhoneNumber, Target, TargetKind

RESULTS = Path(__file__).resolve().parent / "results"
COMMAND = Path(sys.executable).parent / "numberwatch"
TARGETS = (("us-east-1", "main"), ("us-east-1", "sales"), ("us-west-2", "support"), ("us-west-2", "after-hours"))
GOAL_SECONDS = 3.0


def target_of(region: str, name: str) -> Target:
    instance = f"arn:aws:connect:{region}:{ACCOUNT}:instance/{uuid.uuid5(uuid.NAMESPACE_URL, name)}"
    return Target(instance, TargetKind.INSTANCE, name, instance, (region,))


def numbers_of(target: Target, start: int, count: int) -> list[PhoneNumber]:
    region = target.home_region
    return [
        PhoneNumber.from_summary(
            {
                "PhoneNumberId": f"{index:032x}",
                "PhoneNumberArn": f"arn:aws:connect:{region}:{ACCOUNT}:phone-number/{index:032x}",
                "PhoneNumber": f"+1206{index:07d}",
                "PhoneNumberCountryCode": "US",
                "PhoneNumberType": "DID" if index % 10 else "TOLL_FREE",
                "TargetArn": target.arn,
                "InstanceId": target.arn.rsplit("/", 1)[-1],
                "PhoneNumberDescription": f"line {index}" if index % 7 == 0 else None,
                "FlowId": None if index % 12 == 0 else "flow-1",
                "FlowName": None if index % 12 == 0 else "Main menu",
            }
        )
        for index in range(start, start + count)
    ]


def write_archive(bucket: str, numbers: int) -> str:
    """One complete full run's inventory of `numbers` numbers and its manifest; returns the run id."""
    archive = S3Archive(boto3.client("s3"), bucket)
    started = datetime.now(UTC).replace(microsecond=0)
    run_id, observed_at = str(uuid.uuid4()), started.isoformat().replace("+00:00", "Z")
    buffers: dict[str, JsonLinesGzip] = {}
    share = numbers // len(TARGETS)
    for position, (region, name) in enumerate(TARGETS):
        target = target_of(region, name)
        count = share if position < len(TARGETS) - 1 else numbers - share * (len(TARGETS) - 1)
        key = INVENTORY.key({"account": ACCOUNT, "region": region, "run_date": run_date(started)}, run_id)
        buffers.setdefault(region, JsonLinesGzip(key)).add(
            inventory_lines(numbers_of(target, position * share, count), target, {}, run_id, observed_at)
        )
    entries = []
    for buffer in buffers.values():
        encoded = buffer.close()
        archive.put(encoded.key, encoded.body, encoded.sha256)
        entries.append(Entry.of(encoded))
    manifest = Manifest(ACCOUNT, run_id, observed_at, "COMPLETED", True, None, tuple(entries), None)
    body = manifest.encode()
    archive.put(manifest_key(ACCOUNT, run_id, started), body, sha256_of(body))
    return run_id


def measure(arguments: list[str], environment: dict[str, str]) -> dict[str, Any]:
    """One run of the console script: wall seconds and the child's peak RSS (its own rusage)."""
    started = time.perf_counter()
    with open(os.devnull, "wb") as sink:
        child = subprocess.Popen([str(COMMAND), *arguments], stdout=sink, stderr=subprocess.PIPE, env=environment)
        _, status, usage = os.wait4(child.pid, 0)
    seconds = time.perf_counter() - started
    if status != 0:
        errors = child.stderr.read().decode() if child.stderr else ""
        raise RuntimeError(f"numberwatch {' '.join(arguments)} exited {status}: {errors}")
    return {"seconds": round(seconds, 2), "peak_rss_mb": round(usage.ru_maxrss / 1024, 1)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--numbers", type=int, default=100_000)
    args = parser.parse_args(argv)
    stack = LocalStack(port=0).start()
    try:
        use_local_stack(stack.endpoint_url)
        bucket = create_archive_bucket()
        run_id = write_archive(bucket, args.numbers)
        environment = {
            **{k: v for k, v in os.environ.items() if not k.startswith("AWS_")},
            **CLIENT_ENVIRONMENT,
            "AWS_ENDPOINT_URL": stack.endpoint_url,
            "COLUMNS": "200",
        }
        base = ["--bucket", bucket, "inventory", "--account", ACCOUNT]
        figures = {output: measure([*base, "--format", output], environment) for output in ("csv", "json", "table")}
    finally:
        stack.stop()
    result = {
        "date": datetime.now(UTC).date().isoformat(),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}",
        "numbers": args.numbers,
        "run_id": run_id,
        "goal_seconds": GOAL_SECONDS,
        "inventory": figures,
    }
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "cli.json").write_text(json.dumps(result, indent=2) + "\n")
    lines = [
        f"# `numberwatch inventory` over {args.numbers:,} archived numbers",
        "",
        f"Measured by `make bench-cli` on {result['date']} ({result['machine']}): the installed console script in a",
        "process of its own, against the local stack's S3 holding one complete full run (4 targets, 2 Regions),",
        "output to /dev/null. Goal: under 3 s. CSV and JSON carry every row; the table shows the first 500",
        "(`--limit`, 0 for all: Rich takes minutes to lay out 100,000 rows) and says how many more there are.",
        "About 0.7 s of each is starting Python and importing boto3; about 1 s is parsing the rows.",
        "",
        "| format | seconds | peak RSS MB |",
        "|---|---:|---:|",
        *(f"| {name} | {f['seconds']} | {f['peak_rss_mb']} |" for name, f in figures.items()),
        "",
    ]
    (RESULTS / "cli.md").write_text("\n".join(lines))
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
