"""Shared fixtures: the local AWS stack, started in-process on a free loopback port."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from localaws.control import StackControl
from localaws.stack import LocalStack
from tests.support.aws_calls import AWS_CALLS

TEST_ENVIRONMENT = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_REGION": "us-east-1",
    # botocore >= 1.44 resolves account-based endpoints; the local stack has none.
    "AWS_ACCOUNT_ID_ENDPOINT_MODE": "disabled",
}


@pytest.fixture(scope="session")
def local_stack() -> Iterator[LocalStack]:
    """One stack for the session; `AWS_ENDPOINT_URL` points every SDK client at it."""
    stack = LocalStack(port=0).start()
    saved = {k: os.environ.get(k) for k in [*TEST_ENVIRONMENT, "AWS_ENDPOINT_URL"]}
    os.environ.update(TEST_ENVIRONMENT, AWS_ENDPOINT_URL=stack.endpoint_url)
    AWS_CALLS.install()
    try:
        yield stack
    finally:
        stack.stop()
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


@pytest.fixture
def stack(local_stack: LocalStack) -> Iterator[StackControl]:
    """A clean stack for one test: every emulator and moto state reset before it runs."""
    control = StackControl(local_stack.endpoint_url)
    control.reset()
    yield control
    control.clear_faults()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Each tier is marked by its folder, so `-m unit` / `-m integration` select it."""
    for item in items:
        for tier in ("unit", "integration", "e2e"):
            if f"/tests/{tier}/" in str(item.path):
                item.add_marker(getattr(pytest.mark, tier))
