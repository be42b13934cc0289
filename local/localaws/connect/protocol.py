"""The Amazon Connect REST-JSON wire protocol, driven by botocore's own service model.

Routing (method + requestUri) and request parsing (URI labels, query string, JSON body) are
generic over the model's shapes, and so is validation (`service_model.ShapeValidator`), so the
emulator answers exactly the paths, names and constraints the real service documents; every
violation is the operation's InvalidParameterException (else its InvalidRequestException).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

import botocore.session
import regex
from botocore.model import OperationModel, Shape

from ..service_model import ApiError, ShapeValidator


@dataclass(frozen=True)
class Route:
    operation: OperationModel
    method: str
    regex: re.Pattern[str]
    specificity: int


class ConnectProtocol:
    """Routes, parses and validates Connect requests; serialises errors."""

    def __init__(self) -> None:
        self.model = botocore.session.get_session().get_service_model("connect")
        self.validator = ShapeValidator(lambda operation, _member, message: self.validation_error(operation, message))
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
        # Every requestUri of the model starts with a literal segment: routes are looked up by it.
        self._routes: dict[tuple[str, str], list[Route]] = {}
        for route in sorted(routes, key=lambda r: -r.specificity):
            first = route.operation.http["requestUri"].split("?", 1)[0].split("/")[1]
            self._routes.setdefault((route.method, first), []).append(route)

    # ------------------------------------------------------------------ routing
    def route(self, method: str, path: str) -> tuple[OperationModel, list[str]] | None:
        first = path.split("/", 2)[1] if path.count("/") else ""
        for route in self._routes.get((method, first), ()):
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
        self.validator.validate(operation, params)

    def pattern(self, raw: str) -> regex.Pattern[str] | None:
        return self.validator.pattern(raw)

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
