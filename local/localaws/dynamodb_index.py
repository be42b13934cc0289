"""DynamoDB queries on a key or an index, answered without scanning the whole table.

moto 5.2 answers every Query by sorting all the items of the table and keeping those whose key
matches: at 100,000 items a query costs seconds, and a benchmark measures moto instead of our
code. Here each table keeps, beside moto's items, an index of its own from every secondary index's
partition-key value to the primary keys of the items that carry it. Every write path keeps it
current (Table.put_item and Table.delete_item, and DynamoDBBackend.update_item, which edits items
in place), and a query hands moto's own query code only the candidate items, so sort order,
pagination, filters and projections stay moto's. The same write hooks tell observers (the
eventual-consistency views) which items each write touched.

`WORK.items_examined` counts the items queries and scans looked at, so tests can count work.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, Protocol, cast

from moto.dynamodb.models import DynamoDBBackend
from moto.dynamodb.models.dynamo_type import DynamoType, Item
from moto.dynamodb.models.table import Table

PrimaryKey = tuple[DynamoType, DynamoType | None]
IndexKey = tuple[str, tuple[DynamoType, ...]]  # (index name, values of its partition-key attributes)
_INDEX_ATTRIBUTE = "_localaws_key_index"


@dataclass
class Work:
    items_examined: int = 0


WORK = Work()


class WriteObserver(Protocol):
    def before_write(self, table: Table) -> None: ...

    def written(self, table: Table, key: PrimaryKey) -> None: ...


_observers: list[WriteObserver] = []
_lock = threading.RLock()


def observe_writes(observer: WriteObserver) -> None:
    if observer not in _observers:
        _observers.append(observer)


def stored_item(table: Table, key: PrimaryKey) -> Item | None:
    """The item under `key`, read without touching moto's defaultdict (which would add an empty entry)."""
    hash_value, range_value = key
    stored: Any = table.items.get(hash_value)
    if stored is None or table.range_key_attr is None:
        return cast(Item | None, stored)
    return cast(Item | None, stored.get(range_value))


def every_item(table: Table) -> Iterator[Item]:
    """The table's items in storage order (moto's own `all_items` sorts them all first)."""
    stored: Any
    for stored in table.items.values():
        if table.range_key_attr is None:
            yield stored
        else:
            yield from stored.values()


def _partition_attributes(table: Table) -> dict[str, list[str]]:
    return {
        index.name: [k["AttributeName"] for k in index.schema if k["KeyType"] == "HASH"]
        for index in table.all_indexes()
    }


class KeyIndex:
    """Per secondary index: partition-key values -> primary keys of the items carrying them."""

    def __init__(self, table: Table) -> None:
        self.attributes = _partition_attributes(table)
        self.entries: dict[IndexKey, dict[PrimaryKey, None]] = {}
        self.of_item: dict[PrimaryKey, list[IndexKey]] = {}
        for item in every_item(table):
            self.add((item.hash_key, item.range_key), item)

    def add(self, key: PrimaryKey, item: Item) -> None:
        keys = []
        for name, attributes in self.attributes.items():
            if all(a in item.attrs for a in attributes):
                index_key = (name, tuple(item.attrs[a] for a in attributes))
                self.entries.setdefault(index_key, {})[key] = None
                keys.append(index_key)
        if keys:
            self.of_item[key] = keys

    def remove(self, key: PrimaryKey) -> None:
        for index_key in self.of_item.pop(key, []):
            holders = self.entries.get(index_key, {})
            holders.pop(key, None)
            if not holders:
                self.entries.pop(index_key, None)

    def refresh(self, table: Table, key: PrimaryKey) -> None:
        self.remove(key)
        item = stored_item(table, key)
        if item is not None:
            self.add(key, item)

    def holders(self, index_name: str, values: tuple[DynamoType, ...]) -> list[PrimaryKey]:
        return list(self.entries.get((index_name, values), {}))


def key_index(table: Table) -> KeyIndex:
    """The table's index, built on first use (a table restored or imported by moto starts without one)."""
    index: KeyIndex | None = vars(table).get(_INDEX_ATTRIBUTE)
    if index is None or index.attributes != _partition_attributes(table):
        index = KeyIndex(table)
        setattr(table, _INDEX_ATTRIBUTE, index)
    return index


def forget_index(table: Table) -> None:
    """Drop the index a (shallow) copy of a table inherited, so the copy builds its own."""
    vars(table).pop(_INDEX_ATTRIBUTE, None)


# ------------------------------------------------------------------ write hooks
def _before(table: Table) -> None:
    for observer in _observers:
        observer.before_write(table)


def _after(table: Table, key: PrimaryKey) -> None:
    with _lock:
        index: KeyIndex | None = vars(table).get(_INDEX_ATTRIBUTE)
        if index is not None:
            index.refresh(table, key)
    for observer in _observers:
        observer.written(table, key)


def _key_of(table: Table, attributes: dict[str, Any]) -> PrimaryKey:
    hash_value = DynamoType(attributes[table.hash_key_attr])
    range_value = DynamoType(attributes[table.range_key_attr]) if table.range_key_attr else None
    return hash_value, range_value


def _put_item(original: Callable[..., Item]) -> Callable[..., Item]:
    def put_item(self: Table, item_attrs: dict[str, Any], *args: Any, **kwargs: Any) -> Item:
        _before(self)
        item = original(self, item_attrs, *args, **kwargs)
        _after(self, (item.hash_key, item.range_key))
        return item

    return put_item


def _delete_item(original: Callable[..., Item | None]) -> Callable[..., Item | None]:
    def delete_item(self: Table, hash_key: DynamoType, range_key: DynamoType | None) -> Item | None:
        _before(self)
        deleted = original(self, hash_key, range_key)
        _after(self, (hash_key, range_key))
        return deleted

    return delete_item


def _update_item(original: Callable[..., Item]) -> Callable[..., Item]:
    def update_item(self: DynamoDBBackend, table_name: str, key: dict[str, Any], *args: Any, **kwargs: Any) -> Item:
        table = self.get_table(table_name)
        primary_key = _key_of(table, key)
        _before(table)
        try:
            return original(self, table_name, key, *args, **kwargs)
        finally:  # an update edits the item in place, and may have done so before it failed
            _after(table, primary_key)

    return update_item


# ---------------------------------------------------------------------- queries
class _Candidates:
    """The table as moto's query code sees it, holding only the items that can match."""

    def __init__(self, table: Table, items: list[Item]) -> None:
        self._table = table
        self._items = items

    def __getattr__(self, name: str) -> Any:
        return getattr(self._table, name)

    def all_items(self) -> list[Item]:
        WORK.items_examined += len(self._items)
        return self._items


def _candidates(
    table: Table,
    hash_key: DynamoType | None,
    index_name: str | None,
    hash_key_conditions: list[tuple[str, DynamoType]] | None,
) -> list[Item] | None:
    """The items a query can match, or None when the query names no complete partition key."""
    if index_name is None:
        if hash_key is None:
            return None
        stored: Any = table.items.get(hash_key)
        if stored is None:
            return []
        return list(stored.values()) if table.range_key_attr else [stored]
    attributes = _partition_attributes(table).get(index_name)
    conditions = dict(hash_key_conditions or ())
    if not attributes or any(a not in conditions for a in attributes):
        return None
    with _lock:
        keys = key_index(table).holders(index_name, tuple(conditions[a] for a in attributes))
    return [item for item in (stored_item(table, k) for k in keys) if item is not None]


def _query(original: Callable[..., Any]) -> Callable[..., Any]:
    def query(  # Table.query's own signature: moto passes index_name by position
        self: Table,
        hash_key: DynamoType | None,
        range_comparison: str | None,
        range_objs: list[DynamoType],
        limit: int,
        exclusive_start_key: dict[str, Any],
        scan_index_forward: bool,
        projection_expressions: list[list[str]] | None,
        index_name: str | None = None,
        *args: Any,
        hash_key_conditions: list[tuple[str, DynamoType]] | None = None,
        **kwargs: Any,
    ) -> Any:
        found = _candidates(self, hash_key, index_name, hash_key_conditions)
        narrowed = self if found is None else _Candidates(self, found)
        return original(
            narrowed,
            hash_key,
            range_comparison,
            range_objs,
            limit,
            exclusive_start_key,
            scan_index_forward,
            projection_expressions,
            index_name,
            *args,
            hash_key_conditions=hash_key_conditions,
            **kwargs,
        )

    return query


def _all_items(original: Callable[[Table], list[Item]]) -> Callable[[Table], list[Item]]:
    def all_items(self: Table) -> list[Item]:
        items = original(self)
        WORK.items_examined += len(items)
        return items

    return all_items


def apply() -> None:
    Table.put_item = _put_item(Table.put_item)  # type: ignore[method-assign]
    Table.delete_item = _delete_item(Table.delete_item)  # type: ignore[method-assign]
    Table.query = _query(Table.query)  # type: ignore[method-assign]
    Table.all_items = _all_items(Table.all_items)  # type: ignore[method-assign,assignment]
    DynamoDBBackend.update_item = _update_item(DynamoDBBackend.update_item)  # type: ignore[method-assign]
