"""The evidence archive's format: tables, rows, object keys and manifests. Pure: no I/O.

One definition per table (`Table`: its columns and partition keys) drives the writer here, the Glue
tables of `template.yaml` (a test compares them) and the DuckDB views (`duckdb_view`), so the three
cannot drift. Rows are JSON Lines, gzip-compressed, which Athena's JSON SerDe and DuckDB's JSON
reader both read natively and which needs nothing beyond the standard library.

Key layout (partition values in the key, never in the rows; `run_date` is the run's UTC date):

    inventory/account=<id>/region=<r>/run_date=<YYYY-MM-DD>/<run id>.jsonl.gz   one row per number
    details/account=<id>/region=<r>/run_date=<YYYY-MM-DD>/<run id>.jsonl.gz     one row per number described
    changes/account=<id>/region=<r>/run_date=<YYYY-MM-DD>/<run id>.jsonl.gz     one row per change
    runs/account=<id>/run_date=<YYYY-MM-DD>/<run id>.jsonl.gz                   one row per run
    manifests/account=<id>/<YYYYMMDDTHHMMSSZ>_<run id>.json                      one per run

Every byte written is a function of the run's data alone (rows in a fixed order, gzip without a
timestamp), so a retry of a run writes the same bytes to the same keys. A manifest lists every
object of its run with its SHA-256 and size, and the key and SHA-256 of the previous manifest of
the account: the manifests form a hash chain.

Tags and claim status are not in the inventory: the listing does not show them, and the inventory is
streamed while the targets are listed, before DescribePhoneNumber is asked. They have a table of their
own, `details`, one row per number DescribePhoneNumber answered in the run. The inventory's columns
`claim_status` and `tags` (never filled: always null) are gone from the table; objects written before
still hold them as null, and the Glue table and DuckDB view, which declare only the table's columns,
ignore them.
"""

from __future__ import annotations

import hashlib
import json
import re
import zlib
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cached_property
from json.encoder import encode_basestring_ascii
from typing import Any

from .models import PhoneNumber, Target
from .ports import Described

FORMAT_VERSION = 1
_ENCODER = json.JSONEncoder(separators=(",", ":"))
_ENCODERS: dict[str, Callable[[Any], str]] = {
    "string": encode_basestring_ascii,
    "bigint": lambda value: str(int(value)),
    "boolean": lambda value: "true" if value else "false",
}
_GZIP = 16 + zlib.MAX_WBITS  # zlib's gzip wrapper: no file name, a zero timestamp
_COMPRESSION = 1  # zlib's fastest: a night's inventory is compressed within the CPU budget
_SUMMARY_STRUCT = (
    "struct<PhoneNumberId:string,PhoneNumberArn:string,PhoneNumber:string,PhoneNumberCountryCode:string,"
    "PhoneNumberType:string,TargetArn:string,InstanceId:string,PhoneNumberDescription:string,"
    "SourcePhoneNumberArn:string,FlowId:string,FlowName:string,Tags:map<string,string>,PhoneNumberStatus:string>"
)
_ACTOR_STRUCT = (
    "struct<event_name:string,event_time:string,event_id:string,principal_arn:string,principal_type:string,"
    "session_name:string,source_ip:string,user_agent:string>"
)


@dataclass(frozen=True)
class Column:
    """One column, in Glue's (Hive's) type names. Every data column may be null: a column added later
    (the enrichment's flow, status, tags, cost) reads as null in older objects."""

    name: str
    type: str
    comment: str


@dataclass(frozen=True)
class Table:
    name: str
    prefix: str
    partitions: tuple[str, ...]
    columns: tuple[Column, ...]
    comment: str

    @cached_property
    def names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)

    @cached_property
    def _template(self) -> str:
        return "{" + ",".join(f'"{c.name}":%s' for c in self.columns) + "}\n"

    @cached_property
    def _encoders(self) -> tuple[Callable[[Any], str], ...]:
        return tuple(_ENCODERS.get(c.type, _ENCODER.encode) for c in self.columns)

    def line(self, values: Sequence[Any]) -> bytes:
        """One JSON Lines row: the columns in order, each value JSON-encoded (null when None). The same as
        json.dumps of the row with compact separators, without building a dict per row."""
        if len(values) != len(self.columns):
            raise ValueError(f"{self.name}: {len(values)} values for {len(self.columns)} columns")
        encoded = tuple("null" if v is None else encode(v) for encode, v in zip(self._encoders, values, strict=True))
        return (self._template % encoded).encode()

    def lines_with(self, fixed: Mapping[str, Any]) -> Callable[[Sequence[Any]], bytes]:
        """A row builder for many rows that share the `fixed` values (a target's name, the run): it takes
        the other columns' values, in column order, and encodes the fixed ones only once."""
        pieces, encoders = [], []
        for column, encode in zip(self.columns, self._encoders, strict=True):
            if column.name in fixed:
                value = fixed[column.name]
                pieces.append(f'"{column.name}":' + ("null" if value is None else encode(value)).replace("%", "%%"))
            else:
                pieces.append(f'"{column.name}":%s')
                encoders.append(encode)
        template = "{" + ",".join(pieces) + "}\n"
        unknown = set(fixed) - set(self.names)
        if unknown:
            raise ValueError(f"{self.name} has no column {sorted(unknown)}")

        def line(values: Sequence[Any]) -> bytes:
            # One C call per value and a list, nothing else per row: this runs once per number a night.
            encoded = tuple("null" if v is None else e(v) for e, v in zip(encoders, values, strict=True))
            return (template % encoded).encode()

        return line

    def key(self, partition: Mapping[str, str], run_id: str) -> str:
        parts = "/".join(f"{name}={partition[name]}" for name in self.partitions)
        return f"{self.prefix}/{parts}/{run_id}.jsonl.gz"

    def location_template(self, root: str) -> str:
        """Athena's `storage.location.template` for partition projection."""
        parts = "/".join(f"{name}=${{{name}}}" for name in self.partitions)
        return f"{root}/{self.prefix}/{parts}/"


PARTITION_COMMENTS = {
    "account": "the AWS account the run scanned",
    "region": "the Region of the number (of its ARN)",
    "run_date": "the run's UTC date, YYYY-MM-DD",
}

INVENTORY = Table(
    name="inventory",
    prefix="inventory",
    partitions=("account", "region", "run_date"),
    comment="Every number a complete full run observed: one row per number and run",
    columns=(
        # The first two columns stay first: the next run reads them back without parsing the rows.
        Column("phone_number_arn", "string", "the number's identity, kept across moves"),
        Column("first_seen", "string", "UTC time of the first archived run that held it (ISO 8601)"),
        Column("phone_number", "string", "E.164"),
        Column("phone_number_id", "string", "PhoneNumberId"),
        Column("country_code", "string", "PhoneNumberCountryCode"),
        Column("number_type", "string", "PhoneNumberType"),
        Column("target_arn", "string", "the instance or TDG it is claimed to"),
        Column("target_name", "string", "the instance alias or TDG name, as Connect returned it"),
        Column("target_kind", "string", "INSTANCE or TRAFFIC_DISTRIBUTION_GROUP"),
        Column("instance_id", "string", "InstanceId as listed"),
        Column("description", "string", "PhoneNumberDescription, stored as Connect returned it"),
        Column("source_phone_number_arn", "string", "SourcePhoneNumberArn (imported numbers)"),
        Column("run_id", "string", "the run that observed it"),
        Column("observed_at", "string", "UTC start of that run (ISO 8601)"),
        Column("flow_id", "string", "the contact flow the number is associated with (null: unrouted)"),
        Column("flow_name", "string", "that flow's name, as Connect returned it"),
    ),
)

DETAILS = Table(
    name="details",
    prefix="details",
    partitions=("account", "region", "run_date"),
    comment="Every number DescribePhoneNumber answered in a run: its tags and claim status, one row per number",
    columns=(
        Column("phone_number_arn", "string", "the number's identity, kept across moves"),
        Column("phone_number", "string", "E.164"),
        Column("target_arn", "string", "the instance or TDG it is claimed to, as DescribePhoneNumber answered"),
        Column("claim_status", "string", "PhoneNumberStatus: CLAIMED, IN_PROGRESS or FAILED"),
        Column("status_message", "string", "PhoneNumberStatus's message, when Connect gave one"),
        Column("tags", "map<string,string>", "the number's tags (empty: none)"),
        Column("run_id", "string", "the run that described it"),
        Column("described_at", "string", "UTC start of that run (ISO 8601)"),
    ),
)

CHANGES = Table(
    name="changes",
    prefix="changes",
    partitions=("account", "region", "run_date"),
    comment="Every change a run reported: one row per NUMBER_CHANGE event, as the event carries it",
    columns=(
        Column("event_id", "string", "the event's stable id"),
        Column("change_type", "string", "CLAIMED, RELEASED, MOVED or UPDATED"),
        Column("phone_number", "string", "E.164"),
        Column("phone_number_arn", "string", "the number's identity"),
        Column("country_code", "string", "PhoneNumberCountryCode"),
        Column("number_type", "string", "PhoneNumberType"),
        Column("target_arn", "string", "where the number is now (where it was, for RELEASED)"),
        Column("before", _SUMMARY_STRUCT, "ListPhoneNumbersSummary fields before, or null"),
        Column("after", _SUMMARY_STRUCT, "ListPhoneNumbersSummary fields after, or null"),
        Column("changed_fields", "array<string>", "summary fields that differ"),
        Column("schema_version", "bigint", "the event's schema version"),
        Column("run_id", "string", "the run that reported it"),
        Column("observed_at", "string", "UTC start of that run (ISO 8601)"),
        Column("actor", _ACTOR_STRUCT, "who made the change, as CloudTrail recorded the call (null: not known)"),
        Column("attribution", "string", "why the change has no actor, when it has none"),
    ),
)

RUNS = Table(
    name="runs",
    prefix="runs",
    partitions=("account", "run_date"),
    comment="One row per archived run; full_inventory says whether its inventory is in the archive",
    columns=(
        Column("run_id", "string", "the Lambda request id of the run"),
        Column("started_at", "string", "UTC start of the run (ISO 8601)"),
        Column("status", "string", "COMPLETED, PARTIAL or INTERRUPTED"),
        Column("full_inventory", "boolean", "the run's whole inventory is archived (a complete full run)"),
        Column("note", "string", "why there is no inventory, when there is none"),
        Column("targets_scanned", "bigint", "instances and TDGs listed"),
        Column("targets_unobserved", "bigint", "instances and TDGs that could not be listed"),
        Column("numbers_observed", "bigint", "numbers listed"),
        Column("claimed", "bigint", "CLAIMED changes reported"),
        Column("released", "bigint", "RELEASED changes reported"),
        Column("moved", "bigint", "MOVED changes reported"),
        Column("updated", "bigint", "UPDATED changes reported"),
    ),
)

TABLES = (INVENTORY, DETAILS, CHANGES, RUNS)
MANIFESTS = "manifests"


# ------------------------------------------------------------------ keys
def run_date(started_at: datetime) -> str:
    return started_at.astimezone(UTC).strftime("%Y-%m-%d")


def manifest_prefix(account: str) -> str:
    return f"{MANIFESTS}/account={account}/"


def manifest_key(account: str, run_id: str, started_at: datetime) -> str:
    """Keys sort by the run's start, so the newest manifest is the last key of the listing."""
    return f"{manifest_prefix(account)}{started_at.astimezone(UTC).strftime('%Y%m%dT%H%M%SZ')}_{run_id}.json"


def partition_value(key: str, name: str) -> str:
    """The value of partition `name` in an object's key (`region=us-east-1` -> `us-east-1`)."""
    return next(part.split("=", 1)[1] for part in key.split("/") if part.startswith(f"{name}="))


def manifest_run_id(key: str) -> str:
    return key.rsplit("/", 1)[-1].split("_", 1)[1].removesuffix(".json")


def manifest_started_at(key: str) -> datetime:
    stamp = key.rsplit("/", 1)[-1].split("_", 1)[0]
    return datetime.strptime(stamp, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)


# ------------------------------------------------------------------ rows
def inventory_lines(
    numbers: Iterable[PhoneNumber], target: Target, first_seen: Mapping[str, str], run_id: str, observed_at: str
) -> list[bytes]:
    """Rows of numbers listed on one target; a number without a first_seen is first seen now."""
    line = INVENTORY.lines_with(
        {"target_name": target.name, "target_kind": target.kind.value, "run_id": run_id, "observed_at": observed_at}
    )
    return [
        line(
            (
                number.arn,
                first_seen.get(number.arn, observed_at),
                number.number,
                number.id,
                number.country or None,
                number.type or None,
                number.target_arn,
                number.instance_id or None,
                number.description,
                number.source_arn,
                number.flow_id,
                number.flow_name,
            )
        )
        for number in numbers
    ]


def details_lines(answers: Iterable[Described], run_id: str, described_at: str) -> list[bytes]:
    """Rows of numbers as DescribePhoneNumber answered them (answers that hold a number), in the order
    given. An answer without tags is a number without tags: its row holds an empty map, never null."""
    line = DETAILS.lines_with({"run_id": run_id, "described_at": described_at})
    rows = []
    for answer in answers:
        n = answer.number
        if n is None:
            raise ValueError(f"an answer without a number ({answer.presence}) has no details row")
        rows.append(line((n.arn, n.number, n.target_arn, n.status, answer.status_message, dict(n.tags or ()))))
    return rows


def change_line(event: Mapping[str, Any]) -> bytes:
    """A NUMBER_CHANGE event body as a row (its account and Region are the object's partition)."""
    current = event["after"] or event["before"] or {}
    return CHANGES.line(
        (
            event["event_id"],
            event["change_type"],
            event["phone_number"],
            event["phone_number_arn"],
            current.get("PhoneNumberCountryCode"),
            current.get("PhoneNumberType"),
            event["target_arn"],
            event["before"],
            event["after"],
            event["changed_fields"],
            event["schema_version"],
            event["run_id"],
            event["observed_at"],
            event.get("actor"),
            event.get("attribution"),
        ),
    )


@dataclass(frozen=True)
class RunRow:
    run_id: str
    started_at: str
    status: str
    full_inventory: bool
    note: str | None
    targets_scanned: int
    targets_unobserved: int
    numbers_observed: int
    changes: Mapping[str, int]

    def line(self) -> bytes:
        counts = [self.changes.get(kind, 0) for kind in ("CLAIMED", "RELEASED", "MOVED", "UPDATED")]
        return RUNS.line(
            (
                self.run_id,
                self.started_at,
                self.status,
                self.full_inventory,
                self.note,
                self.targets_scanned,
                self.targets_unobserved,
                self.numbers_observed,
                *counts,
            ),
        )


# The start of every row the writer makes. Inside a JSON string a quote is always escaped, so this
# can only match at the start of a row.
_FIRST_TWO = re.compile(rb'\{"phone_number_arn":"([^"\\]*)","first_seen":"([^"\\]*)"')


# Compressed bytes decompressed at a time when first_seen is read: a few MB of rows, never a whole
# inventory (a Region of 500,000 numbers is about 200 MB of rows).
_FIRST_SEEN_INPUT = 256 * 1024


def first_seen_of(inventory: bytes) -> dict[str, str]:
    """number ARN -> first_seen of one inventory object (gzip JSON Lines, as archived), decompressed a
    piece at a time. The writer puts these two columns first, so they are cut out of the rows without
    parsing them; rows written any other way are parsed."""
    first_seen: dict[str, str] = {}
    distinct: dict[bytes, str] = {}  # the same few timestamps, shared
    decompressor = zlib.decompressobj(_GZIP)
    pending = b""
    for start in range(0, len(inventory), _FIRST_SEEN_INPUT):
        pending += decompressor.decompress(inventory[start : start + _FIRST_SEEN_INPUT])
        cut = pending.rfind(b"\n") + 1
        _read_first_seen(pending[:cut], first_seen, distinct)
        pending = pending[cut:]
    pending += decompressor.flush()
    if not decompressor.eof:
        raise zlib.error("the inventory object ends before its gzip stream does")
    _read_first_seen(pending, first_seen, distinct)
    return first_seen


def _read_first_seen(lines: bytes, first_seen: dict[str, str], distinct: dict[bytes, str]) -> None:
    matches = _FIRST_TWO.findall(lines)
    if len(matches) == lines.count(b"\n") and (not lines or lines.endswith(b"\n")):
        first_seen.update(
            (arn.decode(), distinct.get(seen) or distinct.setdefault(seen, seen.decode())) for arn, seen in matches
        )
        return
    rows = (json.loads(line) for line in lines.split(b"\n") if line.strip())
    first_seen.update((row["phone_number_arn"], row["first_seen"]) for row in rows)


def rows_of(body: bytes) -> list[dict[str, Any]]:
    """Every row of an archived object (gzip JSON Lines), parsed in one call (as one JSON array: a
    hundred thousand rows parse in a fraction of the time of one call per row)."""
    lines = [line for line in gunzip(body).split(b"\n") if line.strip()]
    rows: list[dict[str, Any]] = json.loads(b"[" + b",".join(lines) + b"]")
    return rows


# ------------------------------------------------------------------ objects
def gunzip(body: bytes) -> bytes:
    return zlib.decompress(body, _GZIP)


@dataclass(frozen=True)
class EncodedObject:
    key: str
    body: bytes
    rows: int

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.body).hexdigest()


class JsonLinesGzip:
    """Rows appended one at a time, compressed as they come: the buffer holds only compressed bytes."""

    def __init__(self, key: str) -> None:
        self.key = key
        self.rows = 0
        self._compressor = zlib.compressobj(_COMPRESSION, zlib.DEFLATED, _GZIP)
        self._chunks: list[bytes] = []

    def add(self, lines: Sequence[bytes]) -> None:
        self.rows += len(lines)
        chunk = self._compressor.compress(b"".join(lines))
        if chunk:
            self._chunks.append(chunk)

    def close(self) -> EncodedObject:
        self._chunks.append(self._compressor.flush())
        return EncodedObject(self.key, b"".join(self._chunks), self.rows)


def encode(key: str, lines: Iterable[bytes]) -> EncodedObject:
    buffer = JsonLinesGzip(key)
    buffer.add(list(lines))
    return buffer.close()


# ------------------------------------------------------------------ manifests
@dataclass(frozen=True)
class Link:
    """A manifest as the next one names it."""

    key: str
    sha256: str


@dataclass(frozen=True)
class Entry:
    key: str
    sha256: str
    bytes: int
    rows: int

    @classmethod
    def of(cls, encoded: EncodedObject) -> Entry:
        return cls(encoded.key, encoded.sha256, len(encoded.body), encoded.rows)


@dataclass(frozen=True)
class Manifest:
    account: str
    run_id: str
    started_at: str
    status: str
    full_inventory: bool
    note: str | None
    objects: tuple[Entry, ...]
    previous: Link | None
    format_version: int = FORMAT_VERSION

    @property
    def inventory_keys(self) -> list[str]:
        return [e.key for e in self.objects if e.key.startswith(f"{INVENTORY.prefix}/")]

    @property
    def details_keys(self) -> list[str]:
        return [e.key for e in self.objects if e.key.startswith(f"{DETAILS.prefix}/")]

    @property
    def change_keys(self) -> list[str]:
        return [e.key for e in self.objects if e.key.startswith(f"{CHANGES.prefix}/")]

    def encode(self) -> bytes:
        document = {
            "format_version": self.format_version,
            "account": self.account,
            "run_id": self.run_id,
            "started_at": self.started_at,
            "status": self.status,
            "full_inventory": self.full_inventory,
            "note": self.note,
            "objects": [{"key": e.key, "sha256": e.sha256, "bytes": e.bytes, "rows": e.rows} for e in self.objects],
            "previous": None if self.previous is None else {"key": self.previous.key, "sha256": self.previous.sha256},
        }
        return (json.dumps(document, indent=1, sort_keys=True) + "\n").encode()

    @classmethod
    def decode(cls, body: bytes) -> Manifest:
        document = json.loads(body)
        previous = document["previous"]
        return cls(
            account=document["account"],
            run_id=document["run_id"],
            started_at=document["started_at"],
            status=document["status"],
            full_inventory=document["full_inventory"],
            note=document["note"],
            objects=tuple(Entry(o["key"], o["sha256"], o["bytes"], o["rows"]) for o in document["objects"]),
            previous=None if previous is None else Link(previous["key"], previous["sha256"]),
            format_version=document["format_version"],
        )


def sha256_of(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()


# ------------------------------------------------------------------ SQL engines
def _duckdb_type(glue: str) -> str:
    """A Glue type as DuckDB spells it (the few shapes the tables use)."""
    scalars = {"string": "VARCHAR", "bigint": "BIGINT", "boolean": "BOOLEAN", "double": "DOUBLE"}
    if glue in scalars:
        return scalars[glue]
    if glue.startswith("array<") and glue.endswith(">"):
        return f"{_duckdb_type(glue[6:-1])}[]"
    if glue.startswith("map<") and glue.endswith(">"):
        key, value = _top_level(glue[4:-1])
        return f"MAP({_duckdb_type(key)}, {_duckdb_type(value)})"
    if glue.startswith("struct<") and glue.endswith(">"):
        fields = [part.split(":", 1) for part in _top_level(glue[7:-1])]
        return "STRUCT(" + ", ".join(f'"{name}" {_duckdb_type(kind)}' for name, kind in fields) + ")"
    raise ValueError(f"no DuckDB type for {glue!r}")


def _top_level(inner: str) -> list[str]:
    """`a:string,b:map<string,string>` split at its top-level commas only."""
    parts, depth, start = [], 0, 0
    for index, character in enumerate(inner):
        depth += {"<": 1, ">": -1}.get(character, 0)
        if character == "," and depth == 0:
            parts.append(inner[start:index])
            start = index + 1
    return [*parts, inner[start:]]


def duckdb_view(table: Table, root: str) -> str:
    """A DuckDB view named like the Glue table, over the archive's objects below `root` (a folder or a
    URL): the README's Athena queries run on it unchanged."""
    columns = ", ".join(f"'{c.name}': '{_duckdb_type(c.type)}'" for c in table.columns)
    partitions = ", ".join(f"'{name}': 'VARCHAR'" for name in table.partitions)
    glob = f"{root.rstrip('/')}/{table.prefix}/" + "*=*/" * len(table.partitions) + "*.jsonl.gz"
    return (
        f"CREATE OR REPLACE VIEW {table.name} AS SELECT * FROM read_json('{glob}', "
        f"format = 'newline_delimited', columns = {{{columns}}}, hive_partitioning = true, "
        f"hive_types = {{{partitions}}}, hive_types_autocast = false)"
    )


@dataclass
class GlueColumns:
    """A table's columns as the template's Glue table declares them (for the test that compares)."""

    columns: list[dict[str, str]] = field(default_factory=list)
    partitions: list[dict[str, str]] = field(default_factory=list)


def glue_columns(table: Table) -> GlueColumns:
    return GlueColumns(
        columns=[{"Name": c.name, "Type": c.type, "Comment": c.comment} for c in table.columns],
        partitions=[{"Name": p, "Type": "string", "Comment": PARTITION_COMMENTS[p]} for p in table.partitions],
    )
