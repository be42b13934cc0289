"""Quotas, injected faults, listing changes and the request log of the emulated Connect API.

Quotas are token buckets per account, Region and operation (Connect's defaults: 2 requests per
second, burst 5; CloudTrail's LookupEvents shares the scheme). Faults are rules matched per request.
Listing changes are rules that change the estate just before the Nth ListPhoneNumbersV2 request
naming a target (AWS listings are not snapshots). The log counts every request per operation, with
throttled and faulted requests counted apart from the ones that were served.
"""

from __future__ import annotations

import random
import threading
import time
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

DEFAULT_RATE = 2.0
DEFAULT_BURST = 5.0


@dataclass
class Bucket:
    rate: float
    burst: float
    tokens: float
    updated: float

    def take(self, now: float) -> bool:
        self.tokens = min(self.burst, self.tokens + (now - self.updated) * self.rate)
        self.updated = now
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return True
        return False


@dataclass
class QuotaConfig:
    enabled: bool = True
    rate: float = DEFAULT_RATE
    burst: float = DEFAULT_BURST
    operations: dict[str, dict[str, float]] = field(default_factory=dict)
    unlimited_access_keys: list[str] = field(default_factory=list)


class Quotas:
    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self.lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        self.config = QuotaConfig()
        self.buckets: dict[tuple[str, str, str], Bucket] = {}

    def configure(self, changes: dict[str, Any]) -> QuotaConfig:
        with self.lock:
            merged = {**asdict(self.config), **changes}
            self.config = QuotaConfig(**merged)
            self.buckets.clear()
            return self.config

    def admit(self, account: str, region: str, operation: str, access_key: str) -> bool:
        config = self.config
        if not config.enabled or access_key in config.unlimited_access_keys:
            return True
        limits = config.operations.get(operation, {})
        rate = float(limits.get("rate", config.rate))
        burst = float(limits.get("burst", config.burst))
        with self.lock:
            key = (account, region, operation)
            bucket = self.buckets.get(key)
            now = self.clock()
            if bucket is None:
                bucket = self.buckets[key] = Bucket(rate, burst, burst, now)
            return bucket.take(now)


def names(params: dict[str, Any], target: str) -> bool:
    """Whether a request names `target` (an instance or TDG, by ID or ARN) in any of its parameters."""
    named = [v for v in params.values() if isinstance(v, str)]
    return any(target == v or v.endswith("/" + target) or target.endswith("/" + v) for v in named)


@dataclass
class Fault:
    """Answer `error` (or only add latency) to matching requests.

    A rule matches an operation (None: any), optionally a Region, and optionally a target named
    anywhere in the request (an instance ID, a TDG or instance ARN). It fires on every match, on the Nth
    match only (`on_call`), or at random with probability `rate`; `times` bounds how often.
    """

    error: str | None = None
    message: str | None = None
    operation: str | None = None
    region: str | None = None
    target: str | None = None
    on_call: int | None = None
    rate: float | None = None
    times: int | None = None
    latency_ms: int = 0
    seen: int = 0
    fired: int = 0

    def matches(self, operation: str, region: str, params: dict[str, Any]) -> bool:
        if self.operation and self.operation != operation:
            return False
        if self.region and self.region != region:
            return False
        return self.target is None or names(params, self.target)

    def fires(self) -> bool:
        self.seen += 1
        if self.times is not None and self.fired >= self.times:
            return False
        if self.on_call is not None:
            hit = self.seen == self.on_call
        elif self.rate is not None:
            hit = random.random() < self.rate
        else:
            hit = True
        if hit:
            self.fired += 1
        return hit


class Faults:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.rules: list[Fault] = []

    def reset(self) -> None:
        with self.lock:
            self.rules = []

    def add(self, rule: Fault) -> None:
        with self.lock:
            self.rules.append(rule)

    def check(
        self, operation: str, region: str, params: dict[str, Any], modelled_errors: set[str]
    ) -> tuple[float, Fault | None]:
        """Latency to add and the fault to answer, if any, for one request."""
        latency = 0.0
        with self.lock:
            for rule in self.rules:
                if rule.error and rule.error not in modelled_errors | {"ThrottlingException"}:
                    continue
                if rule.matches(operation, region, params) and rule.fires():
                    latency += rule.latency_ms / 1000
                    if rule.error:
                        return latency, rule
        return latency, None


CHANGE_FIELDS = {
    "claim": ("phone_number", "target_arn"),
    "release": ("phone_number_id",),
    "move": ("phone_number_id", "target_arn"),
    "describe": ("phone_number_id",),
    "tag": ("phone_number_id", "tags"),
}


@dataclass(kw_only=True)
class EstateChange:
    """`claim` phone_number (E.164) to target_arn, `release` phone_number_id, `move` phone_number_id to
    target_arn, `describe` phone_number_id (set its description) or `tag` phone_number_id with tags."""

    action: str
    phone_number_id: str | None = None
    target_arn: str | None = None
    phone_number: str | None = None
    description: str | None = None
    tags: dict[str, str] | None = None

    def __post_init__(self) -> None:
        if self.action not in CHANGE_FIELDS:
            raise ValueError(f"action must be one of {sorted(CHANGE_FIELDS)}, not {self.action!r}")
        missing = [name for name in CHANGE_FIELDS[self.action] if not getattr(self, name)]
        if missing:
            raise ValueError(f"a {self.action} needs {', '.join(missing)}")


@dataclass(kw_only=True)
class ListingChange(EstateChange):
    """Just before the `on_call`-th ListPhoneNumbersV2 request naming `listing_target` (None: any
    listing) is served, apply the change in that request's account, recorded in CloudTrail as an
    ordinary API call unless `recorded` is false."""

    on_call: int
    listing_target: str | None = None
    recorded: bool = True
    seen: int = 0
    outcome: str | None = None  # None until applied; then "applied" or why it could not be

    def __post_init__(self) -> None:
        super().__post_init__()
        if isinstance(self.on_call, bool) or not isinstance(self.on_call, int) or self.on_call < 1:
            raise ValueError(f"on_call must be a whole number from 1, not {self.on_call!r}")


class ListingChanges:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.rules: list[ListingChange] = []

    def reset(self) -> None:
        with self.lock:
            self.rules = []

    def add(self, rule: ListingChange) -> None:
        with self.lock:
            self.rules.append(rule)

    def due(self, params: dict[str, Any]) -> list[ListingChange]:
        """The changes to apply before serving this listing request (each fires once)."""
        with self.lock:
            fired = []
            for rule in self.rules:
                if rule.outcome is not None or (rule.listing_target and not names(params, rule.listing_target)):
                    continue
                rule.seen += 1
                if rule.seen == rule.on_call:
                    fired.append(rule)
            return fired


@dataclass
class LoggedRequest:
    at: float
    operation: str
    account: str
    region: str
    access_key: str
    status: int
    outcome: str  # ok | throttled | faulted | error


class RequestLog:
    def __init__(self, keep: int = 200_000) -> None:
        self.lock = threading.Lock()
        self.entries: deque[LoggedRequest] = deque(maxlen=keep)
        self.counts: dict[str, Counter[str]] = {}

    def reset(self) -> None:
        with self.lock:
            self.entries.clear()
            self.counts = {}

    def record(self, entry: LoggedRequest) -> None:
        with self.lock:
            self.entries.append(entry)
            counter = self.counts.setdefault(entry.operation, Counter())
            counter["calls"] += 1
            counter[entry.outcome] += 1

    def summary(self, with_entries: bool) -> dict[str, Any]:
        with self.lock:
            result: dict[str, Any] = {
                "operations": {
                    op: {k: c.get(k, 0) for k in ("calls", "ok", "throttled", "faulted", "error")}
                    for op, c in sorted(self.counts.items())
                }
            }
            if with_entries:
                result["entries"] = [asdict(e) for e in self.entries]
            return result
