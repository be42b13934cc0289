"""The Amazon Connect REST-JSON wire protocol, driven by botocore's own service model.

Routing (method + requestUri), request parsing (URI labels, query string, JSON body) and
validation (required, type, min/max, enum, pattern) are generic over the model's shapes, so
the emulator answers exactly the paths, names and constraints the real service documents.
Patterns are Java regular expressions: they are compiled with `regex`, which knows Java's
Unicode classes (`\\p{L}`, `\\p{Z}`, `\\p{N}`, `\\p{C}`) as Python's `re` does not.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

import botocore.session
import regex
from botocore.model import OperationModel, Shape


class ApiError(Exception):
    """An error answered in the service's wire shape (`x-amzn-ErrorType` + JSON `Message`)."""

    def __init__(self, code: str, message: str, status: int | None = None, **extra: Any) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.status = status
        self.extra = extra


@dataclass(frozen=True)
class Route:
    operation: OperationModel
    method: str
    regex: re.Pattern[str]
    specificity: int


@dataclass
class ParsedRequest:
    operation: OperationModel
    params: dict[str, Any] = field(default_factory=dict)


def compile_pattern(raw: str) -> regex.Pattern[str] | None:
    """A model pattern as the service applies it; botocore writes some with doubled backslashes."""
    try:
        return regex.compile(raw.replace("\\\\", "\\"))
    except regex.error:
        return None


class ConnectProtocol:
    """Routes, parses and validates Connect requests; serialises errors."""

    def __init__(self) -> None:
        self.model = botocore.session.get_session().get_service_model("connect")
        self._patterns: dict[str, regex.Pattern[str] | None] = {}
        routes = []
        for name in self.model.operation_names:
            operation = self.model.operation_model(name)
            uri = operation.http["requestUri"].split("?", 1)[0]
            path_pattern = ""
            literal = 0
            for part in re.split(r"(\{[^}]+\})", uri):
                if part.startswith("{"):
                    path_pattern += "(.+)" if part.endswith("+}") else "([^/]+)"
                else:
                    path_pattern += re.escape(part)
                    literal += len(part)
            routes.append(Route(operation, operation.http["method"], re.compile(f"^{path_pattern}$"), literal))
        self._routes = sorted(routes, key=lambda r: -r.specificity)

    # ------------------------------------------------------------------ routing
    def route(self, method: str, path: str) -> tuple[OperationModel, list[str]] | None:
        for route in self._routes:
            if route.method != method:
                continue
            match = route.regex.match(path)
            if match:
                return route.operation, [unquote(g) for g in match.groups()]
        return None

    # ------------------------------------------------------------------ parsing
    def parse(
        self,
        operation: OperationModel,
        labels: list[str],
        query: dict[str, list[str]],
        headers: dict[str, str],
        body: bytes,
    ) -> dict[str, Any]:
        shape = operation.input_shape
        params: dict[str, Any] = {}
        if shape is None:
            return params
        label_names = re.findall(r"\{([^}+]+)\+?\}", operation.http["requestUri"].split("?")[0])
        by_label = dict(zip(label_names, labels, strict=False))
        body_members: dict[str, Any] = {}
        if body.strip():
            try:
                decoded = json.loads(body)
            except ValueError as exc:
                raise self.validation_error(operation, "Request body is not valid JSON") from exc
            if not isinstance(decoded, dict):
                raise self.validation_error(operation, "Request body must be a JSON object")
            body_members = decoded
        for member_name, member in shape.members.items():
            location = member.serialization.get("location")
            wire_name = member.serialization.get("name", member_name)
            if location == "uri":
                if wire_name in by_label:
                    params[member_name] = by_label[wire_name]
            elif location == "querystring":
                if wire_name in query:
                    values = query[wire_name]
                    if member.type_name == "list":
                        params[member_name] = values
                    else:
                        params[member_name] = self._coerce_text(operation, member_name, member, values[0])
            elif location == "header":
                for key, value in headers.items():
                    if key.lower() == wire_name.lower():
                        params[member_name] = self._coerce_text(operation, member_name, member, value)
            elif member_name in body_members:
                params[member_name] = body_members[member_name]
        return params

    def _coerce_text(self, operation: OperationModel, name: str, shape: Shape, text: str) -> Any:
        if shape.type_name in ("integer", "long"):
            try:
                return int(text)
            except ValueError as exc:
                raise self.validation_error(operation, f"{name} must be an integer") from exc
        if shape.type_name == "boolean":
            return text.lower() == "true"
        return text

    # --------------------------------------------------------------- validation
    def validation_error(self, operation: OperationModel, message: str) -> ApiError:
        """The operation's own validation error: InvalidParameter where it has one, else InvalidRequest."""
        names = {e.name for e in operation.error_shapes}
        code = "InvalidParameterException" if "InvalidParameterException" in names else "InvalidRequestException"
        return ApiError(code, message)

    def validate(self, operation: OperationModel, params: dict[str, Any]) -> None:
        shape = operation.input_shape
        if shape is not None:
            self._validate_structure(operation, shape, params, "")

    def _validate_structure(self, op: OperationModel, shape: Any, value: Any, path: str) -> None:
        if not isinstance(value, dict):
            raise self.validation_error(op, f"{path or 'input'} must be an object")
        for required in shape.required_members:
            if value.get(required) is None:
                raise self.validation_error(op, f"{path}{required} is required")
        for name, member in shape.members.items():
            if name in value and value[name] is not None:
                self._validate_value(op, member, value[name], f"{path}{name}")

    def _validate_value(self, op: OperationModel, shape: Any, value: Any, path: str) -> None:
        kind = shape.type_name
        meta = shape.metadata
        if kind == "string":
            if not isinstance(value, str):
                raise self.validation_error(op, f"{path} must be a string")
            if "min" in meta and len(value) < meta["min"]:
                raise self.validation_error(op, f"{path} must be at least {meta['min']} characters")
            if "max" in meta and len(value) > meta["max"]:
                raise self.validation_error(op, f"{path} must be at most {meta['max']} characters")
            if shape.enum and value not in shape.enum:
                raise self.validation_error(op, f"{path} has an invalid value: {value!r}")
            if "pattern" in meta:
                pattern = self.pattern(meta["pattern"])
                if pattern is not None and not pattern.fullmatch(value):
                    raise self.validation_error(op, f"{path} does not match the pattern {pattern.pattern}")
        elif kind in ("integer", "long"):
            if isinstance(value, bool) or not isinstance(value, int):
                raise self.validation_error(op, f"{path} must be an integer")
            if "min" in meta and value < meta["min"]:
                raise self.validation_error(op, f"{path} must be at least {meta['min']}")
            if "max" in meta and value > meta["max"]:
                raise self.validation_error(op, f"{path} must be at most {meta['max']}")
        elif kind == "boolean":
            if not isinstance(value, bool):
                raise self.validation_error(op, f"{path} must be a boolean")
        elif kind == "list":
            if not isinstance(value, list):
                raise self.validation_error(op, f"{path} must be a list")
            self._check_count(op, meta, len(value), path)
            for index, item in enumerate(value):
                self._validate_value(op, shape.member, item, f"{path}[{index}]")
        elif kind == "map":
            if not isinstance(value, dict):
                raise self.validation_error(op, f"{path} must be a map")
            self._check_count(op, meta, len(value), path)
            for key, item in value.items():
                self._validate_value(op, shape.key, key, f"{path} key")
                self._validate_value(op, shape.value, item, f"{path}.{key}")
        elif kind == "structure":
            self._validate_structure(op, shape, value, f"{path}.")

    def _check_count(self, op: OperationModel, meta: dict[str, Any], count: int, path: str) -> None:
        if "min" in meta and count < meta["min"]:
            raise self.validation_error(op, f"{path} must have at least {meta['min']} items")
        if "max" in meta and count > meta["max"]:
            raise self.validation_error(op, f"{path} must have at most {meta['max']} items")

    def pattern(self, raw: str) -> regex.Pattern[str] | None:
        if raw not in self._patterns:
            self._patterns[raw] = compile_pattern(raw)
        return self._patterns[raw]

    # ------------------------------------------------------------------ errors
    def error_status(self, code: str) -> int:
        if code == "ThrottlingException":
            return 429
        try:
            status = self.model.shape_for(code).metadata.get("error", {}).get("httpStatusCode")
        except Exception:  # noqa: BLE001 - an unmodelled code falls back to 400
            status = None
        return int(status or 400)

    def error_body(self, error: ApiError) -> tuple[int, dict[str, str], bytes]:
        status = error.status or self.error_status(error.code)
        body = {"Message": error.message, **error.extra}
        headers = {"Content-Type": "application/json", "x-amzn-ErrorType": error.code}
        return status, headers, json.dumps(body).encode()

    def errors_of(self, operation: OperationModel) -> set[str]:
        return {e.name for e in operation.error_shapes}

    def operation_errors(self) -> dict[str, set[str]]:
        """Every operation of the model and the errors it can answer."""
        return {name: self.errors_of(self.model.operation_model(name)) for name in self.model.operation_names}
