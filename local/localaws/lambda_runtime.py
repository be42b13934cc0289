"""Deploy the template's table, topic and archive bucket into the local stack, and run the real handler as Lambda
would: the template's Handler and CodeUri, the layer on the path, the template's environment, a
fresh import per cold start.

Tests deploy under random names, so that each starts clean; `make invoke` and `make sam-invoke`
deploy under the names env.json gives the function (`deploy_as_env_json`), idempotently, so that
the in-process handler and the one `sam local invoke` runs share one table and topic.
"""

from __future__ import annotations

import importlib.util
import json
import os
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

import boto3

from .template import ROOT, function_environment, parameter_defaults, resolve, resolve_all, resource, table_definition

FUNCTION = "ScanNumbersFunction"
ACCOUNT = "123456789012"
REGION = "us-east-1"
ENV_JSON = ROOT / "env.json"
# What a client of the local stack needs besides AWS_ENDPOINT_URL: dummy credentials (never a real
# account's), a Region, and no account-based endpoints (botocore >= 1.44 would resolve them).
CLIENT_ENVIRONMENT = {
    "AWS_ACCESS_KEY_ID": "local",
    "AWS_SECRET_ACCESS_KEY": "local",
    "AWS_REGION": REGION,
    "AWS_DEFAULT_REGION": REGION,
    "AWS_ACCOUNT_ID_ENDPOINT_MODE": "disabled",
}
PEOPLE_FILTER = resource("AlertEmailSubscription")["Properties"]["FilterPolicy"]


@dataclass
class LambdaContext:
    """The parts of Lambda's context object the handler uses."""

    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    function_name: str = "scan-numbers"
    memory_limit_in_mb: int = 256
    timeout_seconds: float = 900.0
    started: float = field(default_factory=time.monotonic)

    @property
    def invoked_function_arn(self) -> str:
        return f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:{self.function_name}"

    def get_remaining_time_in_millis(self) -> int:
        return int((self.timeout_seconds - (time.monotonic() - self.started)) * 1000)


def use_local_stack(endpoint_url: str) -> None:
    """Point this process's SDK at the local stack with dummy credentials: a profile or session
    token from the shell would otherwise win over them, and real credentials have no business here."""
    for name in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_SESSION_TOKEN"):
        os.environ.pop(name, None)
    os.environ.update({**CLIENT_ENVIRONMENT, "AWS_ENDPOINT_URL": endpoint_url})


@contextmanager
def environment(variables: dict[str, str]) -> Iterator[None]:
    saved = {k: os.environ.get(k) for k in variables}
    os.environ.update(variables)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def cold_start(env: dict[str, str]) -> ModuleType:
    """Import the handler module afresh under `env`, as a new Lambda container would."""
    properties = resource(FUNCTION)["Properties"]
    module_name, _ = properties["Handler"].split(".")
    path = ROOT / properties["CodeUri"] / f"{module_name}.py"
    name = f"handler_{uuid.uuid4().hex}"
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    # A new container imports the layer afresh too (Powertools reads its environment at import).
    for loaded in [m for m in sys.modules if m == "numberwatch" or m.startswith("numberwatch.")]:
        del sys.modules[loaded]
    with environment(env):
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return module


class FunctionHost:
    """One deployed function as Lambda runs it when something (Step Functions) invokes it: cold-started
    on the first invocation, then warm. One invocation at a time: Lambda would run concurrent ones in
    containers of their own (processes), and in one process Powertools' metrics are shared."""

    def __init__(self, env: dict[str, str]) -> None:
        self.env = env
        self._lock = threading.Lock()
        self._module: ModuleType | None = None
        # Each invocation's event and duration in seconds (Lambda's REPORT line), waiting left out.
        self.durations: list[tuple[Any, float]] = []

    @property
    def invocations(self) -> int:
        return len(self.durations)

    def invoke(self, event: Any) -> Any:
        with self._lock:
            if self._module is None:
                self._module = cold_start(self.env)
            started = time.perf_counter()
            try:
                with environment(self.env):
                    return self._module.lambda_handler(event, LambdaContext())
            finally:
                self.durations.append((event, time.perf_counter() - started))


@dataclass
class Deployment:
    """The stack's table, topics and archive bucket in the local stack, with two SQS subscribers:
    `machines` gets everything, `people` only what the email subscription's filter lets through."""

    table: str
    topic_arn: str
    machines_queue: str
    people_queue: str
    env: dict[str, str]
    archive_bucket: str = ""
    chat_queue: str = ""  # an SQS subscriber of the chat topic, as Chatbot would be

    def invoke(self, event: dict[str, Any], context: LambdaContext | None = None, **overrides: str) -> dict[str, Any]:
        env = {**self.env, **overrides}
        module = cold_start(env)
        with environment(env):
            result: dict[str, Any] = module.lambda_handler(event, context or LambdaContext())
        return result

    def received(self, queue: str) -> list[dict[str, Any]]:
        """Every SQS message a subscriber got since the last call: body parsed, attributes flattened."""
        sqs = boto3.client("sqs")
        messages: list[dict[str, Any]] = []
        while True:
            batch = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10, WaitTimeSeconds=0).get("Messages", [])
            if not batch:
                return messages
            for message in batch:
                envelope = json.loads(message["Body"])
                messages.append(
                    {
                        "subject": envelope.get("Subject"),
                        "body": json.loads(envelope["Message"]),
                        "attributes": {k: v["Value"] for k, v in envelope.get("MessageAttributes", {}).items()},
                    }
                )
                sqs.delete_message(QueueUrl=queue, ReceiptHandle=message["ReceiptHandle"])

    def items(self) -> list[dict[str, Any]]:
        """Every item of the table as it is now (a consistent scan, whatever the stack's consistency mode)."""
        paginator = boto3.client("dynamodb").get_paginator("scan")
        pages = paginator.paginate(TableName=self.table, ConsistentRead=True)
        return [item for page in pages for item in page["Items"]]


def create_archive_bucket() -> str:
    """The template's archive bucket: Object Lock with the template's default mode and retention, versioned."""
    s3 = boto3.client("s3")
    bucket = f"evidence-{uuid.uuid4().hex[:8]}"
    s3.create_bucket(Bucket=bucket, ObjectLockEnabledForBucket=True)
    lock = resource("ArchiveBucket")["Properties"]["ObjectLockConfiguration"]
    defaults = parameter_defaults()
    retention = {
        "Mode": resolve(lock["Rule"]["DefaultRetention"]["Mode"], defaults),
        "Days": int(resolve(lock["Rule"]["DefaultRetention"]["Days"], defaults)),
    }
    s3.put_object_lock_configuration(
        Bucket=bucket,
        ObjectLockConfiguration={"ObjectLockEnabled": "Enabled", "Rule": {"DefaultRetention": retention}},  # type: ignore[typeddict-item]
    )
    return bucket


def deploy(
    regions: str = "us-east-1,us-west-2",
    table: str | None = None,
    topic: str | None = None,
    chat: bool = True,
    **refs: Any,
) -> Deployment:
    """The table (from the template's key schema) and topic, each under its name if given (kept if it
    exists), else a random one; an SQS subscriber for machines and one behind the email filter; with `chat`, the
    chat topic and a subscriber where Chatbot would be."""
    dynamodb, sns, sqs = boto3.client("dynamodb"), boto3.client("sns"), boto3.client("sqs")
    table = table or f"numbers-{uuid.uuid4().hex[:8]}"
    try:
        dynamodb.describe_table(TableName=table)
    except dynamodb.exceptions.ResourceNotFoundException:
        dynamodb.create_table(TableName=table, **table_definition())
    topic = topic or f"numbers-{uuid.uuid4().hex[:8]}"
    topic_arn = sns.create_topic(Name=topic)["TopicArn"]  # CreateTopic returns the existing one
    subscribed = {s["Endpoint"] for s in sns.list_subscriptions_by_topic(TopicArn=topic_arn)["Subscriptions"]}
    queues = {}
    people = resolve_all(PEOPLE_FILTER, {**parameter_defaults(), **refs})
    for name, policy in (("machines", None), ("people", people)):
        url = sqs.create_queue(QueueName=f"{topic}-{name}")["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        attributes = {"FilterPolicy": json.dumps(policy), "FilterPolicyScope": "MessageAttributes"} if policy else {}
        if arn not in subscribed:
            sns.subscribe(TopicArn=topic_arn, Protocol="sqs", Endpoint=arn, Attributes=attributes)
        queues[name] = url
    chat_arn, chat_queue = _chat_subscriber(f"{topic}-chat") if chat else ("", "")
    archive_bucket = create_archive_bucket()
    env = function_environment(
        FUNCTION,
        {
            "SnapshotTable": table,
            "NumberTopic": topic_arn,
            "ChatTopic": chat_arn,
            "ArchiveBucket": archive_bucket,
            "AWS::Region": REGION,
            "ScanRegions": regions,
            **refs,
        },
    )
    env.update(POWERTOOLS_TRACE_DISABLED="true", POWERTOOLS_METRICS_NAMESPACE="ConnectNumberWatch")
    return Deployment(table, topic_arn, queues["machines"], queues["people"], env, archive_bucket, chat_queue)


def _chat_subscriber(name: str) -> tuple[str, str]:
    """The chat topic, and an SQS queue subscribed to it where Chatbot would be."""
    sns, sqs = boto3.client("sns"), boto3.client("sqs")
    topic_arn = sns.create_topic(Name=name)["TopicArn"]
    queue = sqs.create_queue(QueueName=name)["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    if queue_arn not in {s["Endpoint"] for s in sns.list_subscriptions_by_topic(TopicArn=topic_arn)["Subscriptions"]}:
        sns.subscribe(TopicArn=topic_arn, Protocol="sqs", Endpoint=queue_arn)
    return topic_arn, queue


def env_json() -> dict[str, str]:
    """The function's variables in env.json, what `sam local invoke --env-vars env.json` sets."""
    variables: dict[str, str] = json.loads(ENV_JSON.read_text())[FUNCTION]
    return variables


def deploy_as_env_json() -> Deployment:
    """The table and topic env.json names (idempotent), as `make invoke` and `make sam-invoke` use them; env.json
    names no chat topic, so there is none."""
    variables = env_json()
    return deploy(
        regions=variables["SCAN_REGIONS"],
        table=variables["TABLE_NAME"],
        topic=variables["TOPIC_ARN"].split(":")[-1],
        chat=False,
    )
