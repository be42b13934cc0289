"""Fixes to moto that the local stack applies when it starts.

moto never starts a container here: its Lambda and Batch would run code in Docker on a host where
dockerd runs as root, so `DockerModel.docker_client` refuses, whatever path leads there (an SNS
subscription, a CloudFormation custom resource...). Lambda `Invoke` is for the stack to answer
in-process. DynamoDB queries use an index of our own (`dynamodb_index`) and may read lagged views
(`consistency`).

moto 5.2's TransactWriteItems deep-copies the whole table once per item of the transaction, to
roll back on failure: a 99-item transaction against a table of a few thousand items takes
seconds, and a baseline of 100,000 numbers would take hours. This version keeps DynamoDB's
semantics (all conditions checked first, all or nothing, cancellation reasons in order) with an
undo log of the items it touches instead.

moto 5.2 also builds every item attribute by attribute, summing the sizes of all the attributes
already set at each one to enforce the 400 KB limit: half the stack's time for a transaction of 99
numbers. Items are built at once here, checked against the same limit once.

STS refuses to assume a role that does not exist or whose external id does not match (`sts_trust`).
"""

from __future__ import annotations

import copy
from typing import Any

from moto.dynamodb.comparisons import get_filter_expression
from moto.dynamodb.exceptions import (
    ConditionalCheckFailed,
    ItemSizeTooLarge,
    MultipleTransactionsException,
    TooManyTransactionsException,
    TransactionCanceledException,
    TransactWriteSingleOpException,
)
from moto.dynamodb.models import DynamoDBBackend
from moto.dynamodb.models.dynamo_type import DynamoType, Item, LimitedSizeDict
from moto.dynamodb.models.utilities import bytesize
from moto.utilities.docker_utilities import DockerModel

from . import consistency, dynamodb_index, sts_trust

_applied = False


class ContainersRefused(RuntimeError):
    """moto asked for Docker: the local stack never starts a container."""


def _no_docker(self: DockerModel) -> Any:
    raise ContainersRefused("the local AWS stack never starts containers (moto's Lambda and Batch execution is off)")


def _key_of(backend: DynamoDBBackend, op_type: str, op: dict[str, Any]) -> dict[str, Any]:
    if op_type != "Put":
        key: dict[str, Any] = op["Key"]
        return key
    table = backend.get_table(op["TableName"])
    attrs = op["Item"]
    key = {table.hash_key_attr: attrs[table.hash_key_attr]}
    if table.range_key_attr is not None:
        key[table.range_key_attr] = attrs[table.range_key_attr]
    return key


def transact_write_items(self: DynamoDBBackend, transact_items: list[dict[str, Any]]) -> None:
    if len(transact_items) > 100:
        raise TooManyTransactionsException()
    planned: list[tuple[str, dict[str, Any], dict[str, Any]]] = []
    seen: set[tuple[str, str]] = set()
    errors: list[tuple[str | None, str | None, dict[str, Any] | None]] = []
    for item in transact_items:
        if len(item) > 1:
            raise TransactWriteSingleOpException
        op_type, op = next(iter(item.items()))
        if op_type not in {"ConditionCheck", "Put", "Delete", "Update"}:
            raise ValueError("Unsupported transaction operation")
        key = _key_of(self, op_type, op)
        identity = (str(op["TableName"]), str(dict(sorted(key.items()))))
        if identity in seen:
            raise MultipleTransactionsException()
        seen.add(identity)
        planned.append((op_type, op, key))
        expression = op.get("ConditionExpression")
        if expression is None:
            errors.append((None, None, None))
            continue
        current = self.get_item(op["TableName"], key)
        condition = get_filter_expression(
            expression, op.get("ExpressionAttributeNames"), op.get("ExpressionAttributeValues")
        )
        if condition.expr(current):
            errors.append((None, None, None))
            continue
        old = None
        if op.get("ReturnValuesOnConditionCheckFailure") == "ALL_OLD" and current:
            old = current.to_json()["Attributes"]
        errors.append(("ConditionalCheckFailed", ConditionalCheckFailed().message, old))
    if any(code is not None for code, _, _ in errors):
        raise TransactionCanceledException(errors)

    undo: list[tuple[str, dict[str, Any], Any]] = []
    try:
        for op_type, op, key in planned:
            if op_type == "ConditionCheck":
                continue
            table_name = op["TableName"]
            undo.append((table_name, key, copy.deepcopy(self.get_item(table_name, key))))
            if op_type == "Put":
                self.put_item(table_name, op["Item"])
            elif op_type == "Delete":
                self.delete_item(table_name, key)
            else:
                self.update_item(
                    table_name,
                    key,
                    update_expression=op["UpdateExpression"],
                    expression_attribute_names=op.get("ExpressionAttributeNames", {}),
                    expression_attribute_values=op.get("ExpressionAttributeValues", {}),
                )
    except Exception:
        for table_name, key, previous in reversed(undo):
            if previous is None:
                self.delete_item(table_name, key)
            else:
                self.put_item(table_name, previous.to_json()["Attributes"])
        raise


ITEM_SIZE_LIMIT = 405_000  # moto's: DynamoDB's 400 KB measured between 409 and 410 KB


def _item_init(self: Item, hash_key: DynamoType, range_key: DynamoType | None, attrs: dict[str, Any]) -> None:
    self.hash_key = hash_key
    self.range_key = range_key
    converted = {key: DynamoType(value) for key, value in attrs.items()}
    if sum(bytesize(key) + value.size() for key, value in converted.items()) > ITEM_SIZE_LIMIT:
        raise ItemSizeTooLarge
    self.attrs = LimitedSizeDict(converted)  # dict.update: no per-attribute size check


def apply() -> None:
    global _applied
    if not _applied:
        DynamoDBBackend.transact_write_items = transact_write_items  # type: ignore[method-assign]
        Item.__init__ = _item_init  # type: ignore[method-assign]
        DockerModel.docker_client = property(_no_docker)  # type: ignore[assignment,method-assign]
        dynamodb_index.apply()
        consistency.apply()
        sts_trust.apply()
        _applied = True
