"""Integration tests talk to the local AWS stack over loopback HTTP (the stack fixtures are in tests/conftest.py)."""

from __future__ import annotations

import pytest

from localaws.control import StackControl
from localaws.lambda_runtime import Deployment, deploy
from tests.support.estate import Estate


@pytest.fixture
def estate(stack: StackControl) -> Estate:
    """A small Connect estate, built through the public API for one test."""
    return Estate(stack)


@pytest.fixture
def deployment(stack: StackControl) -> Deployment:
    """The template's table and topic in the local stack, with an SQS subscriber for machines and one for people."""
    return deploy()
