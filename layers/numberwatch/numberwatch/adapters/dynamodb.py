"""Snapshot adapter: one DynamoDB table, several item types (single-table design). It serves the
`Lease`, `Snapshot`, `Outbox` and `RunLog` ports.

| item    | PK                        | SK                         | indexes                                  |
|---------|---------------------------|----------------------------|------------------------------------------|
| scope   | SCOPE#<account>#<region>  | #SCOPE                     |                                          |
| target  | SCOPE#<account>#<region>  | TGT#<target arn>           |                                          |
| bucket  | TGT#<target arn>          | B#<bucket>                 |                                          |
| number  | NUM#<number arn>          | NUM                        | (release 0.1: ByTargetBucket)            |
| message | MSG#<account>#<run id>    | <event type>#<message id>  | Unsent (sparse), NumberHistory           |
| run     | RUN#<account>             | <started at>#<run id>      |                                          |
| lease   | LEASE#<account>           | LEASE                      |                                          |

Account and Region are part of every key (a number's and a target's ARN carry both). Every `write`
is one TransactWriteItems with a ConditionCheck on the lease, so a run that lost its lease cannot
write. Every read the run decides on is strongly consistent and by key: the only index reads are the
outbox's leftovers (checked again by key before they are sent) and, once per target when upgrading
from release 0.1, the old `ByTargetBucket` index. Released numbers stay as tombstones so that their
version, and with it the event id of a later re-claim, keeps counting.

TransactWriteItems' items are written into the request body by `json` alone
(`write_transactions_leanly`): botocore's walk of every attribute of every item through the input
shape, and its endpoint rules' JMESPath over every item, were 30% of a 100,000-number baseline's CPU.

A bucket item packs its entries into one binary attribute: per number, sorted by ARN, a 2-byte ARN
length, the ARN and its 32-byte digest (about 110 bytes a number, so a bucket of a 100,000-number
target is about 45 KB, far below DynamoDB's 400 KB item limit).
"""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from ..events import OutboxMessage
from ..fingerprint import FINGERPRINT_VERSION, BucketEntries
from ..models import EventType, PhoneNumber, RunStatus, SnapshotNumber, Target, TargetKind, TargetRecord
from ..observability import logger
from ..ports import (
    DeleteTarget,
    LeaseLost,
    LeaseState,
    Mutation,
    PutBucket,
    PutMessage,
    PutNumber,
    PutRun,
    PutScope,
    PutTarget,
    RunRecord,
    ScopeRecord,
    StoredMessage,
)
from . import Client

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

Item = dict[str, Any]

LEGACY_BUCKET_INDEX = "ByTargetBucket"
UNSENT_INDEX = "Unsent"
HISTORY_INDEX = "NumberHistory"
TRANSACTION_LIMIT = 100
TRANSACTION_BYTES = 4 * 1024 * 1024
BATCH_GET_LIMIT = 100
BATCH_WRITE_LIMIT = 25
DIGEST_BYTES = 32


class StoreError(Exception):
    """DynamoDB refused a write for a reason other than the lease."""


def _s(value: str) -> dict[str, str]:
    return {"S": value}


def _n(value: int) -> dict[str, str]:
    return {"N": str(value)}


def _optional(item: Item, name: str, value: str | None) -> None:
    if value is not None:
        item[name] = _s(value)


def _text(item: Item, name: str) -> str | None:
    value = item.get(name)
    return None if value is None else str(value["S"])


def _epoch(moment: datetime) -> int:
    return int(moment.timestamp())


def _message_partition(account: str, run_id: str) -> str:
    """A run's outbox: every message the run made, sent or not."""
    return f"MSG#{account}#{run_id}"


def _unsent_partition(account: str) -> str:
    """The sparse index's partition of an account's messages not yet published."""
    return f"UNSENT#{account}"


def pack_entries(entries: BucketEntries) -> bytes:
    packed = bytearray()
    for arn in sorted(entries):
        encoded = arn.encode()
        packed += len(encoded).to_bytes(2, "big") + encoded + entries[arn]
    return bytes(packed)


def unpack_entries(packed: bytes) -> BucketEntries:
    entries: BucketEntries = {}
    position = 0
    while position < len(packed):
        length = int.from_bytes(packed[position : position + 2], "big")
        arn = packed[position + 2 : position + 2 + length].decode()
        position += 2 + length
        entries[arn] = packed[position : position + DIGEST_BYTES]
        position += DIGEST_BYTES
    return entries


def write_transactions_leanly(client: Client) -> Client:
    """`client` (a DynamoDB client) writes TransactWriteItems' items into the request body with `json`
    alone, bytes in base64: for the items this adapter builds (strings, numbers as strings, booleans,
    bytes, maps and lists of them) that is the JSON botocore's serializer writes, without its spaces.
    botocore still builds the request around the first item alone (the lease's check): it validates it
    if the client validates, resolves the endpoint from its table (every item of a transaction names the
    same one), and adds the idempotency token and the headers."""
    service = client.meta.service_model.service_id.hyphenize()

    def set_items_aside(params: dict[str, Any], context: dict[str, Any], **_: Any) -> Any:  # the new params
        context["numberwatch_transact_items"] = params["TransactItems"]
        return {**params, "TransactItems": params["TransactItems"][:1]}

    def put_items_back(params: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
        body = json.loads(params["body"])
        body["TransactItems"] = context.pop("numberwatch_transact_items")
        params["body"] = _LEAN_BODY.encode(body).encode()

    client.meta.events.register(
        f"provide-client-params.{service}.TransactWriteItems", set_items_aside, unique_id="numberwatch-lean-items"
    )
    client.meta.events.register(
        f"before-call.{service}.TransactWriteItems", put_items_back, unique_id="numberwatch-lean-body"
    )
    return client


def _base64(value: object) -> str:
    if isinstance(value, bytes | bytearray | memoryview):
        return base64.b64encode(value).decode()
    raise TypeError(f"{type(value).__name__} is not an attribute value this adapter writes")


# Made once (json.dumps with options makes an encoder per call), without the spaces json.dumps puts after
# separators, and without the check for cycles our items cannot have: a 100,000-number baseline encodes
# 67 MB of transactions (71 MB with the spaces), 1.10 s against 1.46 s of CPU (fastest of 7).
_LEAN_BODY = json.JSONEncoder(default=_base64, separators=(",", ":"), check_circular=False)


class DynamoSnapshotStore:
    max_items_per_write = TRANSACTION_LIMIT - 1  # one slot for the lease check
    max_bytes_per_write = TRANSACTION_BYTES - 64 * 1024  # room for the lease check and request overhead

    def __init__(
        self,
        client: DynamoDBClient,
        table_name: str,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.client = client
        self.table = table_name
        self.clock = clock
        self.sleep = sleep

    # ------------------------------------------------------------- queries
    def _pages(self, **arguments: Any) -> Iterator[list[Item]]:
        arguments["TableName"] = self.table
        while True:
            page = self.client.query(**arguments)
            yield page.get("Items", [])
            if "LastEvaluatedKey" not in page or arguments.get("Limit"):
                return
            arguments["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def _query(self, **arguments: Any) -> Iterator[Item]:
        """A base-table query, strongly consistent."""
        for page in self._pages(ConsistentRead=True, **arguments):
            yield from page

    def _batch_get(self, keys: Sequence[Item], projection: str | None = None) -> Iterator[Item]:
        """Every item of `keys` that exists, read consistently, unprocessed keys retried."""
        for start in range(0, len(keys), BATCH_GET_LIMIT):
            pending = list(keys[start : start + BATCH_GET_LIMIT])
            attempt = 0
            while pending:
                request: dict[str, Any] = {"Keys": pending, "ConsistentRead": True}
                if projection:
                    request["ProjectionExpression"] = projection
                response: Any = self.client.batch_get_item(RequestItems={self.table: request})  # type: ignore[dict-item]
                yield from response.get("Responses", {}).get(self.table, [])
                pending = response.get("UnprocessedKeys", {}).get(self.table, {}).get("Keys", [])
                attempt = self._backoff(attempt) if pending else 0

    # --------------------------------------------------------------- lease
    def _lease_key(self, account: str) -> Item:
        return {"PK": _s(f"LEASE#{account}"), "SK": _s("LEASE")}

    def acquire_lease(self, account: str, owner: str, now: datetime, expires_at: datetime) -> LeaseState:
        current = self.client.get_item(TableName=self.table, Key=self._lease_key(account), ConsistentRead=True).get(
            "Item"
        )
        resumed = current is not None and _text(current, "owner") == owner
        if current is not None and not resumed and int(current["expires_at"]["N"]) > _epoch(now):
            return self._held(current)
        started_at = datetime.fromisoformat(str(_text(current, "started_at"))) if resumed and current else now
        item = {
            **self._lease_key(account),
            "owner": _s(owner),
            "expires_at": _n(_epoch(expires_at)),
            "started_at": _s(started_at.isoformat()),
        }
        try:
            self.client.put_item(
                TableName=self.table,
                Item=item,
                ConditionExpression="attribute_not_exists(PK) OR expires_at < :now OR #owner = :owner",
                ExpressionAttributeNames={"#owner": "owner"},
                ExpressionAttributeValues={":now": _n(_epoch(now)), ":owner": _s(owner)},
            )
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "ConditionalCheckFailedException":
                raise
            latest = self.client.get_item(TableName=self.table, Key=self._lease_key(account), ConsistentRead=True)
            return self._held(latest["Item"])
        return LeaseState(True, owner, expires_at, started_at, resumed)

    def _held(self, item: Item) -> LeaseState:
        return LeaseState(
            acquired=False,
            owner=str(_text(item, "owner")),
            expires_at=datetime.fromtimestamp(int(item["expires_at"]["N"]), UTC),
            started_at=datetime.fromisoformat(str(_text(item, "started_at"))),
        )

    def release_lease(self, account: str, owner: str) -> None:
        try:
            self.client.delete_item(
                TableName=self.table,
                Key=self._lease_key(account),
                ConditionExpression="#owner = :owner",
                ExpressionAttributeNames={"#owner": "owner"},
                ExpressionAttributeValues={":owner": _s(owner)},
            )
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "ConditionalCheckFailedException":
                raise
            logger.warning("The lease was no longer ours to release")

    # ------------------------------------------------------------ snapshot
    def scope(self, account: str, region: str) -> ScopeRecord | None:
        item = self.client.get_item(
            TableName=self.table, Key={"PK": _s(f"SCOPE#{account}#{region}"), "SK": _s("#SCOPE")}, ConsistentRead=True
        ).get("Item")
        if item is None:
            return None
        return ScopeRecord(
            account,
            region,
            bool(item["baseline_complete"]["BOOL"]),
            int(item.get("full_runs", {"N": "0"})["N"]),
            int(item.get("refresh_from", {"N": "0"})["N"]),
        )

    def targets(self, account: str, region: str) -> dict[str, TargetRecord]:
        records = {}
        for item in self._query(
            KeyConditionExpression="PK = :pk AND begins_with(SK, :prefix)",
            ExpressionAttributeValues={":pk": _s(f"SCOPE#{account}#{region}"), ":prefix": _s("TGT#")},
        ):
            target = Target(
                arn=item["arn"]["S"],
                kind=TargetKind(item["target_kind"]["S"]),
                name=item["name"]["S"],
                instance_arn=item["instance_arn"]["S"],
                regions=tuple(r["S"] for r in item["regions"]["L"]),
            )
            records[target.arn] = TargetRecord(
                target=target,
                buckets={k: v["S"] for k, v in item["buckets"]["M"].items()},
                count=int(item["count"]["N"]),
                held_since_run=_text(item, "held_since_run"),
                held_count=int(item.get("held_count", {"N": "0"})["N"]),
                legacy=int(item.get("fingerprint_version", {"N": "1"})["N"]) < FINGERPRINT_VERSION,
            )
        return records

    def buckets(self, target_arn: str, buckets: Sequence[str]) -> dict[str, BucketEntries]:
        keys = [{"PK": _s(f"TGT#{target_arn}"), "SK": _s(f"B#{bucket}")} for bucket in buckets]
        return {item["SK"]["S"][2:]: unpack_entries(bytes(item["entries"]["B"])) for item in self._batch_get(keys)}

    def numbers(self, arns: Sequence[str]) -> dict[str, SnapshotNumber]:
        keys = [{"PK": _s(f"NUM#{arn}"), "SK": _s("NUM")} for arn in arns]
        return {s.number.arn: s for s in map(self._snapshot, self._batch_get(keys))}

    def legacy_numbers(self, target_arn: str) -> list[SnapshotNumber]:
        return [
            self._snapshot(item)
            for page in self._pages(
                IndexName=LEGACY_BUCKET_INDEX,
                KeyConditionExpression="GSI1PK = :pk",
                ExpressionAttributeValues={":pk": _s(f"TGT#{target_arn}")},
            )
            for item in page
        ]

    # -------------------------------------------------------------- outbox
    def run_messages(self, account: str, run_id: str) -> list[StoredMessage]:
        return [
            StoredMessage(self._message(item), _text(item, "GSI2PK") == _unsent_partition(account))
            for item in self._query(
                KeyConditionExpression="PK = :pk",
                ExpressionAttributeValues={":pk": _s(_message_partition(account, run_id))},
            )
        ]

    def _message_key(self, account: str, message: OutboxMessage) -> Item:
        return {
            "PK": _s(_message_partition(account, message.run_id)),
            "SK": _s(message.sort_key),
        }

    def has_message(self, account: str, message: OutboxMessage) -> bool:
        key = self._message_key(account, message)
        found = self.client.get_item(TableName=self.table, Key=key, ProjectionExpression="PK", ConsistentRead=True)
        return "Item" in found

    def unsent_pages(self, account: str) -> Iterator[list[OutboxMessage]]:
        for page in self._pages(
            IndexName=UNSENT_INDEX,
            KeyConditionExpression="GSI2PK = :pk",
            ExpressionAttributeValues={":pk": _s(_unsent_partition(account))},
        ):
            yield [self._message(item) for item in page]

    def still_unsent(self, account: str, messages: Sequence[OutboxMessage]) -> list[OutboxMessage]:
        by_key = {(_message_partition(account, m.run_id), m.sort_key): m for m in messages}
        keys = [{"PK": _s(pk), "SK": _s(sk)} for pk, sk in by_key]
        unsent = {
            (item["PK"]["S"], item["SK"]["S"])
            for item in self._batch_get(keys, projection="PK, SK, GSI2PK")
            if _text(item, "GSI2PK") == _unsent_partition(account)
        }
        return [message for key, message in by_key.items() if key in unsent]

    def mark_sent(self, account: str, messages: Sequence[OutboxMessage]) -> None:
        unique = {m.message_id: m for m in messages}
        self._batch_put([self._message_item(account, m) for m in unique.values()])

    def set_aside(self, account: str, message: OutboxMessage, reason: str) -> None:
        item = self._message_item(account, message)
        item.update(
            GSI2PK=_s(f"SETASIDE#{account}"),
            GSI2SK=_s(f"{message.created_at}#{message.message_id}"),
            set_aside_reason=_s(reason[:1000]),
        )
        self.client.put_item(TableName=self.table, Item=item)

    def _batch_put(self, items: Sequence[Item]) -> None:
        requests = [{"PutRequest": {"Item": item}} for item in items]
        for start in range(0, len(requests), BATCH_WRITE_LIMIT):
            pending = requests[start : start + BATCH_WRITE_LIMIT]
            attempt = 0
            while pending:
                response = self.client.batch_write_item(RequestItems={self.table: pending})  # type: ignore[dict-item]
                pending = response.get("UnprocessedItems", {}).get(self.table, [])  # type: ignore[assignment]
                attempt = self._backoff(attempt) if pending else 0

    def _backoff(self, attempt: int) -> int:
        self.sleep(min(0.05 * 2**attempt, 2.0))
        return attempt + 1

    # ------------------------------------------------------------- run log
    def recent_runs(self, account: str, limit: int) -> list[RunRecord]:
        records = []
        for page in self._pages(
            KeyConditionExpression="PK = :pk",
            ExpressionAttributeValues={":pk": _s(f"RUN#{account}")},
            ScanIndexForward=False,
            Limit=limit,
            ConsistentRead=True,
        ):
            records += [
                RunRecord(
                    account=account,
                    run_id=item["run_id"]["S"],
                    started_at=datetime.fromisoformat(item["started_at"]["S"]),
                    status=RunStatus(item["status"]["S"]),
                    summary=json.loads(item["summary"]["S"]),
                )
                for item in page
            ]
        return records

    # -------------------------------------------------------------- writes
    def write(self, account: str, owner: str, mutations: Sequence[Mutation]) -> None:
        if len(mutations) > self.max_items_per_write:
            raise ValueError(f"at most {self.max_items_per_write} items per transaction")
        items: list[Item] = [
            {
                "ConditionCheck": {
                    "TableName": self.table,
                    "Key": self._lease_key(account),
                    "ConditionExpression": "#owner = :owner AND expires_at > :now",
                    "ExpressionAttributeNames": {"#owner": "owner"},
                    "ExpressionAttributeValues": {":owner": _s(owner), ":now": _n(int(self.clock()))},
                }
            }
        ]
        items.extend(self._operation(account, mutation) for mutation in mutations)
        try:
            self.client.transact_write_items(TransactItems=items)  # type: ignore[arg-type]
        except ClientError as exc:
            reasons = exc.response.get("CancellationReasons", [])
            if reasons and reasons[0].get("Code") == "ConditionalCheckFailed":
                raise LeaseLost(f"run {owner} no longer holds the lease of {account}") from exc
            raise StoreError(f"transaction refused: {exc}") from exc

    def size_of(self, mutation: Mutation) -> int:
        """An upper estimate of the bytes a mutation adds to a transaction, without encoding it."""
        if isinstance(mutation, PutBucket):
            return 512 + sum(2 + len(arn) + DIGEST_BYTES for arn in mutation.entries)
        if isinstance(mutation, PutTarget):
            return 1024 + 96 * len(mutation.record.buckets)
        if isinstance(mutation, PutMessage):
            message = mutation.message
            return 1024 + 2 * len(message.envelope)
        if isinstance(mutation, PutRun):
            return 1024 + len(json.dumps(mutation.run.summary))
        return 2048  # numbers, scopes, deletes: small, bounded items

    # ------------------------------------------------------------ encoding
    def _operation(self, account: str, mutation: Mutation) -> Item:
        if isinstance(mutation, PutNumber):
            return {"Put": {"TableName": self.table, "Item": self._number_item(mutation)}}
        if isinstance(mutation, PutBucket):
            key = {"PK": _s(f"TGT#{mutation.target.arn}"), "SK": _s(f"B#{mutation.bucket}")}
            if not mutation.entries:
                return {"Delete": {"TableName": self.table, "Key": key}}
            return {"Put": {"TableName": self.table, "Item": {**key, "entries": {"B": pack_entries(mutation.entries)}}}}
        if isinstance(mutation, PutTarget):
            return {"Put": {"TableName": self.table, "Item": self._target_item(account, mutation.record)}}
        if isinstance(mutation, DeleteTarget):
            key = {"PK": _s(f"SCOPE#{account}#{mutation.target.home_region}"), "SK": _s(f"TGT#{mutation.target.arn}")}
            return {"Delete": {"TableName": self.table, "Key": key}}
        if isinstance(mutation, PutMessage):
            item = self._message_item(account, mutation.message, unsent=True)
            return {"Put": {"TableName": self.table, "Item": item}}
        if isinstance(mutation, PutScope):
            scope = mutation.scope
            item = {
                "PK": _s(f"SCOPE#{scope.account}#{scope.region}"),
                "SK": _s("#SCOPE"),
                "baseline_complete": {"BOOL": scope.baseline_complete},
                "full_runs": _n(scope.full_runs),
                "refresh_from": _n(scope.refresh_from),
            }
            return {"Put": {"TableName": self.table, "Item": item}}
        run = mutation.run
        item = {
            "PK": _s(f"RUN#{run.account}"),
            "SK": _s(f"{run.started_at.isoformat()}#{run.run_id}"),
            "run_id": _s(run.run_id),
            "started_at": _s(run.started_at.isoformat()),
            "status": _s(run.status.value),
            "summary": _s(json.dumps(run.summary)),
        }
        return {"Put": {"TableName": self.table, "Item": item}}

    def _number_item(self, mutation: PutNumber) -> Item:
        snapshot = mutation.snapshot
        number = snapshot.number
        item: Item = {
            "PK": _s(f"NUM#{number.arn}"),
            "SK": _s("NUM"),
            "arn": _s(number.arn),
            "id": _s(number.id),
            "number": _s(number.number),
            "country": _s(number.country),
            "type": _s(number.type),
            "target_arn": _s(number.target_arn),
            "instance_id": _s(number.instance_id),
            "version": _n(snapshot.version),
            "released": {"BOOL": snapshot.released},
        }
        _optional(item, "description", number.description)
        _optional(item, "source_arn", number.source_arn)
        _optional(item, "flow_id", number.flow_id)
        _optional(item, "flow_name", number.flow_name)
        _optional(item, "status", number.status)
        if number.tags is not None:
            item["tags"] = {"M": {key: _s(value) for key, value in number.tags}}
        if snapshot.released and mutation.expires_at is not None:
            item["expires_at"] = _n(mutation.expires_at)
        return item

    def _snapshot(self, item: Item) -> SnapshotNumber:
        number = PhoneNumber(
            arn=item["arn"]["S"],
            id=item["id"]["S"],
            number=item["number"]["S"],
            country=item["country"]["S"],
            type=item["type"]["S"],
            target_arn=item["target_arn"]["S"],
            instance_id=item["instance_id"]["S"],
            description=_text(item, "description") or None,
            source_arn=_text(item, "source_arn") or None,
            flow_id=_text(item, "flow_id"),
            flow_name=_text(item, "flow_name"),
            tags=tuple(sorted((k, v["S"]) for k, v in item["tags"]["M"].items())) if "tags" in item else None,
            status=_text(item, "status"),
        )
        return SnapshotNumber(number, int(item["version"]["N"]), bool(item["released"]["BOOL"]))

    def _target_item(self, account: str, record: TargetRecord) -> Item:
        target = record.target
        item: Item = {
            "PK": _s(f"SCOPE#{account}#{target.home_region}"),
            "SK": _s(f"TGT#{target.arn}"),
            "arn": _s(target.arn),
            "target_kind": _s(target.kind.value),
            "name": _s(target.name),
            "instance_arn": _s(target.instance_arn),
            "regions": {"L": [_s(r) for r in target.regions]},
            "buckets": {"M": {k: _s(v) for k, v in record.buckets.items()}},
            "count": _n(record.count),
            "held_count": _n(record.held_count),
            "fingerprint_version": _n(FINGERPRINT_VERSION),
        }
        _optional(item, "held_since_run", record.held_since_run)
        return item

    def _message_item(self, account: str, message: OutboxMessage, unsent: bool = False) -> Item:
        item: Item = {
            **self._message_key(account, message),
            "message_id": _s(message.message_id),
            "event_type": _s(message.event_type.value),
            "run_id": _s(message.run_id),
            "created_at": _s(message.created_at),
            "body": _s(json.dumps(message.body, separators=(",", ":"))),
            "email_text": _s(message.email_text),
            "attributes": {"M": {k: _s(v) for k, v in message.attributes.items()}},
        }
        if message.expires_at is not None:
            item["expires_at"] = _n(message.expires_at)
        _optional(item, "subject", message.subject)
        if message.number_arn:
            item["number_arn"] = _s(message.number_arn)
            item["GSI3PK"] = _s(f"NUM#{message.number_arn}")
            # Two runs of one second (a fast night, then a manual one): the number's versions order them.
            order = "" if message.version is None else f"{message.version:012d}#"
            item["GSI3SK"] = _s(f"{message.created_at}#{order}{message.message_id}")
        if message.version is not None:
            item["version"] = _n(message.version)
        if unsent:
            item["GSI2PK"] = _s(_unsent_partition(account))
            item["GSI2SK"] = _s(f"{message.created_at}#{message.message_id}")
        return item

    def _message(self, item: Item) -> OutboxMessage:
        return OutboxMessage(
            message_id=item["message_id"]["S"],
            event_type=EventType(item["event_type"]["S"]),
            run_id=item["run_id"]["S"],
            created_at=item["created_at"]["S"],
            body=json.loads(item["body"]["S"]),
            email_text=item["email_text"]["S"],
            subject=_text(item, "subject"),
            attributes={k: v["S"] for k, v in item["attributes"]["M"].items()},
            number_arn=_text(item, "number_arn"),
            expires_at=int(item["expires_at"]["N"]) if "expires_at" in item else None,
            version=int(item["version"]["N"]) if "version" in item else None,
        )
