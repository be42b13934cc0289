"""One night of the real handler, in a process of its own (the local stack runs in another).

Reads the function's environment from a JSON file, imports the handler as a cold start would,
invokes it once with the scheduled event, and prints one JSON line: the run summary, wall and CPU
time, peak RSS, the bytes it logged, and every AWS call counted as it happens (`benchmarks.calls`:
counts only, nothing kept, its own CPU subtracted).

    python -m benchmarks.handler_process ENV_JSON
"""

from __future__ import annotations

import importlib
import io
import json
import os
import resource
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from benchmarks.calls import CallCounter
from localaws.lambda_runtime import LambdaContext


class _CountingStream(io.TextIOBase):
    """Stands for stdout while the night runs: counts what the function logs (CloudWatch Logs bills
    its bytes) and the custom metrics its embedded-metric lines name (each distinct name and
    dimension set is one billed metric), keeps nothing else."""

    def __init__(self) -> None:
        self.bytes = 0
        self.lines = 0
        self.metrics: set[str] = set()

    def write(self, text: str) -> int:
        self.bytes += len(text.encode())
        self.lines += text.count("\n")
        if '"_aws"' in text:
            document = json.loads(text)
            for directive in document["_aws"]["CloudWatchMetrics"]:
                for dimensions in directive["Dimensions"] or [[]]:
                    for metric in directive["Metrics"]:
                        named = ",".join(f"{d}={document.get(d)}" for d in dimensions)
                        self.metrics.add(f"{directive['Namespace']}/{metric['Name']}[{named}]")
        return len(text)


def reference_loop_ms() -> float:
    """The CPU milliseconds of a fixed piece of pure Python, the fastest of three: how fast this shared
    machine runs Python around a night, so the CPU figures of two runs can be compared."""
    fastest = float("inf")
    for _ in range(3):
        started = time.process_time()
        counts: dict[str, int] = {}
        for i in range(300_000):
            key = f"+1555{i % 4096:07d}"
            counts[key] = counts.get(key, 0) + len(key)
        fastest = min(fastest, (time.process_time() - started) * 1000)
    return fastest


def measured(
    env_path: str,
    night: Callable[[dict[str, str]], dict[str, Any]],
    prepare: Callable[[dict[str, str]], None] = lambda env: None,
) -> int:
    """Run `night` with the environment from `env_path`, counting every AWS call, and print one
    BENCH line: what it returned, wall and CPU time, peak RSS, the calls and the bytes logged, and the
    reference loop's time just before it.
    `prepare` (the cold start's import) runs first, unmeasured, with stdout already counted (a
    logger takes its stream when it is made)."""
    env = json.loads(Path(env_path).read_text())
    os.environ.update(env)  # before the import: the handler reads its settings at cold start
    counter = CallCounter()
    counter.install()
    real_stdout, logged = sys.stdout, _CountingStream()
    sys.stdout = logged
    prepare(env)
    reference_ms = reference_loop_ms()
    before = resource.getrusage(resource.RUSAGE_SELF)
    started = time.perf_counter()
    try:
        result = night(env)
    finally:
        wall = time.perf_counter() - started
        after = resource.getrusage(resource.RUSAGE_SELF)
        sys.stdout = real_stdout
    figures = counter.figures()
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    result.update(
        wall_seconds=wall,
        cpu_seconds=cpu - figures["counter_cpu_seconds"],
        peak_rss_mb=after.ru_maxrss / 1024,
        reference_loop_ms=reference_ms,
        log_bytes=logged.bytes,
        log_lines=logged.lines,
        custom_metrics=sorted(logged.metrics),
        **figures,
    )
    print("BENCH " + json.dumps(result))
    return 0


class _Handler:
    """The handler, imported as a cold start would (outside the measured invocation)."""

    def __init__(self) -> None:
        self.import_seconds = 0.0
        self.module: Any = None

    def load(self, env: dict[str, str]) -> None:
        sys.path[:0] = [
            os.path.join(env["NUMBERWATCH_ROOT"], p) for p in ("layers/numberwatch", "functions/scan_numbers")
        ]
        started = time.perf_counter()
        self.module = importlib.import_module("app")
        self.import_seconds = time.perf_counter() - started

    def night(self, env: dict[str, str]) -> dict[str, Any]:
        summary = self.module.lambda_handler({"source": "schedule"}, LambdaContext())
        return {"summary": summary, "import_seconds": self.import_seconds}


def main(env_path: str) -> int:
    handler = _Handler()
    return measured(env_path, handler.night, prepare=handler.load)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
