"""The environment every test that talks to a local stack runs in."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from localaws.aws_calls import AWS_CALLS
from localaws.lambda_runtime import environment
from localaws.stack import LocalStack

TEST_ENVIRONMENT = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_REGION": "us-east-1",
    # botocore >= 1.44 resolves account-based endpoints; the local stack has none.
    "AWS_ACCOUNT_ID_ENDPOINT_MODE": "disabled",
}


@contextmanager
def pointed_at(stack: LocalStack) -> Iterator[None]:
    """Test credentials, and every SDK client pointed at `stack` through AWS_ENDPOINT_URL."""
    AWS_CALLS.install()
    with environment({**TEST_ENVIRONMENT, "AWS_ENDPOINT_URL": stack.endpoint_url}):
        yield
