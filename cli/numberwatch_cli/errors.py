"""The command line's exit codes, and the one error type that carries a message and a code.

0: done, nothing to report. 1: done, and it found something a person should look at (a broken chain,
unrouted numbers, messages waiting, a partial scan). 2: it could not do what was asked (usage, a stack
or credentials it cannot find, a date before the archive): the message says what to do.
"""

from __future__ import annotations

from enum import IntEnum


class Exit(IntEnum):
    OK = 0
    FINDINGS = 1
    USAGE = 2


class CliError(Exception):
    """Stops a command with `message` (what went wrong and what to do) and `code`."""

    def __init__(self, message: str, code: Exit = Exit.USAGE) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
