"""`make bench-report`: the monthly report of a month of 100,000 numbers, timed.

A month (30 nights of October 2026) is archived in the local stack's S3 with the archive's own writer
(`localaws.archived_month`: the archive phase's session and evidence writer, not 30 scans): about 1%
of the numbers change a night (claims, releases, moves, updates; half of them with a CloudTrail actor),
5% are unrouted, and a few hundred a night are described (their tags, in the details table). Then
`render_month` runs in a process of its own for each format, reading the month back over HTTP, and
reports its seconds and peak RSS (the interpreter and boto3 included; their share alone is measured
too). Figures only: nothing asserts a time. Writes benchmarks/results/monthly-report.json and monthly-report.md.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import subprocess
import sys
import time
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
ACCOUNT = "123456789012"
MONTH = "2026-10"
NIGHTS = 30
CHANGED_SHARE = 0.01
UNROUTED_SHARE = 0.05
DESCRIBED_A_NIGHT = 300  # DescribePhoneNumber's default nightly budget: the numbers whose tags a night reads
REQUIRED_TAG_KEYS = ("cost-center", "owner")
GOALS = {"seconds": 20.0, "peak_rss_mb": 500.0}


def _targets() -> list[Any]:
    from numberwatch.models import Target, TargetKind

    def arn(region: str, kind: str, index: int) -> str:
        return f"arn:aws:connect:{region}:{ACCOUNT}:{kind}/{index:08d}-0000-4000-8000-000000000000"

    home, west = "us-east-1", "us-west-2"
    return [
        Target(arn(home, "instance", 1), TargetKind.INSTANCE, "alpha", arn(home, "instance", 1), (home,)),
        Target(arn(home, "instance", 2), TargetKind.INSTANCE, "bravo", arn(home, "instance", 2), (home,)),
        Target(arn(west, "instance", 3), TargetKind.INSTANCE, "charlie", arn(west, "instance", 3), (west,)),
        Target(
            arn(home, "traffic-distribution-group", 4), TargetKind.TRAFFIC_DISTRIBUTION_GROUP, "global",
            arn(home, "instance", 1), (home, west),
        ),
    ]  # fmt: skip


class Month:
    """The estate night by night: who holds what, and what changed."""

    def __init__(self, size: int, seed: int = 7) -> None:
        from numberwatch.models import PhoneNumber

        self.random = random.Random(seed)
        self.targets = _targets()
        self.next_index = 0
        self.held: dict[str, PhoneNumber] = {}
        for _ in range(size):
            number = self._new(self.random.choice(self.targets))
            self.held[number.arn] = number

    def _new(self, target: Any) -> Any:
        from numberwatch.models import PhoneNumber

        index = self.next_index
        self.next_index += 1
        region = target.home_region
        kind, country = self.random.choice([("DID", "US"), ("DID", "US"), ("TOLL_FREE", "US"), ("DID", "GB")])
        unrouted = self.random.random() < UNROUTED_SHARE
        return PhoneNumber(
            arn=f"arn:aws:connect:{region}:{ACCOUNT}:phone-number/{index:08d}-0000-4000-8000-000000000000",
            id=f"{index:08d}-0000-4000-8000-000000000000",
            number=f"+1206{index:07d}" if country == "US" else f"+4420{index:08d}",
            country=country,
            type=kind,
            target_arn=target.arn,
            instance_id=target.instance_arn.rsplit("/", 1)[-1],
            description=f"line {index}",
            flow_id=None if unrouted else "flow-main",
            flow_name=None if unrouted else "Main menu",
        )

    def night(self) -> tuple[dict[Any, list[Any]], list[Any], list[Any]]:
        """Tonight's changes applied: (numbers held by target, changes, numbers described with their tags)."""
        from numberwatch.models import Actor, Change, ChangeType

        changes = []
        per_kind = int(len(self.held) * CHANGED_SHARE / 4)
        arns = self.random.sample(sorted(self.held), per_kind * 3)
        for arn in arns[:per_kind]:  # released
            gone = self.held.pop(arn)
            changes.append(Change(ChangeType.RELEASED, arn, gone, None, 2, 3, ()))
        for arn in arns[per_kind : 2 * per_kind]:  # moved
            before = self.held[arn]
            target = self.random.choice([t for t in self.targets if t.arn != before.target_arn])
            after = self.held[arn] = replace(before, target_arn=target.arn)
            changes.append(Change(ChangeType.MOVED, arn, before, after, 2, 3, ("TargetArn",)))
        for arn in arns[2 * per_kind :]:  # updated, and described: its tags are in its event
            before = self.held[arn]
            tags = (("cost-center", "42"),) if self.random.random() < 0.5 else (("cost-center", "42"), ("owner", "x"))
            after = self.held[arn] = replace(before, description="edited", tags=tags)
            changes.append(Change(ChangeType.UPDATED, arn, before, after, 2, 3, ("PhoneNumberDescription",)))
        for _ in range(per_kind):  # claimed
            claimed = self._new(self.random.choice(self.targets))
            self.held[claimed.arn] = claimed
            changes.append(Change(ChangeType.CLAIMED, claimed.arn, None, claimed, 0, 1, ()))
        when = datetime(2026, 10, 1, 5, 0, tzinfo=UTC).isoformat().replace("+00:00", "Z")
        changes = [
            replace(c, actor=Actor("UpdatePhoneNumber", when, f"e{i}", principal_arn="arn:aws:iam::1:user/ops"))
            if i % 2 else c
            for i, c in enumerate(changes)
        ]  # fmt: skip
        described = [
            number if number.tags is not None else replace(number, tags=(("owner", "y"),))
            for number in (self.held[arn] for arn in self.random.sample(sorted(self.held), DESCRIBED_A_NIGHT))
        ]
        by_target: dict[Any, list[Any]] = {target: [] for target in self.targets}
        lookup = {t.arn: t for t in self.targets}
        for number in self.held.values():
            by_target[lookup[number.target_arn]].append(number)
        return by_target, changes, described


def archive_month(bucket: str, size: int) -> float:
    """Write 30 nights of October into `bucket`; returns the seconds it took."""
    import boto3

    from localaws.archived_month import ArchivedNights
    from numberwatch.adapters.s3_archive import S3Archive

    started = time.monotonic()
    archive = S3Archive(boto3.client("s3", region_name="us-east-1"), bucket)
    nights = ArchivedNights(archive, ACCOUNT)
    month = Month(size)
    for day in range(NIGHTS):
        held, changes, described = month.night()
        nights.night(datetime.combine(date(2026, 10, 1) + timedelta(days=day), datetime.min.time(), UTC).replace(
            hour=6), held, changes, described=described)  # fmt: skip
        print(f"  night {day + 1:2d}: {sum(map(len, held.values())):,} numbers, {len(changes):,} changes", flush=True)
    return time.monotonic() - started


def measure(bucket: str, fmt: str) -> dict[str, Any]:
    """Runs in a process of its own: render_month from the bucket, timed."""
    import boto3

    from numberwatch.adapters.s3_archive import S3Archive
    from numberwatch.monthly_report import render_month

    archive = S3Archive(boto3.client("s3", region_name="us-east-1"), bucket)
    baseline = peak_rss_mb()
    started, cpu = time.monotonic(), time.process_time()
    body = render_month(archive, ACCOUNT, MONTH, fmt, required_tag_keys=REQUIRED_TAG_KEYS)  # type: ignore[arg-type]
    return {
        "format": fmt,
        "seconds": round(time.monotonic() - started, 2),
        "cpu_seconds": round(time.process_time() - cpu, 2),
        "peak_rss_mb": round(peak_rss_mb(), 1),
        "baseline_rss_mb": round(baseline, 1),
        "bytes": len(body),
    }


def peak_rss_mb() -> float:
    """This process's own peak RSS. Not getrusage's ru_maxrss: Linux carries that across fork and exec,
    so a child would report the benchmark's own estate; VmHWM belongs to the process's memory map."""
    status = Path("/proc/self/status")
    if status.exists():
        for line in status.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def markdown(result: dict[str, Any]) -> str:
    lines = [
        f"# The monthly report at {result['numbers']:,} numbers",
        "",
        f"`make bench-report`, {result['measured_at']}: {NIGHTS} nights of {MONTH} archived in the local stack's S3",
        f"({result['objects']:,} objects, {result['archived_mb']:.1f} MB,"
        f" written in {result['archive_seconds']:.0f} s),",
        "then `render_month` in a process of its own per format, reading the month back over loopback HTTP.",
        f"Load average at the start: {result['load_average']}. Goals: under {GOALS['seconds']:.0f} s and"
        f" {GOALS['peak_rss_mb']:.0f} MB.",
        "",
        "| format | seconds | CPU seconds | peak RSS (MB) | of which before rendering (MB) | size (KB) |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for row in result["formats"]:
        lines.append(
            f"| {row['format']} | {row['seconds']:.1f} | {row['cpu_seconds']:.1f} | {row['peak_rss_mb']:.0f} |"
            f" {row['baseline_rss_mb']:.0f} | {row['bytes'] / 1024:,.0f} |"
        )
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--numbers", type=int, default=100_000)
    parser.add_argument("--measure", nargs=2, metavar=("BUCKET", "FORMAT"), help=argparse.SUPPRESS)
    arguments = parser.parse_args(argv)
    if arguments.measure:
        print(json.dumps(measure(*arguments.measure)))
        return 0

    from benchmarks.estate import start_stack
    from localaws.lambda_runtime import create_archive_bucket, use_local_stack

    process, endpoint = start_stack()
    try:
        use_local_stack(endpoint)
        bucket = create_archive_bucket()
        load = os.getloadavg()
        print(f"Archiving {NIGHTS} nights of {arguments.numbers:,} numbers in the local stack's S3 ...", flush=True)
        archive_seconds = archive_month(bucket, arguments.numbers)
        import boto3

        pages = boto3.client("s3").get_paginator("list_objects_v2").paginate(Bucket=bucket)
        sizes = [item["Size"] for page in pages for item in page.get("Contents", [])]
        rows = []
        for fmt in ("html", "csv", "md"):
            completed = subprocess.run(
                [sys.executable, "-m", "benchmarks.monthly_report", "--measure", bucket, fmt],
                capture_output=True, text=True, check=True, env=dict(os.environ),
            )  # fmt: skip
            rows.append(json.loads(completed.stdout.strip().splitlines()[-1]))
            print(f"render_month {fmt}: {rows[-1]}", flush=True)
    finally:
        process.terminate()
        process.wait()
    result = {
        "numbers": arguments.numbers,
        "measured_at": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "load_average": f"{load[0]:.1f} on {os.cpu_count()} cores",
        "objects": len(sizes),
        "archived_mb": sum(sizes) / 1e6,
        "archive_seconds": archive_seconds,
        "formats": rows,
        "goals": GOALS,
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "monthly-report.json").write_text(json.dumps(result, indent=2) + "\n")
    (RESULTS / "monthly-report.md").write_text(markdown(result))
    print(markdown(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
