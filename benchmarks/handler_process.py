"""One night of the real handler, in a process of its own (the local stack runs in another).

Reads the function's environment from a JSON file, imports the handler as a cold start would,
invokes it once with the scheduled event, and prints one JSON line: the run summary, wall and CPU
time, peak RSS, and every DynamoDB and SNS call counted through botocore's event hooks (here, not
in product code).

    python -m benchmarks.handler_process ENV_JSON
"""

from __future__ import annotations

import base64
import importlib
import json
import os
import resource
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from benchmarks.archive import s3_stats
from localaws.aws_calls import AwsCallLog
from localaws.lambda_runtime import LambdaContext

INDEX_KEYS = ("GSI1PK", "GSI2PK", "GSI3PK")


def wire_size(item: Any) -> int:
    """Bytes of an item as DynamoDB's JSON wire carries it (binary attributes in base64)."""
    return len(json.dumps(item, default=lambda value: base64.b64encode(value).decode()))


def _write_units(request: dict[str, Any], transactional: bool) -> int:
    """On-demand write units of one written item: 1 per KB, once for the table and once per index
    holding it, doubled inside a transaction (a delete or a put that drops an index entry counts too)."""
    item = request.get("Put", {}).get("Item") or request.get("PutRequest", {}).get("Item") or request.get("Item")
    if item is None:
        return 2 if transactional else 1
    kilobytes = max(1, -(-wire_size(item) // 1024))
    indexes = sum(1 for key in INDEX_KEYS if key in item)
    return kilobytes * (1 + indexes) * (2 if transactional else 1)


def dynamodb_stats(log: AwsCallLog) -> dict[str, Any]:
    calls: dict[str, int] = {}
    read_items: dict[str, int] = {}
    written_items: dict[str, int] = {}
    written_bytes = 0
    read_bytes = 0
    write_units = 0
    for call in log.of("dynamodb"):
        op = call.operation
        calls[op] = calls.get(op, 0) + 1
        if op == "Query":
            items = call.response.get("Items", [])
        elif op == "BatchGetItem":
            items = [i for v in call.response.get("Responses", {}).values() for i in v]
        elif op == "GetItem":
            items = [call.response["Item"]] if call.response.get("Item") else []
        else:
            items = []
        read_items[op] = read_items.get(op, 0) + len(items)
        read_bytes += sum(wire_size(i) for i in items)
        if op == "TransactWriteItems":
            written = [i for i in call.params["TransactItems"] if "ConditionCheck" not in i]
        elif op == "BatchWriteItem":
            written = [r for v in call.params["RequestItems"].values() for r in v]
        elif op in ("PutItem", "DeleteItem", "UpdateItem"):
            written = [call.params]
        else:
            written = []
        written_items[op] = written_items.get(op, 0) + len(written)
        written_bytes += sum(wire_size(w) for w in written)
        write_units += sum(_write_units(w, transactional=op == "TransactWriteItems") for w in written)
    return {
        "calls": calls,
        "items_read": {k: v for k, v in read_items.items() if v},
        "items_written": {k: v for k, v in written_items.items() if v},
        "bytes_read": read_bytes,
        "bytes_written": written_bytes,
        "write_units": write_units,
    }


def sns_stats(log: AwsCallLog) -> dict[str, Any]:
    calls = log.of("sns")
    messages = sum(len(c.params.get("PublishBatchRequestEntries", [])) or 1 for c in calls)
    return {"calls": len(calls), "messages": messages}


def measured(env_path: str, night: Callable[[dict[str, str]], dict[str, Any]]) -> int:
    """Run `night` with the environment from `env_path`, counting every AWS call, and print one
    BENCH line: what it returned, wall and CPU time, peak RSS, DynamoDB and SNS figures."""
    env = json.loads(Path(env_path).read_text())
    os.environ.update(env)
    log = AwsCallLog()
    log.install()
    before = resource.getrusage(resource.RUSAGE_SELF)
    started = time.perf_counter()
    result = night(env)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_SELF)
    result.update(
        wall_seconds=wall,
        cpu_seconds=(after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime),
        peak_rss_mb=after.ru_maxrss / 1024,
        dynamodb=dynamodb_stats(log),
        sns=sns_stats(log),
        s3=s3_stats(log),
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
    env = json.loads(Path(env_path).read_text())
    os.environ.update(env)  # before the import: the handler reads its settings at cold start
    handler = _Handler()
    handler.load(env)
    return measured(env_path, handler.night)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
