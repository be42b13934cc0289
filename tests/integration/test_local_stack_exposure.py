"""What the local stack serves over HTTP, and what it refuses: only the AWS services the project
uses (never moto's container-running ones), bounded seeding, bounded request bodies."""

from __future__ import annotations

import http.client
import json
import os
from collections.abc import Callable
from typing import Any
from urllib.parse import urlparse

import boto3
import pytest
from botocore.exceptions import ClientError

from localaws.connect.app import MAX_SEED_COUNT
from localaws.control import ControlRefused, StackControl
from localaws.demo import create_instance
from localaws.guard import MAX_REQUEST_BYTES

REFUSED: dict[str, Callable[[], Any]] = {
    "ec2": lambda: boto3.client("ec2").describe_instances(),
    "batch": lambda: boto3.client("batch").describe_job_queues(),
    "ecs": lambda: boto3.client("ecs").list_clusters(),
    "ecr": lambda: boto3.client("ecr").describe_repositories(),
    "events": lambda: boto3.client("events").list_rules(),
}
SERVED: dict[str, Callable[[], Any]] = {
    "dynamodb": lambda: boto3.client("dynamodb").list_tables(),
    "dynamodbstreams": lambda: boto3.client("dynamodbstreams").list_streams(),
    "sns": lambda: boto3.client("sns").list_topics(),
    "sqs": lambda: boto3.client("sqs").list_queues(),
    "sts": lambda: boto3.client("sts").get_caller_identity(),
    "connect": lambda: boto3.client("connect").list_instances(),
    "s3": lambda: boto3.client("s3").list_buckets(),
    "kms": lambda: boto3.client("kms").list_keys(),
    "organizations": lambda: boto3.client("organizations").create_organization(FeatureSet="ALL"),
    "stepfunctions": lambda: boto3.client("stepfunctions").list_state_machines(),
    "iam": lambda: boto3.client("iam").list_roles(),
    "cloudformation": lambda: boto3.client("cloudformation").describe_stacks(),
}


@pytest.mark.parametrize("service", sorted(REFUSED))
def test_a_service_the_project_does_not_use_is_refused_with_a_clear_error(stack: StackControl, service: str) -> None:
    with pytest.raises(ClientError) as refused:
        REFUSED[service]()
    error = refused.value.response["Error"]
    assert (error["Code"], refused.value.response["ResponseMetadata"]["HTTPStatusCode"]) == ("ServiceNotServed", 403)
    assert f"does not serve '{service}'" in error["Message"]


@pytest.mark.parametrize("call", ["list_functions", "invoke"])
def test_moto_s_lambda_is_never_reached(stack: StackControl, call: str) -> None:
    client = boto3.client("lambda")
    with pytest.raises(ClientError) as refused:
        client.list_functions() if call == "list_functions" else client.invoke(FunctionName="f", Payload=b"{}")
    assert refused.value.response["Error"]["Code"] == "NotImplemented"
    assert "never by moto" in refused.value.response["Error"]["Message"]


@pytest.mark.parametrize("service", sorted(SERVED))
def test_the_services_the_project_uses_are_served(stack: StackControl, service: str) -> None:
    assert SERVED[service]()["ResponseMetadata"]["HTTPStatusCode"] == 200


def endpoint() -> tuple[str, int]:
    parsed = urlparse(os.environ["AWS_ENDPOINT_URL"])
    assert parsed.hostname is not None and parsed.port is not None
    return parsed.hostname, parsed.port


def test_an_unsigned_request_is_refused(stack: StackControl) -> None:
    connection = http.client.HTTPConnection(*endpoint(), timeout=10)
    connection.request("POST", "/", body="Action=ListQueues", headers={"Content-Type": "application/json"})
    response = connection.getresponse()
    assert (response.status, json.loads(response.read())["__type"]) == (403, "MissingAuthenticationToken")


def test_a_body_past_the_bound_is_refused_before_it_is_read(stack: StackControl) -> None:
    connection = http.client.HTTPConnection(*endpoint(), timeout=10)
    connection.putrequest("POST", "/")
    connection.putheader("Content-Length", str(MAX_REQUEST_BYTES + 1))
    connection.putheader("Content-Type", "application/json")
    connection.endheaders()
    connection.send(b"{}")
    response = connection.getresponse()
    assert response.status == 413
    assert f"at most {MAX_REQUEST_BYTES} bytes" in json.loads(response.read())["message"]


@pytest.mark.parametrize("count", [0, MAX_SEED_COUNT + 1, "12"])
def test_seeding_is_bounded_per_call(stack: StackControl, count: Any) -> None:
    stack.lift_quotas()
    instance = create_instance(boto3.client("connect"), "seeded")
    with pytest.raises(ControlRefused) as refused:
        stack.seed(account="123456789012", region="us-east-1", target_arn=instance["Arn"], count=count)
    assert refused.value.status == 400
    assert f"from 1 to {MAX_SEED_COUNT:,} per call" in refused.value.reason
