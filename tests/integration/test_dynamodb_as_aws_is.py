"""The local stack's DynamoDB reads as AWS's do: a global secondary index, and a base-table read
without ConsistentRead, trail the writes; a Query on a key or an index touches only its items."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from localaws.consistency import CONSISTENCY
from localaws.control import StackControl

TABLE, OTHER = "things", "others"


def create_table(name: str = TABLE) -> None:
    boto3.client("dynamodb").create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        AttributeDefinitions=[
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "sk", "AttributeType": "S"},
            {"AttributeName": "group", "AttributeType": "S"},
        ],
        GlobalSecondaryIndexes=[
            {
                "IndexName": "ByGroup",
                "KeySchema": [{"AttributeName": "group", "KeyType": "HASH"}],
                "Projection": {"ProjectionType": "ALL"},
            }
        ],
        BillingMode="PAY_PER_REQUEST",
    )


def item(key: str, version: int, group: str = "g", partition: str = "p") -> dict[str, Any]:
    return {"pk": {"S": partition}, "sk": {"S": key}, "group": {"S": group}, "version": {"N": str(version)}}


def key(name: str, partition: str = "p") -> dict[str, Any]:
    return {"pk": {"S": partition}, "sk": {"S": name}}


def put(name: str, version: int, table: str = TABLE, **attributes: str) -> None:
    boto3.client("dynamodb").put_item(TableName=table, Item=item(name, version, **attributes))


def filler(count: int, table: str = TABLE) -> None:
    """`count` writes to other items of the table."""
    for index in range(count):
        put(f"filler-{index}", 0, table, group="filler")


def in_index(group: str = "g") -> dict[str, int]:
    """What a Query on the index answers: each item's version."""
    items = boto3.client("dynamodb").query(
        TableName=TABLE,
        IndexName="ByGroup",
        KeyConditionExpression="#g = :g",
        ExpressionAttributeNames={"#g": "group"},
        ExpressionAttributeValues={":g": {"S": group}},
    )["Items"]
    return {i["sk"]["S"]: int(i["version"]["N"]) for i in items}


def got(name: str, consistent: bool = False) -> int | None:
    found = boto3.client("dynamodb").get_item(TableName=TABLE, Key=key(name), ConsistentRead=consistent).get("Item")
    return None if found is None else int(found["version"]["N"])


def queried(consistent: bool = False) -> dict[str, int]:
    items = boto3.client("dynamodb").query(
        TableName=TABLE,
        KeyConditionExpression="pk = :p",
        ExpressionAttributeValues={":p": {"S": "p"}},
        ConsistentRead=consistent,
    )["Items"]
    return {i["sk"]["S"]: int(i["version"]["N"]) for i in items if i["group"]["S"] != "filler"}


@pytest.fixture
def table(stack: StackControl) -> str:
    create_table()
    return TABLE


def test_a_stale_index_shows_the_old_version_then_the_new_after_n_writes(stack: StackControl, table: str) -> None:
    # Given an index that trails by 3 writes, and an item whose first version it already shows
    stack.eventual_consistency(index_lag_writes=3)
    put("a", 1)
    stack.settle()
    # When the item changes
    put("a", 2)
    # Then the index shows the old version, not nothing
    assert in_index() == {"a": 1}
    # And still does after 2 further writes to the table
    filler(2)
    assert in_index() == {"a": 1}
    # And shows the new version after the 3rd
    filler(1)
    assert in_index() == {"a": 2}


def test_settle_makes_every_lagged_write_visible(stack: StackControl, table: str) -> None:
    # Given an index that trails by far more writes than the test makes
    stack.eventual_consistency(index_lag_writes=1000, base_lag_writes=1000)
    for version, name in enumerate(("a", "b", "c")):
        put(name, version)
    boto3.client("dynamodb").delete_item(TableName=TABLE, Key=key("a"))
    assert in_index() == {}
    # When time passes
    stack.settle()
    # Then every write shows, deletions included
    assert in_index() == {"b": 1, "c": 2}
    assert queried() == {"b": 1, "c": 2}


def test_a_write_shows_after_the_lag_in_seconds_or_in_writes_whichever_comes_first(
    stack: StackControl, table: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a clock the test moves, and an index that trails by 10 seconds or 5 writes
    now = [1000.0]
    monkeypatch.setattr(CONSISTENCY, "clock", lambda: now[0])
    stack.eventual_consistency(index_lag_writes=5, index_lag_seconds=10)
    put("a", 1)
    # When 9.9 seconds pass, the write is not visible yet; at 10 it is
    now[0] += 9.9
    assert in_index() == {}
    now[0] += 0.1
    assert in_index() == {"a": 1}
    # And a write followed by 5 others shows at once, without the clock moving
    put("b", 1)
    filler(5)
    assert in_index() == {"a": 1, "b": 1}


def test_eventually_consistent_reads_miss_the_latest_writes_and_consistent_reads_see_them(
    stack: StackControl, table: str
) -> None:
    # Given base-table reads that trail by 2 writes, and an item at version 1
    stack.eventual_consistency(base_lag_writes=2)
    put("a", 1)
    filler(2)
    # When it changes, and a new item appears
    put("a", 2)
    put("b", 1)
    # Then eventually consistent GetItem and Query see the table as it was
    assert (got("a"), got("b")) == (1, None)
    assert queried() == {"a": 1}
    # While consistent ones see it as it is
    assert (got("a", consistent=True), got("b", consistent=True)) == (2, 1)
    assert queried(consistent=True) == {"a": 2, "b": 1}


def test_a_deleted_item_is_still_read_until_the_deletion_shows(stack: StackControl, table: str) -> None:
    stack.eventual_consistency(base_lag_writes=1, index_lag_writes=1)
    put("a", 1)
    filler(1)
    boto3.client("dynamodb").delete_item(TableName=TABLE, Key=key("a"))
    assert (got("a"), in_index()) == (1, {"a": 1})
    filler(1)
    assert (got("a"), in_index()) == (None, {})


def test_a_transaction_s_writes_are_lagged_too(stack: StackControl, table: str) -> None:
    # Given reads that trail by 3 writes
    stack.eventual_consistency(base_lag_writes=3, index_lag_writes=3)
    put("a", 1)
    filler(3)
    # When one transaction updates a, puts b and deletes filler-0 (three writes)
    boto3.client("dynamodb").transact_write_items(
        TransactItems=[
            {
                "Update": {
                    "TableName": TABLE,
                    "Key": key("a"),
                    "UpdateExpression": "SET version = :v",
                    "ExpressionAttributeValues": {":v": {"N": "2"}},
                }
            },
            {"Put": {"TableName": TABLE, "Item": item("b", 1)}},
            {"Delete": {"TableName": TABLE, "Key": key("filler-0")}},
            {
                "ConditionCheck": {
                    "TableName": TABLE,
                    "Key": key("filler-1"),
                    "ConditionExpression": "attribute_exists(pk)",
                }
            },
        ]
    )
    # Then no lagged read sees any of them, and a consistent read sees all of them
    assert (got("a"), got("b"), in_index()) == (1, None, {"a": 1})
    assert (got("a", consistent=True), got("b", consistent=True)) == (2, 1)
    # And the transaction's own three writes count: one more write shows the first of them only
    filler(1)
    assert (got("a"), got("b")) == (2, None)


@pytest.mark.parametrize(
    "write",
    [
        pytest.param(lambda c: c.put_item(TableName=TABLE, Item=item("w", 1)), id="PutItem"),
        pytest.param(
            lambda c: c.update_item(
                TableName=TABLE,
                Key=key("w"),
                UpdateExpression="SET #g = :g, version = :v",
                ExpressionAttributeNames={"#g": "group"},
                ExpressionAttributeValues={":g": {"S": "g"}, ":v": {"N": "1"}},
            ),
            id="UpdateItem",
        ),
        pytest.param(
            lambda c: c.batch_write_item(RequestItems={TABLE: [{"PutRequest": {"Item": item("w", 1)}}]}),
            id="BatchWriteItem",
        ),
        pytest.param(
            lambda c: c.transact_write_items(TransactItems=[{"Put": {"TableName": TABLE, "Item": item("w", 1)}}]),
            id="TransactWriteItems",
        ),
        pytest.param(
            lambda c: c.execute_statement(
                Statement=f"INSERT INTO \"{TABLE}\" VALUE {{'pk': 'p', 'sk': 'w', 'group': 'g', 'version': 1}}"
            ),
            id="PartiQL",
        ),
    ],
)
def test_every_write_path_is_lagged_and_counts(stack: StackControl, table: str, write: Callable[[Any], None]) -> None:
    # Given reads that trail by one write, and an earlier write not shown yet
    stack.eventual_consistency(base_lag_writes=1, index_lag_writes=1)
    put("earlier", 1)
    # When this write path writes an item
    write(boto3.client("dynamodb"))
    # Then the earlier write shows (this one counted), and this one does not yet
    assert in_index() == {"earlier": 1}
    assert (got("earlier"), got("w")) == (1, None)
    assert got("w", consistent=True) == 1


def test_a_failed_write_changes_nothing_and_does_not_count(stack: StackControl, table: str) -> None:
    stack.eventual_consistency(base_lag_writes=1)
    put("a", 1)
    with pytest.raises(boto3.client("dynamodb").exceptions.ConditionalCheckFailedException):
        boto3.client("dynamodb").put_item(
            TableName=TABLE, Item=item("a", 9), ConditionExpression="attribute_not_exists(pk)"
        )
    assert (got("a"), got("a", consistent=True)) == (None, 1)


def test_batch_get_item_honours_consistent_read_per_table(stack: StackControl, table: str) -> None:
    # Given two tables whose base reads trail by 2 writes, each with a fresh write
    create_table(OTHER)
    stack.eventual_consistency(base_lag_writes=2)
    put("a", 1)
    put("a", 1, OTHER)
    # When one BatchGetItem reads one table consistently and the other not
    response = boto3.client("dynamodb").batch_get_item(
        RequestItems={TABLE: {"Keys": [key("a")], "ConsistentRead": True}, OTHER: {"Keys": [key("a")]}}
    )["Responses"]
    # Then the consistent table answers the item, the other the table as it was
    assert [i["sk"]["S"] for i in response[TABLE]] == ["a"]
    assert response[OTHER] == []


def test_the_consistency_mode_is_off_after_a_reset_and_refuses_nonsense(stack: StackControl, table: str) -> None:
    stack.reset()
    create_table()
    put("a", 1)
    assert (got("a"), in_index()) == (1, {"a": 1})
    for bad in ({"index_lag_writes": -1}, {"base_lag_writes": 1.5}, {"index_lag_seconds": -2.0}):
        with pytest.raises(Exception, match="400"):
            stack.eventual_consistency(**bad)


def test_a_query_on_an_index_or_a_key_touches_only_its_items(stack: StackControl, table: str) -> None:
    # Given 2,000 items in 100 groups of 20, spread over 100 partitions
    client = boto3.client("dynamodb")
    for start in range(0, 2000, 25):
        client.batch_write_item(
            RequestItems={
                TABLE: [
                    {"PutRequest": {"Item": item(f"i{n}", 1, group=f"g{n % 100}", partition=f"p{n // 20}")}}
                    for n in range(start, start + 25)
                ]
            }
        )
    stack.settle()
    before = stack.dynamodb_work()["items_examined"]
    # When one group is queried through the index
    assert len(in_index("g7")) == 20
    # Then only its 20 items were examined, not the table's 2,000
    after_index = stack.dynamodb_work()["items_examined"]
    assert after_index - before == 20
    # And a query on one partition key examines that partition only
    found = client.query(
        TableName=TABLE, KeyConditionExpression="pk = :p", ExpressionAttributeValues={":p": {"S": "p3"}}
    )["Items"]
    assert len(found) == 20
    assert stack.dynamodb_work()["items_examined"] - after_index == 20
    # While a scan, as on AWS, reads everything (so the counter counts real work)
    client.scan(TableName=TABLE, Select="COUNT")
    assert stack.dynamodb_work()["items_examined"] - after_index - 20 == 2000


def test_the_index_follows_updates_that_change_an_item_s_index_key(stack: StackControl, table: str) -> None:
    stack.eventual_consistency()
    put("a", 1, group="old")
    boto3.client("dynamodb").update_item(
        TableName=TABLE,
        Key=key("a"),
        UpdateExpression="SET #g = :g",
        ExpressionAttributeNames={"#g": "group"},
        ExpressionAttributeValues={":g": {"S": "new"}},
    )
    assert (in_index("old"), in_index("new")) == ({}, {"a": 1})
    boto3.client("dynamodb").update_item(
        TableName=TABLE, Key=key("a"), UpdateExpression="REMOVE #g", ExpressionAttributeNames={"#g": "group"}
    )
    assert in_index("new") == {}


@pytest.mark.parametrize("write", ["put", "transaction"])
def test_an_item_over_the_size_limit_is_refused_and_one_under_it_is_kept(
    stack: StackControl, table: str, write: str
) -> None:
    # The stack builds items at once, checking DynamoDB's 400 KB once per item rather than per attribute
    client = boto3.client("dynamodb")

    def written(name: str, kilobytes: int) -> None:
        large = {**item(name, 1), "a": {"S": "x" * 200_000}, "b": {"S": "y" * (kilobytes * 1000 - 200_000)}}
        if write == "put":
            client.put_item(TableName=table, Item=large)
        else:
            client.transact_write_items(TransactItems=[{"Put": {"TableName": table, "Item": large}}])

    written("under", 390)
    with pytest.raises(ClientError, match="Item size has exceeded the maximum allowed size"):
        written("over", 420)
    stored = client.get_item(TableName=table, Key=key("under"), ConsistentRead=True)["Item"]
    assert len(stored["a"]["S"]) + len(stored["b"]["S"]) == 390_000
    assert "Item" not in client.get_item(TableName=table, Key=key("over"), ConsistentRead=True)
