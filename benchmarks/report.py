"""The benchmark's report: results.md and one PNG per figure, from results.json (and million.json and
details.json).

Every table reads the same rows the plots do, so that a later comparison reads the same numbers.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

from benchmarks.archive import archive_section, monthly_cost
from benchmarks.costs import (
    NIGHTS_A_MONTH,
    PRICE,
    PRICES_DATE,
    Deployment,
    aws_config_monthly,
    fixed_monthly,
    storage_monthly,
)
from localaws.template import template

NIGHTS = ("baseline", "quiet", "1% changed")
ALERT_SUBSCRIPTION_METRIC = "AlertSubscriptionMissing"  # emitted by every run of a stack with an alert email


def _rows(report: dict[str, Any], night: str) -> list[dict[str, Any]]:
    return [r for r in report["rows"] if r["night"] == night]


def _row(report: dict[str, Any], size: int, night: str) -> dict[str, Any] | None:
    return next((r for r in report["rows"] if r["size"] == size and r["night"] == night), None)


def _sizes(report: dict[str, Any]) -> list[int]:
    return sorted({r["size"] for r in report["rows"]})


def items_per_change(ours: dict[str, Any]) -> float | None:
    """Items read per change reported, the rotation's reads aside (one number item per number it described)."""
    changes = int(ours["changes_total"])
    rotation = int(ours["connect"]["describe"]["rotation"])
    return max(0, int(ours["dynamodb"]["items_read"]) - rotation) / changes if changes else None


def describe_calls(ours: dict[str, Any]) -> int:
    """DescribePhoneNumber calls of a night, of every kind (confirm, changes, rotation)."""
    return sum(int(count) for count in ours["connect"]["describe"].values())


def rotation_nights(size: int, ours: dict[str, Any]) -> int | None:
    """How many nights old, at most, a number's tags and status are: the rotation describes this many
    numbers a night, so the whole estate in ⌈numbers ÷ that⌉ nights (if its cursor moves)."""
    rotation = ours["connect"]["describe"]["rotation"]
    return math.ceil(size / rotation) if rotation else None


def main_table(report: dict[str, Any]) -> list[str]:
    lines = [
        "| numbers | night | changes made / reported | wall s ours / paced bound / naive"
        " | CPU s ours / naive | peak RSS MB ours / naive | Connect calls: listing (minimum) + DescribePhoneNumber"
        " confirm / changes / rotation; CloudTrail | naive Connect calls | DynamoDB items read (per change)"
        " | items written | read / write units | $ per run ours / naive |",
        "|---:|---|---|---|---|---|---|---:|---|---:|---|---|",
    ]
    for row in report["rows"]:
        ours, naive = row["ours"], row.get("naive")
        connect, describe = ours["connect"], ours["connect"]["describe"]
        per_change = items_per_change(ours)
        cells = [
            f"{row['size']:,}",
            row["night"],
            f"{row['changed']:,} / {ours['changes_total']:,}",
            f"{ours['wall_seconds']:.1f} / {ours['paced_bound_seconds']:.1f} / "
            + (f"{naive['wall_seconds']:.1f}" if naive else "-"),
            f"{ours['cpu_seconds']:.2f} / " + (f"{naive['cpu_seconds']:.2f}" if naive else "-"),
            f"{ours['peak_rss_mb']:.0f} / " + (f"{naive['peak_rss_mb']:.0f}" if naive else "-"),
            f"{connect['listing']} ({connect['listing_minimum']}) + {describe['confirm']} / {describe['changes']}"
            f" / {describe['rotation']}; {ours['cloudtrail']['calls']}",
            str(naive["connect"]["total"]) if naive else "-",
            f"{ours['dynamodb']['items_read']:,}" + (f" ({per_change:.2f})" if per_change is not None else ""),
            f"{ours['dynamodb']['items_written']:,}",
            f"{ours['dynamodb']['read_units']:,.0f} / {ours['dynamodb']['write_units']:,.0f}",
            f"{ours['cost']['total']:.5f} / " + (f"{naive['cost']['total']:.5f}" if naive else "-"),
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def with_details(report: dict[str, Any], details: dict[str, Any]) -> list[str]:
    """The same nights with details asked for (details.json), beside the default's (results.json) and the
    naive script's measured alongside."""
    lines = [
        "| numbers | night | wall s with details / default / naive | DescribePhoneNumber confirm / changes /"
        " rotation | CPU s with details / default | $ per run with details / default / naive |",
        "|---:|---|---|---|---|---|",
    ]
    for row in details["rows"]:
        ours = row["ours"]
        default = (_row(report, row["size"], row["night"]) or {}).get("ours")
        naive = row.get("naive")
        describe = ours["connect"]["describe"]
        cells = [
            f"{row['size']:,}",
            row["night"],
            f"{ours['wall_seconds']:.1f} / " + (f"{default['wall_seconds']:.1f}" if default else "-")
            + " / " + (f"{naive['wall_seconds']:.1f}" if naive else "-"),
            f"{describe['confirm']} / {describe['changes']} / {describe['rotation']}",
            f"{ours['cpu_seconds']:.2f} / " + (f"{default['cpu_seconds']:.2f}" if default else "-"),
            f"{ours['cost']['total']:.5f} / " + (f"{default['cost']['total']:.5f}" if default else "-")
            + " / " + (f"{naive['cost']['total']:.5f}" if naive else "-"),
        ]  # fmt: skip
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def versus_naive(report: dict[str, Any]) -> list[str]:
    lines = [
        "| numbers | night | wall s ours / naive | DescribePhoneNumber calls (confirming releases)"
        " | $ per run ours / naive | what our extra $ buys |",
        "|---:|---|---|---:|---|---|",
    ]
    for row in report["rows"]:
        naive = row.get("naive")
        if naive is None:
            continue
        ours = row["ours"]
        extra = ours["cost"]["total"] - naive["cost"]["total"]
        parts = {k: ours["cost"][k] - naive["cost"][k] for k in ("lambda", "dynamodb_writes", "dynamodb_reads", "sns")}
        biggest = max(parts, key=lambda k: parts[k])
        why = f"+{extra:.5f}, mostly {biggest.replace('_', ' ')} (+{parts[biggest]:.5f})" if extra > 0 else "cheaper"
        cells = [
            f"{row['size']:,}",
            row["night"],
            f"{ours['wall_seconds']:.1f} / {naive['wall_seconds']:.1f}",
            str(describe_calls(ours)),
            f"{ours['cost']['total']:.5f} / {naive['cost']['total']:.5f}",
            why,
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def bill(report: dict[str, Any]) -> tuple[list[str], dict[str, Any]]:
    """The whole bill a month, per size: fixed, runs, storage; next to AWS Config's."""
    deployment = Deployment.from_template(template(), alert_email=True, organization=False)
    sizes = _sizes(report)
    names = {name for r in report["rows"] for name in r["ours"].get("custom_metrics", [])}
    # The benchmark's runs have no alert email; the deployment priced has one, whose runs emit one more.
    metrics = len(names) + (not any(f"/{ALERT_SUBSCRIPTION_METRIC}[" in name for name in names))
    fixed = fixed_monthly(deployment, metrics)
    lines = [
        f"Fixed, whatever the runs do (one account, with an alert email; template: {deployment.keys} KMS key,"
        f" {deployment.alarms} alarms, {deployment.dashboards} dashboard; runs emit {metrics} custom metrics,"
        f" {ALERT_SUBSCRIPTION_METRIC} included, none per target):"
        f" **${fixed['total']:.2f} a month** (key {fixed['kms_keys']:.2f}, metrics {fixed['custom_metrics']:.2f},"
        f" alarms {fixed['alarms']:.2f}, dashboard {fixed['dashboards']:.2f} (free among an account's first 3),"
        f" schedule and traces {fixed['schedule_and_traces']:.4f}).",
        "",
        "| numbers | month of | runs $ | table + backups + logs kept $ | evidence archive $ | total $ a month"
        " | AWS Config $ a month | baseline once: ours $ / AWS Config $ |",
        "|---:|---|---:|---:|---:|---:|---:|---|",
    ]
    figures: dict[str, Any] = {"fixed": fixed, "sizes": {}}
    for size in sizes:
        baseline, quiet, changed = (_row(report, size, n) for n in NIGHTS)
        if baseline is None or quiet is None or changed is None:
            continue
        history = _history_bytes(quiet, changed)
        for label, row, per_night in (("quiet nights", quiet, 0.0), ("1% nights", changed, history)):
            storage = storage_monthly(
                row["ours"]["table"]["bytes"], per_night, row["ours"].get("log_bytes", 0), deployment
            )
            runs = row["ours"]["cost"]["total"] * NIGHTS_A_MONTH
            s3 = row["ours"].get("s3")
            archive = monthly_cost(s3)["total"] if s3 and s3["requests"] else 0.0
            total = fixed["total"] + runs + storage["total"] + archive
            config = aws_config_monthly(row["changed"])
            figures["sizes"].setdefault(str(size), {})[label] = {
                "runs": runs, "storage": storage, "archive": archive, "total": total, "aws_config": config,
            }  # fmt: skip
            cells = [
                f"{size:,}",
                label,
                f"{runs:.4f}",
                f"{storage['total']:.4f}",
                f"{archive:.4f}",
                f"**{total:.2f}**",
                f"{config:.2f}",
                f"{baseline['ours']['cost']['total']:.4f} / {size * PRICE['aws_config_item']:.2f}",
            ]
            lines.append("| " + " | ".join(cells) + " |")
    return lines, figures


def _history_bytes(quiet: dict[str, Any], changed: dict[str, Any]) -> float:
    """What a 1% night adds to the table for good (change records, tombstones), kept for the history."""
    before, after = quiet["ours"]["table"]["bytes"], changed["ours"]["table"]["bytes"]
    return float(sum(max(0, after.get(k, 0) - before.get(k, 0)) for k in ("MSG", "NUM", "RUN")))


def rotation_table(report: dict[str, Any]) -> list[str]:
    lines = [
        "| numbers | rotation describes on a quiet night | cursor after the quiet night (slot of 65,536, per Region)"
        " | at most N nights old |",
        "|---:|---:|---|---:|",
    ]
    for size in _sizes(report):
        quiet = _row(report, size, "quiet")
        if quiet is None:
            continue
        ours = quiet["ours"]
        cursor = ours["table"].get("refresh_from", {})
        moved = any(cursor.values())
        nights = rotation_nights(size, ours) if moved else None
        cells = [
            f"{size:,}",
            str(ours["connect"]["describe"]["rotation"]),
            ", ".join(f"{r}: {c}" for r, c in sorted(cursor.items())),
            str(nights) if nights else "never: the cursor does not move",
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def imports_lines(imports: dict[str, Any]) -> list[str]:
    lines = []
    for name, label in (("tracing_off", "tracing off (tests, local stack)"),
                        ("lambda_tracing_on", "as in Lambda with active tracing")):  # fmt: skip
        profile = imports.get(name)
        if not profile:
            continue
        runs = ", ".join(f"{r:.0f}" for r in profile["runs_ms"])
        lines += [
            f"- {label}: **{profile['total_ms']:.0f} ms** (median of {runs} ms; {profile['cpu_ms']:.0f} ms of CPU)."
            " Largest: " + ", ".join(f"`{m['module']}` {m['ms']:.0f} ms" for m in profile["top"][:5]),
        ]
    floor = imports.get("floor")
    if floor:
        ours = floor["handler_ms"] - floor["dependencies_ms"]
        lines.append(
            f"- the floor, timed without `-X importtime` (median of {floor['runs']}, alternated): the layer's"
            " dependencies alone (boto3, pydantic, Powertools' Logger, Metrics and Tracer)"
            f" **{floor['dependencies_ms']:.0f} ms**, the handler {floor['handler_ms']:.0f} ms (CPU"
            f" {floor['dependencies_cpu_ms']:.0f} and {floor['handler_cpu_ms']:.0f} ms): our own code adds"
            f" {ours:.0f} ms. The fastest runs: {floor['dependencies_fastest_ms']:.0f} and"
            f" {floor['handler_fastest_ms']:.0f} ms."
        )
    return lines


def million_lines(million: dict[str, Any]) -> list[str]:
    lines = [
        "| night | status | wall s / paced bound | CPU s | peak RSS MB | Connect calls: listing (minimum)"
        " + DescribePhoneNumber | targets not reached | changes made / reported | items read | items written |",
        "|---|---|---|---:|---:|---|---:|---|---:|---:|",
    ]
    for row in million["rows"]:
        ours = row["ours"]
        connect = ours["connect"]
        cells = [
            row["night"],
            ours["summary"]["status"],
            f"{ours['wall_seconds']:.0f} / {ours['paced_bound_seconds']:.0f}",
            f"{ours['cpu_seconds']:.1f}",
            f"{ours['peak_rss_mb']:.0f}",
            f"{connect['listing']} ({connect['listing_minimum']}) + {connect['calls'].get('DescribePhoneNumber', 0)}",
            str(ours["summary"].get("targets_not_reached", 0)),
            f"{row['changed']:,} / {ours['changes_total']:,}",
            f"{ours['dynamodb']['items_read']:,}",
            f"{ours['dynamodb']['items_written']:,}",
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def details_lines(details: dict[str, Any]) -> list[str]:
    measured = details["measured_on"]
    pace = measured["pace"]
    return [
        "",
        f"The same nights with details asked for (`DetailCallsPerRun` {pace.get('detail_budget', 0):g}: the tags"
        " and claim status of every number that changed, then of the others in rotation, within the budget of"
        f" {pace['describe_budget']:g}; `make bench-details`), measured {measured['date']} at our pace of"
        f" {pace['rate']:g}/s with a burst of {pace['burst']:g}, the naive script alongside:",
    ]


def reference_loop_lines(rows: list[dict[str, Any]]) -> list[str]:
    """How fast the machine ran Python during the run (runs before the reference loop have no figure)."""
    times = [r["ours"]["reference_loop_ms"] for r in rows if "reference_loop_ms" in r["ours"]]
    if not times:
        return []
    return [
        f"Before each night the handler's process timed a fixed pure-Python loop (`reference_loop_ms`):"
        f" {min(times):.0f} to {max(times):.0f} ms in this run. Compare the CPU seconds of two runs after"
        " scaling them by it."
    ]


def markdown(
    report: dict[str, Any], million: dict[str, Any] | None, details: dict[str, Any] | None = None
) -> tuple[str, dict[str, Any]]:
    measured = report["measured_on"]
    pace = measured["pace"]
    bill_lines, bill_figures = bill(report)
    lines = [
        "# Benchmark results",
        "",
        f"Measured {measured['date']} on {measured['machine']}, Python {measured['python']}; the handler in its own",
        "process, the local stack (strongly consistent) in another; Connect's default quota"
        f" ({measured['quota']['rate']}/s, burst {measured['quota']['burst']}) enforced; our pace"
        f" {pace['rate']:g}/s per Region and API with a burst of {pace['burst']:g}; DescribePhoneNumber budget"
        f" {pace['describe_budget']:g} a night, {pace.get('detail_budget', 0):g} of it for details;"
        f" Lambda memory {measured['memory_mb']} MB;"
        f" unit prices of {PRICES_DATE}.",
        "CPU is the handler process's user + system time for the invocation, less the benchmark's own counting;"
        " peak RSS includes the cold start. Calls, items and RSS repeat from run to run; wall and CPU times vary"
        " with the load of this shared machine.",
        *reference_loop_lines(report["rows"]),
        "",
        *main_table(report),
        "",
        "## Against the naive script",
        "",
        *versus_naive(report),
        *([*details_lines(details), "", *with_details(report, details)] if details else []),
        "",
        "## The whole bill",
        "",
        *bill_lines,
        *archive_section(report["rows"]),
        "",
        *(
            ["## The rotation of descriptions (with details asked for)", "", *rotation_table(details), ""]
            if details
            else []
        ),
        "## Cold start (importing the handler, only the layer's dependencies on the path)",
        "",
        *imports_lines(report.get("imports", {})),
    ]
    if million:
        lines += ["", "## A million numbers (10 instances of 100,000, one account, 2 Regions)", "",
                  *million_lines(million)]  # fmt: skip
    return "\n".join(lines) + "\n", bill_figures


def plot(report: dict[str, Any], results: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figures: dict[str, tuple[str, Callable[[dict[str, Any]], float | None]]] = {
        "wall_seconds": ("wall time under the quota (s)", lambda r: r["wall_seconds"]),
        "cpu_seconds": ("handler CPU (s)", lambda r: r["cpu_seconds"]),
        "peak_rss_mb": ("peak RSS (MB)", lambda r: r["peak_rss_mb"]),
        "connect_calls": ("Connect calls", lambda r: r["connect"]["total"]),
        "items_read_per_change": ("DynamoDB items read per change", items_per_change),
        "cost_per_run": ("estimated $ per run", lambda r: r["cost"]["total"]),
    }  # fmt: skip
    for name, (label, value) in figures.items():
        figure, axis = plt.subplots(figsize=(6, 4))
        for night in NIGHTS:
            rows = _rows(report, night)
            points = [(r["size"], value(r["ours"])) for r in rows]
            points = [(x, y) for x, y in points if y is not None]
            if points:
                axis.plot(*zip(*points, strict=True), marker="o", label=f"ours, {night}")
            if name == "wall_seconds":
                axis.plot([r["size"] for r in rows], [r["ours"]["paced_bound_seconds"] for r in rows], linestyle=":",
                          label=f"paced bound, {night}")  # fmt: skip
            naive = [(r["size"], value(r["naive"])) for r in rows if "naive" in r and name in NAIVE_FIGURES]
            if naive:
                axis.plot(*zip(*naive, strict=True), marker="x", linestyle="--", label=f"naive, {night}")
        axis.set_xscale("log")
        axis.set_xlabel("numbers in the estate")
        axis.set_ylabel(label)
        axis.legend(fontsize=7)
        axis.grid(True, alpha=0.3)
        figure.tight_layout()
        figure.savefig(results / f"{name}.png", dpi=100)
        plt.close(figure)


NAIVE_FIGURES = {"wall_seconds", "cpu_seconds", "peak_rss_mb", "connect_calls", "cost_per_run"}


def write_report(results: Path) -> str:
    report = json.loads((results / "results.json").read_text())
    million_path = results / "million.json"
    million = json.loads(million_path.read_text()) if million_path.exists() else None
    details_path = results / "details.json"
    details = json.loads(details_path.read_text()) if details_path.exists() else None
    text, bill_figures = markdown(report, million, details)
    report["bill"] = bill_figures
    (results / "results.json").write_text(json.dumps(report, indent=2))
    (results / "results.md").write_text(text)
    plot(report, results)
    return text
