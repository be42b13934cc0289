"""DynamoDB's weaker read guarantees, which moto does not have: a stale mode for the local stack.

Real DynamoDB answers a global secondary index, and a base-table read without
`ConsistentRead=True`, from replicas that may miss the latest writes. moto answers everything
from the current state. Here each table read in a lagged way has a shadow copy per kind of lag
(`index`, `base`) plus the writes it has not seen yet, in order. A write becomes visible after
`lag.seconds`, or after `lag.writes` further writes to the same table, whichever comes first; as
both only grow with a write's age, the visible writes are always a prefix of the log, so a lagged
view is simply the table as it was after its first k writes: each item's old version, or nothing.

The decision: no query engine of our own. A lagged read is answered by moto's own request handler
against the shadow table (`DynamoHandler.dynamodb_backend` is pointed at a view of the shadows), so
key conditions, filters, projections and pagination behave exactly as for a current read.
Which items a write touched comes from the write hooks of `dynamodb_index`, so every write path
counts: PutItem, UpdateItem, DeleteItem, BatchWriteItem, TransactWriteItems, PartiQL. Each item a
successful request puts, updates or deletes is one write.
"""

from __future__ import annotations

import copy
import threading
import time
import weakref
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from typing import Any

from moto.dynamodb.models import DynamoDBBackend, dynamodb_backends
from moto.dynamodb.models.table import Table
from moto.dynamodb.responses import DynamoHandler

from . import dynamodb_index
from .dynamodb_index import PrimaryKey

INDEX, BASE = "index", "base"
_SHADOW_ATTRIBUTE = "_localaws_shadow"
_VIEW_ATTRIBUTE = "_localaws_view"
_READS = frozenset({"GetItem", "BatchGetItem", "Query", "Scan"})


@dataclass(frozen=True)
class Lag:
    """How far a lagged view trails the table; both None: it does not."""

    writes: int | None = None
    seconds: float | None = None

    def __post_init__(self) -> None:
        if self.writes is not None and (isinstance(self.writes, bool) or int(self.writes) != self.writes):
            raise ValueError(f"a lag in writes must be a whole number, not {self.writes!r}")
        if (self.writes is not None and self.writes < 0) or (self.seconds is not None and self.seconds < 0):
            raise ValueError("a lag cannot be negative")

    @property
    def on(self) -> bool:
        return self.writes is not None or self.seconds is not None

    def shows(self, write: Write, writes_so_far: int, now: float) -> bool:
        return (self.writes is not None and writes_so_far - write.sequence >= self.writes) or (
            self.seconds is not None and now - write.at >= self.seconds
        )


@dataclass(frozen=True)
class Write:
    sequence: int  # the table's write count once this write was made
    at: float
    key: PrimaryKey
    attributes: dict[str, Any] | None  # the item after the write; None: deleted


@dataclass
class LaggedView:
    """The table as a lagged reader sees it: a shadow copy, and the writes not applied to it yet."""

    shadow: Table
    unseen: deque[Write] = field(default_factory=deque)

    def catch_up(self, lag: Lag | None, writes_so_far: int, now: float) -> None:
        """Apply every write `lag` lets through (all of them when `lag` is None)."""
        while self.unseen and (lag is None or lag.shows(self.unseen[0], writes_so_far, now)):
            write = self.unseen.popleft()
            if write.attributes is None:
                self.shadow.delete_item(*write.key)
            else:
                self.shadow.put_item(copy.deepcopy(write.attributes))


@dataclass
class TableLog:
    writes: int = 0
    views: dict[str, LaggedView] = field(default_factory=dict)


def _shadow_of(table: Table) -> Table:
    shadow = copy.copy(table)
    shadow.items = copy.deepcopy(table.items)
    shadow.stream_shard = None  # a lagged view publishes no stream records
    dynamodb_index.forget_index(shadow)
    setattr(shadow, _SHADOW_ATTRIBUTE, True)
    return shadow


class _View(DynamoDBBackend):
    """What moto's handler reads through during one lagged request: each table it names, as `choose` picks it."""

    def __init__(self, backend: DynamoDBBackend, choose: Callable[[str, Table], Table]) -> None:
        # Deliberately not calling DynamoDBBackend.__init__: this is a view on `backend`, not a backend.
        self.backend = backend
        self.choose = choose

    def get_table(self, table_name: str) -> Table:
        return self.choose(table_name, self.backend.get_table(table_name))


@dataclass
class _Request:
    touched: dict[tuple[int, PrimaryKey], tuple[Table, PrimaryKey]] = field(default_factory=dict)


class EventualConsistency:
    """The local stack's consistency mode: lags per kind of read, the tables' logs, and the hooks into moto."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self.lock = threading.RLock()
        self.lags: dict[str, Lag] = {INDEX: Lag(), BASE: Lag()}
        self.logs: weakref.WeakKeyDictionary[Table, TableLog] = weakref.WeakKeyDictionary()
        self._request: _Request | None = None

    # ------------------------------------------------------------- control
    def configure(
        self,
        index_lag_writes: int | None = None,
        index_lag_seconds: float | None = None,
        base_lag_writes: int | None = None,
        base_lag_seconds: float | None = None,
    ) -> dict[str, Any]:
        """Replace both lags (None: that lag off). Whatever was lagged becomes visible first."""
        lags = {INDEX: Lag(index_lag_writes, index_lag_seconds), BASE: Lag(base_lag_writes, base_lag_seconds)}
        with self.lock:
            self.logs.clear()
            self.lags = lags
        return self.describe()

    def describe(self) -> dict[str, Any]:
        with self.lock:
            described = {
                f"{kind}_lag_{unit}": value for kind, lag in self.lags.items() for unit, value in asdict(lag).items()
            }
            described["unseen_writes"] = sum(len(v.unseen) for log in self.logs.values() for v in log.views.values())
            return described

    def settle(self) -> None:
        """Every lagged write becomes visible now, as time passing would."""
        with self.lock:
            for log in self.logs.values():
                for view in log.views.values():
                    view.catch_up(None, log.writes, self.clock())

    def reset(self) -> None:
        self.configure()

    @property
    def on(self) -> bool:
        return any(lag.on for lag in self.lags.values())

    # ----------------------------------------------------- moto write hooks
    def before_write(self, table: Table) -> None:
        """A table's views start as the table is before its first write while a lag is on."""
        if self._request is not None and not hasattr(table, _SHADOW_ATTRIBUTE):
            self._log(table)

    def written(self, table: Table, key: PrimaryKey) -> None:
        if self._request is not None and not hasattr(table, _SHADOW_ATTRIBUTE):
            self._request.touched.setdefault((id(table), key), (table, key))

    def _log(self, table: Table) -> TableLog:
        log = self.logs.get(table)
        if log is None:
            log = self.logs[table] = TableLog()
        for kind, lag in self.lags.items():
            if lag.on and kind not in log.views:
                log.views[kind] = LaggedView(_shadow_of(table))
        return log

    def _record(self, touched: Iterator[tuple[Table, PrimaryKey]]) -> None:
        now = self.clock()
        for table, key in touched:
            log = self._log(table)
            log.writes += 1
            item = dynamodb_index.stored_item(table, key)
            attributes = None if item is None else copy.deepcopy(item.to_json()["Attributes"])
            for view in log.views.values():
                view.unseen.append(Write(log.writes, now, key, attributes))

    # ------------------------------------------------------- moto's handler
    def serve(self, handler: DynamoHandler, call_action: Callable[[DynamoHandler], Any]) -> Any:
        """Run one DynamoDB request: lagged reads from the views, writes logged for them."""
        if not self.on:
            return call_action(handler)
        with self.lock:
            action = handler._get_action()
            if action in _READS:
                setattr(handler, _VIEW_ATTRIBUTE, self._view_for(handler, action))
                return call_action(handler)
            self._request = _Request()
            try:
                response = call_action(handler)
                if int(response[0]) < 300:
                    self._record(iter(self._request.touched.values()))
                return response
            finally:
                self._request = None

    def _view_for(self, handler: DynamoHandler, action: str) -> DynamoDBBackend:
        params: dict[str, Any] = getattr(handler, "params", None) or {}
        if action == "BatchGetItem":
            kinds = {
                name: None if request.get("ConsistentRead") else BASE
                for name, request in (params.get("RequestItems") or {}).items()
            }
        elif action in ("Query", "Scan") and params.get("IndexName"):
            kinds = {params.get("TableName", ""): INDEX}
        else:
            kinds = {params.get("TableName", ""): None if params.get("ConsistentRead") else BASE}
        backend = dynamodb_backends[handler.current_account][handler.region]

        def choose(name: str, table: Table) -> Table:
            kind = kinds.get(name)
            lag = self.lags[kind] if kind else None
            if kind is None or lag is None or not lag.on:
                return table
            log = self._log(table)
            view = log.views[kind]
            view.catch_up(lag, log.writes, self.clock())
            return view.shadow

        return _View(backend, choose)


CONSISTENCY = EventualConsistency()


def _dynamodb_backend(self: DynamoHandler) -> DynamoDBBackend:
    view: DynamoDBBackend | None = getattr(self, _VIEW_ATTRIBUTE, None)
    if view is not None:
        return view
    backend: DynamoDBBackend = dynamodb_backends[self.current_account][self.region]
    return backend


def apply() -> None:
    """Route moto's DynamoDB handler through CONSISTENCY (a no-op while every lag is off)."""
    original = DynamoHandler.call_action

    def call_action(self: DynamoHandler) -> Any:
        return CONSISTENCY.serve(self, original)

    DynamoHandler.call_action = call_action  # type: ignore[method-assign]
    DynamoHandler.dynamodb_backend = property(_dynamodb_backend)  # type: ignore[method-assign,assignment]
    dynamodb_index.observe_writes(CONSISTENCY)
