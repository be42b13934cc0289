"""CPU of one TransactWriteItems of 99 numbers and the lease's check (a baseline writes one a hundred
numbers) through a boto3 client, botocore's serializer against `write_transactions_leanly` (figures only;
the answer is handed to the client in memory, so only the SDK's work and ours is timed: request signing
included, the HTTP connection not). Each run's figures are kept in benchmarks/results/transaction-write.json.

    PYTHONPATH=layers/numberwatch:. python -m benchmarks.transaction_write [--transactions 300] [--runs 3]
"""

from __future__ import annotations

import argparse
import math
from typing import Any

import boto3
from botocore.config import Config

from benchmarks.listing_parse import answered_in_memory, cpu_ms_per_call, save
from numberwatch.adapters.dynamodb import DynamoSnapshotStore, write_transactions_leanly
from numberwatch.models import PhoneNumber, SnapshotNumber
from numberwatch.ports import Mutation, PutNumber

ACCOUNT = "123456789012"
ARN = f"arn:aws:connect:us-east-1:{ACCOUNT}"


def numbers(count: int) -> list[Mutation]:
    return [
        PutNumber(SnapshotNumber(PhoneNumber(
            arn=f"{ARN}:phone-number/{i:036d}", id=f"{i:036d}", number=f"+1555{i:07d}", country="US", type="DID",
            target_arn=f"{ARN}:instance/bench", instance_id="bench", description=f"line {i}", source_arn=None,
        ), version=1))
        for i in range(count)
    ]  # fmt: skip


def cpu_ms_per_transaction(lean: bool, transactions: int) -> float:
    client: Any = boto3.client(
        "dynamodb", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x",
        config=Config(parameter_validation=False),  # as the function's client
    )  # fmt: skip
    answered_in_memory(client, b"{}")
    store = DynamoSnapshotStore(write_transactions_leanly(client) if lean else client, "bench")
    mutations = numbers(store.max_items_per_write)
    return cpu_ms_per_call(lambda: store.write(ACCOUNT, "bench", mutations), transactions)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--transactions", type=int, default=300)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args(argv)
    per_transaction = DynamoSnapshotStore.max_items_per_write
    baseline = math.ceil(100_000 / per_transaction)
    runs = []
    for _ in range(args.runs):
        plain = cpu_ms_per_transaction(False, args.transactions)
        lean = cpu_ms_per_transaction(True, args.transactions)
        print(
            f"CPU per transaction of {per_transaction} numbers: botocore's serializer {plain:.2f} ms,"
            f" lean {lean:.2f} ms"
        )
        print(
            f"100,000 numbers written ({baseline:,} transactions of {per_transaction}; a baseline writes its"
            f" bucket and target items too): {plain * baseline / 1000:.2f} s against {lean * baseline / 1000:.2f} s"
        )
        runs.append((plain, lean))
    save("transaction-write", f"transaction of {per_transaction} numbers", runs)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
