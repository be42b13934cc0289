"""What the stack's own emulators (Connect, CloudTrail) take from botocore's service models: validation of
a request against its operation's input shape, and the error they answer.

Validation is generic over the shapes (required, type, min/max, enum, pattern), so an emulator answers
exactly the constraints the real service documents. Which error a violation is depends on the service
(Connect: the operation's InvalidParameterException; CloudTrail: one error per parameter), so the
validator asks its emulator, naming the top-level parameter at fault. Patterns are Java regular
expressions: they are compiled with `regex`, which knows Java's Unicode classes (`\\p{L}`, `\\p{Z}`,
`\\p{N}`, `\\p{C}`) as Python's `re` does not.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

import regex
from botocore.model import OperationModel


class ApiError(Exception):
    """An error answered in the service's wire shape; `status` None: the one its model gives."""

    def __init__(self, code: str, message: str, status: int | None = None, **extra: Any) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.status = status
        self.extra = extra


def compile_pattern(raw: str) -> regex.Pattern[str] | None:
    """A model pattern as the service applies it; botocore writes some with doubled backslashes."""
    try:
        return regex.compile(raw.replace("\\\\", "\\"))
    except regex.error:
        return None


# (operation, the top-level parameter at fault, message) -> the error the service answers
Invalid = Callable[[OperationModel, str, str], ApiError]


class ShapeValidator:
    def __init__(self, invalid: Invalid) -> None:
        self.invalid = invalid
        self._patterns: dict[str, regex.Pattern[str] | None] = {}

    def validate(self, operation: OperationModel, params: dict[str, Any]) -> None:
        shape = operation.input_shape
        if shape is not None:
            self._structure(operation, shape, params, "", "")

    def pattern(self, raw: str) -> regex.Pattern[str] | None:
        if raw not in self._patterns:
            self._patterns[raw] = compile_pattern(raw)
        return self._patterns[raw]

    def _structure(self, op: OperationModel, shape: Any, value: Any, path: str, member: str) -> None:
        if not isinstance(value, dict):
            raise self.invalid(op, member, f"{path or 'input'} must be an object")
        for required in shape.required_members:
            if value.get(required) is None:
                raise self.invalid(op, member or required, f"{path}{required} is required")
        for name, child in shape.members.items():
            if name in value and value[name] is not None:
                self._value(op, child, value[name], f"{path}{name}", member or name)

    def _value(self, op: OperationModel, shape: Any, value: Any, path: str, member: str) -> None:
        kind = shape.type_name
        meta = shape.metadata
        if kind == "string":
            if not isinstance(value, str):
                raise self.invalid(op, member, f"{path} must be a string")
            if "min" in meta and len(value) < meta["min"]:
                raise self.invalid(op, member, f"{path} must be at least {meta['min']} characters")
            if "max" in meta and len(value) > meta["max"]:
                raise self.invalid(op, member, f"{path} must be at most {meta['max']} characters")
            if shape.enum and value not in shape.enum:
                raise self.invalid(op, member, f"{path} has an invalid value: {value!r}")
            if "pattern" in meta:
                pattern = self.pattern(meta["pattern"])
                if pattern is not None and not pattern.fullmatch(value):
                    raise self.invalid(op, member, f"{path} does not match the pattern {pattern.pattern}")
        elif kind in ("integer", "long"):
            if isinstance(value, bool) or not isinstance(value, int):
                raise self.invalid(op, member, f"{path} must be an integer")
            if "min" in meta and value < meta["min"]:
                raise self.invalid(op, member, f"{path} must be at least {meta['min']}")
            if "max" in meta and value > meta["max"]:
                raise self.invalid(op, member, f"{path} must be at most {meta['max']}")
        elif kind == "boolean":
            if not isinstance(value, bool):
                raise self.invalid(op, member, f"{path} must be a boolean")
        elif kind == "timestamp":
            if not isinstance(value, datetime):
                raise self.invalid(op, member, f"{path} must be a timestamp")
        elif kind == "list":
            if not isinstance(value, list):
                raise self.invalid(op, member, f"{path} must be a list")
            self._count(op, meta, len(value), path, member)
            for index, item in enumerate(value):
                self._value(op, shape.member, item, f"{path}[{index}]", member)
        elif kind == "map":
            if not isinstance(value, dict):
                raise self.invalid(op, member, f"{path} must be a map")
            self._count(op, meta, len(value), path, member)
            for key, item in value.items():
                self._value(op, shape.key, key, f"{path} key", member)
                self._value(op, shape.value, item, f"{path}.{key}", member)
        elif kind == "structure":
            self._structure(op, shape, value, f"{path}.", member)

    def _count(self, op: OperationModel, meta: dict[str, Any], count: int, path: str, member: str) -> None:
        if "min" in meta and count < meta["min"]:
            raise self.invalid(op, member, f"{path} must have at least {meta['min']} items")
        if "max" in meta and count > meta["max"]:
            raise self.invalid(op, member, f"{path} must have at most {meta['max']} items")
