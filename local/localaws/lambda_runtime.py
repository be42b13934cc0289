"""Deploy the template's table, topic and archive bucket into the local stack, and run the real handler as Lambda
would: the template's Handler and CodeUri, the layer on the path, the template's environment, a
fresh import per cold start.
"""

from __future__ import annotations

import importlib.util
import json
import os
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

import boto3

from .template import ROOT, function_environment, parameter_defaults, resolve, resource, table_definition

FUNCTION = "ScanNumbersFunction"
ACCOUNT = "123456789012"
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


@dataclass
class Deployment:
    """The stack's table, topic and archive bucket in the local stack, with two SQS subscribers:
    `machines` gets everything, `people` only what the email subscription's filter lets through."""

    table: str
    topic_arn: str
    machines_queue: str
    people_queue: str
    env: dict[str, str]
    archive_bucket: str = ""

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


def deploy(regions: str = "us-east-1,us-west-2", **refs: Any) -> Deployment:
    dynamodb, sns, sqs = boto3.client("dynamodb"), boto3.client("sns"), boto3.client("sqs")
    table = f"numbers-{uuid.uuid4().hex[:8]}"
    dynamodb.create_table(TableName=table, **table_definition())
    topic_arn = sns.create_topic(Name=f"numbers-{uuid.uuid4().hex[:8]}")["TopicArn"]
    queues = {}
    for name, policy in (("machines", None), ("people", PEOPLE_FILTER)):
        url = sqs.create_queue(QueueName=f"{name}-{uuid.uuid4().hex[:8]}")["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        attributes = {"FilterPolicy": json.dumps(policy), "FilterPolicyScope": "MessageAttributes"} if policy else {}
        sns.subscribe(TopicArn=topic_arn, Protocol="sqs", Endpoint=arn, Attributes=attributes)
        queues[name] = url
    archive_bucket = create_archive_bucket()
    env = function_environment(
        FUNCTION,
        {
            "SnapshotTable": table,
            "NumberTopic": topic_arn,
            "ArchiveBucket": archive_bucket,
            "AWS::Region": "us-east-1",
            "ScanRegions": regions,
            **refs,
        },
    )
    env.update(POWERTOOLS_TRACE_DISABLED="true", POWERTOOLS_METRICS_NAMESPACE="ConnectNumberWatch")
    return Deployment(table, topic_arn, queues["machines"], queues["people"], env, archive_bucket)
