"""The kill switch the unit and integration tests share: a service checkpoint that dies at a named step."""

from __future__ import annotations

from collections.abc import Callable


class Crash(Exception):
    """The invocation dies here, as a Lambda that timed out or was killed would."""


def crash_at(step: str) -> Callable[[str], None]:
    """A service checkpoint that kills the invocation at `step`."""

    def checkpoint(name: str) -> None:
        if name == step:
            raise Crash(name)

    return checkpoint
