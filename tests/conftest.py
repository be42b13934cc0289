"""Shared fixtures: the local AWS stack, started in-process on a free loopback port."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from localaws.control import StackControl
from localaws.stack import LocalStack
from tests.support.environment import pointed_at


@pytest.fixture(scope="session")
def local_stack() -> Iterator[LocalStack]:
    """One stack for the session, on a free loopback port."""
    stack = LocalStack(port=0).start()
    try:
        with pointed_at(stack):
            yield stack
    finally:
        stack.stop()


# DynamoDB as AWS is, not as moto is: every integration test runs with reads that trail the writes.
# Counted in writes, so what a test sees never depends on timing. A global secondary index trails
# by some tens of writes (more than a run's small writes at the end, fewer than one transaction of
# 99 numbers); a base-table read without ConsistentRead by a few.
INDEX_LAG_WRITES = 40
BASE_LAG_WRITES = 3


@pytest.fixture
def stack(local_stack: LocalStack) -> Iterator[StackControl]:
    """A clean stack for one test: every emulator and moto state reset, DynamoDB eventually consistent."""
    control = StackControl(local_stack.control_url)
    control.reset()
    control.eventual_consistency(index_lag_writes=INDEX_LAG_WRITES, base_lag_writes=BASE_LAG_WRITES)
    yield control
    control.clear_faults()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Each tier is marked by its folder, so `-m unit` / `-m integration` select it."""
    for item in items:
        for tier in ("unit", "integration", "e2e", "browser"):
            if f"/tests/{tier}/" in str(item.path):
                item.add_marker(getattr(pytest.mark, tier))
