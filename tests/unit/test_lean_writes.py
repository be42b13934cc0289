"""TransactWriteItems written leanly: the request DynamoDB receives is the one botocore would have sent,
built without botocore's walk of every item (no network: each request is answered before it is sent)."""

from __future__ import annotations

import io
import json
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import boto3
import botocore.endpoint
import pytest
import urllib3
from botocore.awsrequest import AWSResponse, HTTPHeaders
from botocore.config import Config

from numberwatch.adapters.dynamodb import DynamoSnapshotStore, write_transactions_leanly
from numberwatch.dependencies import AwsClients
from numberwatch.events import OutboxMessage
from numberwatch.fingerprint import entries_by_bucket
from numberwatch.models import EventType, RunStatus, SnapshotNumber
from numberwatch.ports import (
    DeleteTarget,
    Mutation,
    PutBucket,
    PutMessage,
    PutNumber,
    PutRun,
    PutScope,
    PutTarget,
    RunRecord,
    ScopeRecord,
)
from numberwatch.settings import Settings
from tests.unit.factories import ACCOUNT, instance, number, record, tdg
from tests.unit.test_scan_service import ENVIRONMENT

# Headers that differ between any two requests: the signature, its date, the SDK's invocation id.
PER_REQUEST = {"Authorization", "X-Amz-Date", "amz-sdk-invocation-id", "Content-Length"}


def every_kind_of_mutation() -> list[Mutation]:
    """One of each item the adapter writes, with text a contact center could put in Connect."""
    target = instance()
    described = number(1, target, description='<b>Main</b> "line" \u202e\u00e9\U0001f4de', source_arn=None)
    tagged = SnapshotNumber(replace(described, tags=(("cost-centre", "\u00e9t\u00e9"), ("empty", ""))), 3)
    released = SnapshotNumber(number(2, target), 4, released=True)
    entries = entries_by_bucket([described, number(3, target)])
    bucket, held = next(iter(entries.items()))
    message = OutboxMessage(
        message_id="m-1", event_type=EventType.NUMBER_CHANGE, run_id="run-1", created_at="2026-11-28T06:00:00Z",
        body={"change_type": "CLAIMED", "nested": {"list": [1, 2.5, None, True]}}, email_text="CLAIMED \u00e9",
        subject="Connect numbers", attributes={"event_type": "NUMBER_CHANGE"}, number_arn=described.arn,
        expires_at=1_800_000_000,
    )  # fmt: skip
    return [
        PutNumber(tagged),
        PutNumber(released, expires_at=1_800_000_000),
        PutBucket(target, bucket, held),
        PutBucket(target, "ff", {}),
        PutTarget(record(target, [described])),
        DeleteTarget(tdg()),
        PutScope(ScopeRecord(ACCOUNT, "us-east-1", baseline_complete=True, full_runs=7, refresh_from=12)),
        PutRun(RunRecord(ACCOUNT, "run-1", datetime(2026, 11, 28, 6, tzinfo=UTC), RunStatus.COMPLETED, {"a": 1})),
        PutMessage(message),
    ]


ITEMS = len(every_kind_of_mutation()) + 1  # and the lease's check


def write_every_kind_of_item(client: Any) -> None:
    store = DynamoSnapshotStore(client, "numbers", clock=lambda: 1_790_000_000)
    store.write(ACCOUNT, "run-1", every_kind_of_mutation())


def sent_by(client: Any, *answers: tuple[int, bytes]) -> list[dict[str, Any]]:
    """Every request `client` sends, answered before it leaves (no network): the nth with the nth of
    `answers`, the last one repeated (by default 200 with `{}`)."""
    sent: list[dict[str, Any]] = []
    answers = answers or ((200, b"{}"),)

    def answer(request: Any, **_: Any) -> AWSResponse:
        status, body = answers[min(len(sent), len(answers) - 1)]
        sent.append({"url": request.url, "headers": dict(request.headers), "body": request.body})
        raw = urllib3.HTTPResponse(body=io.BytesIO(body), status=status, headers={}, preload_content=False)
        return AWSResponse(request.url, status, HTTPHeaders.from_dict({"x-amzn-RequestId": "r"}), raw)

    client.meta.events.register("before-send.dynamodb", answer)
    return sent


def dynamodb(attempts: int = 1, **credentials: str) -> Any:
    return boto3.client(
        "dynamodb", region_name="eu-west-2", aws_access_key_id="x", aws_secret_access_key="x",
        config=Config(parameter_validation=False, retries={"total_max_attempts": attempts, "mode": "standard"}),
        **credentials,
    )  # fmt: skip


@pytest.mark.parametrize("credentials", [{}, {"aws_account_id": ACCOUNT}], ids=["no-account-id", "account-id"])
def test_a_transaction_written_leanly_is_the_request_botocore_would_send(
    credentials: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a plain client and a lean one, with no endpoint of the local stack: botocore's own rules
    # choose the endpoint (with an account id, DynamoDB's account-based one)
    for name in ("AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_DYNAMODB"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCOUNT_ID_ENDPOINT_MODE", "preferred")  # AWS's default (the local stack's is off)
    plain, lean = dynamodb(**credentials), write_transactions_leanly(dynamodb(**credentials))
    requests = [sent_by(plain), sent_by(lean)]
    serialized = serialized_by_botocore(lean)
    # When each writes the same transaction, one of every kind of item
    for client in (plain, lean):
        write_every_kind_of_item(client)
    (plain_request,), (lean_request,) = requests
    # Then both go to the same endpoint with the same headers (but those of the request itself)
    assert lean_request["url"] == plain_request["url"]
    assert bool(credentials) == (ACCOUNT in plain_request["url"])
    assert {k: v for k, v in lean_request["headers"].items() if k not in PER_REQUEST} == {
        k: v for k, v in plain_request["headers"].items() if k not in PER_REQUEST
    }
    assert int(lean_request["headers"]["Content-Length"]) == len(lean_request["body"])
    # And the same body: every item, bytes in base64, and an idempotency token each
    plain_body, lean_body = json.loads(plain_request["body"]), json.loads(lean_request["body"])
    assert plain_body.pop("ClientRequestToken") and lean_body.pop("ClientRequestToken")
    assert len(lean_body["TransactItems"]) == ITEMS
    assert lean_body == plain_body
    # And botocore's serializer walked the lease's check alone
    assert [len(json.loads(body)["TransactItems"]) for body in serialized] == [1]


def serialized_by_botocore(client: Any) -> list[bytes]:
    """The bodies botocore's serializer writes for `client`'s transactions (seen before ours replaces them)."""
    serialized: list[bytes] = []
    client.meta.events.register_first(
        "before-call.dynamodb.TransactWriteItems", lambda params, **_: serialized.append(params["body"])
    )
    return serialized


def test_a_retried_transaction_sends_the_same_body_and_token_again(monkeypatch: pytest.MonkeyPatch) -> None:
    # Given a lean client whose first answer is a throttle (and a retry that does not wait for it)
    monkeypatch.setattr(botocore.endpoint.time, "sleep", lambda seconds: None)
    lean = write_transactions_leanly(dynamodb(attempts=2))
    sent = sent_by(lean, (400, b'{"__type": "ThrottlingException"}'), (200, b"{}"))
    # When it writes a transaction, then it sent it twice, the same, with all its items
    write_every_kind_of_item(lean)
    bodies = [request["body"] for request in sent]
    assert len(bodies) == 2 and bodies[0] == bodies[1]
    assert len(json.loads(bodies[0])["TransactItems"]) == ITEMS


def test_the_function_s_dynamodb_client_writes_transactions_leanly(monkeypatch: pytest.MonkeyPatch) -> None:
    # Given the function's clients (with credentials of their own: none is looked for on the network)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "x")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "x")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    client = AwsClients(Settings.from_environment(ENVIRONMENT)).dynamodb
    serialized, sent = serialized_by_botocore(client), sent_by(client)
    # When it writes a transaction, then botocore serialized its first item alone, and all of them were sent
    write_every_kind_of_item(client)
    assert len(json.loads(serialized[0])["TransactItems"]) == 1
    assert len(json.loads(sent[0]["body"])["TransactItems"]) == ITEMS


def test_a_client_that_validates_requests_still_writes_every_item() -> None:
    # Given a lean client that validates what botocore serializes
    client = write_transactions_leanly(
        boto3.client("dynamodb", region_name="eu-west-2", aws_access_key_id="x", aws_secret_access_key="x")
    )
    sent = sent_by(client)
    # When it writes a transaction, then it is sent whole
    write_every_kind_of_item(client)
    assert len(json.loads(sent[0]["body"])["TransactItems"]) == ITEMS
