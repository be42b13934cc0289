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
