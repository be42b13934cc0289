"""What one benchmark night cost in AWS requests, counted as the calls happen and kept as counts only.

The handler runs in this process, and its peak RSS and CPU are what the benchmark reports, so the
counter keeps no request nor response (release 0.2's benchmark kept every call's parameters, which
inflated the 100,000-number baseline's peak by hundreds of MB), and the CPU time spent in its own
hooks is measured per thread and subtracted from the night's CPU.

DynamoDB capacity follows DynamoDB's own rules: an item's size is the sum of its attribute names
and values (strings in UTF-8, numbers about one byte per two digits, binaries as raw bytes); a
strongly consistent read costs 1 read unit per 4 KB (an eventually consistent one, index queries
included, half), a missing item read by key still costs the minimum; a write costs 1 write unit per
KB for the table and 1 per KB for every index that holds the item (or held it: a put that drops an
index key, e.g. a message marked sent leaving the outbox index, deletes that index entry); inside a
transaction the table's units are doubled, and a condition check costs 2 read units.
"""

from __future__ import annotations

import math
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

INDEX_KEYS = {"GSI1PK": "ByTargetBucket", "GSI2PK": "Unsent", "GSI3PK": "NumberHistory"}


def value_size(value: dict[str, Any]) -> int:
    """Bytes of one attribute value as DynamoDB counts them (approximations where DynamoDB's are)."""
    kind, content = next(iter(value.items()))
    if kind == "S":
        return len(content.encode())
    if kind == "N":
        digits = content.lstrip("-").replace(".", "").strip("0") or "0"
        return math.ceil(len(digits) / 2) + 1
    if kind == "B":
        return len(content)
    if kind in ("BOOL", "NULL"):
        return 1
    if kind == "M":
        return 3 + sum(len(k.encode()) + value_size(v) + 1 for k, v in content.items())
    if kind == "L":
        return 3 + sum(value_size(v) + 1 for v in content)
    if kind == "SS":
        return sum(len(s.encode()) for s in content)
    if kind == "NS":
        return sum(value_size({"N": n}) for n in content)
    if kind == "BS":
        return sum(len(b) for b in content)
    raise ValueError(f"unknown DynamoDB type {kind}")


def item_size(item: dict[str, Any]) -> int:
    return sum(len(name.encode()) + value_size(value) for name, value in item.items())


def read_units(size: int, consistent: bool) -> float:
    return max(1, math.ceil(size / 4096)) * (1.0 if consistent else 0.5)


@dataclass
class DynamoDBCounts:
    calls: Counter[str] = field(default_factory=Counter)
    items_read: Counter[str] = field(default_factory=Counter)
    items_written: Counter[str] = field(default_factory=Counter)
    bytes_read: int = 0
    bytes_written: int = 0
    read_units: float = 0.0
    write_units: float = 0.0
    # Index entries each key holds, for the items that have any (messages): what a later put drops.
    indexed: dict[tuple[str, str], frozenset[str]] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "calls": dict(self.calls),
            "items_read": sum(self.items_read.values()),
            "items_read_by_operation": dict(self.items_read),
            "items_written": sum(self.items_written.values()),
            "items_written_by_operation": dict(self.items_written),
            "bytes_read": self.bytes_read,
            "bytes_written": self.bytes_written,
            "read_units": self.read_units,
            "write_units": self.write_units,
        }

    # --------------------------------------------------------------- writes
    def _put(self, item: dict[str, Any], transactional: bool) -> None:
        size = item_size(item)
        kilobytes = max(1, math.ceil(size / 1024))
        indexes = frozenset(name for key, name in INDEX_KEYS.items() if key in item)
        key = (item["PK"]["S"], item.get("SK", {}).get("S", "")) if "PK" in item else None
        dropped = self.indexed.get(key, frozenset()) - indexes if key else frozenset()
        if key and indexes:
            self.indexed[key] = indexes
        elif key in self.indexed:
            del self.indexed[key]
        self.bytes_written += size
        self.write_units += kilobytes * (2 if transactional else 1) + kilobytes * len(indexes) + len(dropped)

    def _delete(self, key: dict[str, Any], transactional: bool) -> None:
        known = (key["PK"]["S"], key.get("SK", {}).get("S", "")) if "PK" in key else None
        dropped = self.indexed.pop(known, frozenset()) if known else frozenset()
        self.write_units += (2 if transactional else 1) + len(dropped)

    def request(self, operation: str, params: dict[str, Any]) -> None:
        self.calls[operation] += 1
        if operation == "TransactWriteItems":
            for entry in params["TransactItems"]:
                if "ConditionCheck" in entry:
                    self.read_units += 2
                    continue
                self.items_written[operation] += 1
                if "Put" in entry:
                    self._put(entry["Put"]["Item"], transactional=True)
                elif "Delete" in entry:
                    self._delete(entry["Delete"]["Key"], transactional=True)
                else:
                    self.write_units += 2
        elif operation == "BatchWriteItem":
            for requests in params["RequestItems"].values():
                for entry in requests:
                    self.items_written[operation] += 1
                    if "PutRequest" in entry:
                        self._put(entry["PutRequest"]["Item"], transactional=False)
                    else:
                        self._delete(entry["DeleteRequest"]["Key"], transactional=False)
        elif operation == "PutItem":
            self.items_written[operation] += 1
            self._put(params["Item"], transactional=False)
        elif operation in ("DeleteItem", "UpdateItem"):
            self.items_written[operation] += 1
            self._delete(params["Key"], transactional=False)

    # ---------------------------------------------------------------- reads
    def response(self, operation: str, params: dict[str, Any], parsed: dict[str, Any]) -> None:
        if operation == "GetItem":
            item = parsed.get("Item")
            size = item_size(item) if item else 0
            self.items_read[operation] += 1 if item else 0
            self.bytes_read += size
            self.read_units += read_units(size, bool(params.get("ConsistentRead")))
        elif operation == "Query":
            items = parsed.get("Items", [])
            size = sum(item_size(i) for i in items)
            self.items_read[operation] += len(items)
            self.bytes_read += size
            consistent = bool(params.get("ConsistentRead")) and "IndexName" not in params
            self.read_units += read_units(size, consistent)
        elif operation == "BatchGetItem":
            for table, request in params["RequestItems"].items():
                items = parsed.get("Responses", {}).get(table, [])
                unprocessed = len(parsed.get("UnprocessedKeys", {}).get(table, {}).get("Keys", []))
                missing = len(request["Keys"]) - unprocessed - len(items)
                consistent = bool(request.get("ConsistentRead"))
                self.items_read[operation] += len(items)
                for item in items:
                    size = item_size(item)
                    self.bytes_read += size
                    self.read_units += read_units(size, consistent)
                self.read_units += missing * read_units(0, consistent)


@dataclass
class CallCounter:
    """Every SDK call of this process, counted through botocore's hooks on boto3's default session."""

    dynamodb: DynamoDBCounts = field(default_factory=DynamoDBCounts)
    calls: dict[str, Counter[str]] = field(default_factory=dict)  # service -> operation -> calls
    sns_messages: int = 0
    described: Counter[str] = field(default_factory=Counter)  # DescribePhoneNumber: phone-number id -> calls
    s3_put_sizes: list[int] = field(default_factory=list)
    hook_cpu_seconds: float = 0.0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def install(self) -> None:
        import boto3

        boto3.setup_default_session()
        session = boto3.DEFAULT_SESSION
        assert session is not None
        session.events.register("provide-client-params", self._request)
        session.events.register("after-call", self._response)

    def clear(self) -> None:
        """Start counting afresh (the hooks stay installed)."""
        with self.lock:
            self.dynamodb = DynamoDBCounts()
            self.calls, self.sns_messages, self.described = {}, 0, Counter()
            self.s3_put_sizes, self.hook_cpu_seconds = [], 0.0

    def _request(self, params: dict[str, Any], model: Any, context: dict[str, Any], **_: Any) -> None:
        started = time.thread_time()
        service, operation = model.service_model.service_name, model.name
        context["benchmark_params"] = params
        with self.lock:
            self.calls.setdefault(service, Counter())[operation] += 1
            if service == "dynamodb":
                self.dynamodb.request(operation, params)
            elif service == "sns":
                self.sns_messages += len(params.get("PublishBatchRequestEntries", ())) or 1
            elif service == "connect" and operation == "DescribePhoneNumber":
                self.described[str(params["PhoneNumberId"]).rsplit("/", 1)[-1]] += 1
            elif service == "s3" and operation == "PutObject":
                body = params.get("Body", b"")
                self.s3_put_sizes.append(len(body) if isinstance(body, bytes | str) else 0)
            self.hook_cpu_seconds += time.thread_time() - started

    def _response(self, parsed: dict[str, Any], model: Any, context: dict[str, Any], **_: Any) -> None:
        started = time.thread_time()
        params = context.pop("benchmark_params", {})
        with self.lock:
            if model.service_model.service_name == "dynamodb":
                self.dynamodb.response(model.name, params, parsed)
            self.hook_cpu_seconds += time.thread_time() - started

    def figures(self) -> dict[str, Any]:
        sns = self.calls.get("sns", Counter())
        return {
            "dynamodb": self.dynamodb.as_dict(),
            "sns": {"calls": sum(sns.values()), "messages": self.sns_messages},
            "sdk_calls": {service: dict(operations) for service, operations in self.calls.items()},
            "described": dict(self.described),
            "s3": {
                "calls": dict(self.calls.get("s3", Counter())),
                "put_sizes": self.s3_put_sizes,
                "bytes_written": sum(self.s3_put_sizes),
                "requests": sum(self.calls.get("s3", Counter()).values()),
            },
            "counter_cpu_seconds": self.hook_cpu_seconds,
        }
