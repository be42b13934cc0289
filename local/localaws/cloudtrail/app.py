"""CloudTrail's LookupEvents, answered by the stack itself from the Connect emulator's record of its own
calls (`trail.Trail`), over CloudTrail's JSON protocol (`X-Amz-Target`), driven by botocore's
`cloudtrail` model.

Validation is the model's (`service_model.ShapeValidator`); a violation is the error the operation
models for that parameter (`Invalid<Parameter>Exception`; a timestamp's, InvalidTimeRangeException).
What the model cannot say is checked as the service documents it: one lookup attribute per request,
StartTime not after EndTime, a NextToken from the same query. Events come newest first, 50 a page
at most. LookupEvents' quota (2 requests a second per account and Region) is a token bucket of the
Connect emulator's quotas, lifted by the same control; faults and the request log are shared too.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

import botocore.session
from botocore.model import OperationModel

from ..callers import account_for
from ..connect.limits import Faults, LoggedRequest, Quotas, RequestLog
from ..page_tokens import Tokens, request_scope
from ..service_model import ApiError, ShapeValidator
from ..wsgi import StartResponse, credential_scope
from .trail import Trail

# Errors every CloudTrail operation can answer besides those its model lists.
COMMON_ERRORS = frozenset({"AccessDeniedException", "ThrottlingException"})
CONTENT_TYPE = "application/x-amz-json-1.1"
DEFAULT_PAGE = 50


def _timestamp(value: Any) -> Any:
    """A JSON-protocol timestamp (epoch seconds, or ISO 8601) as a datetime; anything else as it is."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        return datetime.fromtimestamp(value, UTC)
    if isinstance(value, str):
        try:
            return datetime.fromtimestamp(float(value), UTC)
        except ValueError:
            pass
        try:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return value
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    return value


class CloudTrailEmulator:
    def __init__(self, trail: Trail, quotas: Quotas, faults: Faults, log: RequestLog) -> None:
        self.model = botocore.session.get_session().get_service_model("cloudtrail")
        self.validator = ShapeValidator(self._invalid)
        self.trail = trail
        self.quotas = quotas
        self.faults = faults
        self.log = log
        self.tokens = Tokens()

    def reset(self) -> None:
        self.tokens = Tokens()

    def operation_errors(self) -> dict[str, set[str]]:
        """The operations answered here and the errors each can answer (what a fault rule may inject)."""
        errors = {e.name for e in self.model.operation_model("LookupEvents").error_shapes}
        return {"LookupEvents": errors | COMMON_ERRORS}

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        status, body = self.handle(environ)
        reason = "OK" if status == 200 else "Bad Request" if status == 400 else "Error"
        start_response(f"{status} {reason}", [("Content-Type", CONTENT_TYPE)])
        return [json.dumps(body).encode()]

    def handle(self, environ: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        scope = credential_scope(environ)
        if scope is None:
            return self._error(ApiError("MissingAuthenticationTokenException", "Request is not signed", 403))
        access_key, region, _ = scope
        account = account_for(access_key, environ)
        prefix, _, name = environ.get("HTTP_X_AMZ_TARGET", "").rpartition(".")
        if prefix != self.model.metadata["targetPrefix"] or name not in self.model.operation_names:
            return self._error(ApiError("UnknownOperationException", f"No operation {name!r}"))
        if name != "LookupEvents":
            return self._error(ApiError("NotImplementedException", f"{name} is not emulated", 501))

        def logged(status: int, outcome: str) -> None:
            self.log.record(LoggedRequest(time.time(), name, account, region, access_key, status, outcome))

        if not self.quotas.admit(account, region, name, access_key):
            logged(400, "throttled")
            return self._error(ApiError("ThrottlingException", "Rate exceeded"))
        operation = self.model.operation_model(name)
        length = int(environ.get("CONTENT_LENGTH") or 0)
        raw = environ["wsgi.input"].read(length) if length else b""
        faulted = False
        try:
            params = self._parse(operation, raw)
            latency, fault = self.faults.check(name, region, params, self.operation_errors()[name])
            if latency:
                time.sleep(latency)
            if fault is not None:
                faulted = True
                raise ApiError(fault.error or "InternalServiceException", fault.message or "Injected fault")
            self.validator.validate(operation, params)
            result = self.lookup_events(account, region, params)
        except ApiError as error:
            status, body = self._error(error)
            logged(status, "faulted" if faulted else "error")
            return status, body
        logged(200, "ok")
        return 200, result

    def _parse(self, operation: OperationModel, raw: bytes) -> dict[str, Any]:
        try:
            params = json.loads(raw) if raw.strip() else {}
        except ValueError as exc:
            raise ApiError("SerializationException", "Request body is not valid JSON") from exc
        if not isinstance(params, dict):
            raise ApiError("SerializationException", "Request body must be a JSON object")
        shape = operation.input_shape
        for member_name, member in shape.members.items() if shape is not None else ():
            if member.type_name == "timestamp" and member_name in params:
                params[member_name] = _timestamp(params[member_name])
        return params

    def _invalid(self, operation: OperationModel, member: str, message: str) -> ApiError:
        """The error the operation models for the parameter at fault."""
        names = {e.name for e in operation.error_shapes}
        own = f"Invalid{member}Exception"
        if own in names:
            return ApiError(own, message)
        shape = operation.input_shape.members.get(member) if operation.input_shape is not None else None
        if shape is not None and shape.type_name == "timestamp":
            return ApiError(next((n for n in sorted(names) if "Time" in n), "ValidationException"), message)
        return ApiError("ValidationException", message)

    def _error(self, error: ApiError) -> tuple[int, dict[str, Any]]:
        return error.status or 400, {"__type": error.code, "message": error.message}

    # ------------------------------------------------------------------ LookupEvents
    def lookup_events(self, account: str, region: str, params: dict[str, Any]) -> dict[str, Any]:
        attributes = params.get("LookupAttributes") or []
        if len(attributes) > 1:
            raise ApiError("InvalidLookupAttributesException", "LookupEvents takes at most one lookup attribute")
        start, end = params.get("StartTime"), params.get("EndTime")
        if start is not None and end is not None and start > end:
            raise ApiError("InvalidTimeRangeException", "StartTime is after EndTime")
        if params.get("EventCategory") == "insight":
            return {"Events": []}  # no trail here has Insights enabled
        # CloudTrail's times are whole seconds: a bound includes its whole second.
        first = int(start.timestamp()) if start is not None else None
        last = int(end.timestamp()) if end is not None else None
        matching = [
            event
            for event in self.trail.newest_first(account, region)
            if (first is None or event.event_time >= first)
            and (last is None or event.event_time <= last)
            and all(a["AttributeValue"] in event.lookup_values(a["AttributeKey"]) for a in attributes)
        ]
        scope = request_scope(params)
        if params.get("NextToken"):
            after = self.tokens.read(params["NextToken"], scope, lambda m: ApiError("InvalidNextTokenException", m))
            matching = [event for event in matching if event.sequence < after]
        limit = params.get("MaxResults", DEFAULT_PAGE)
        page = matching[:limit]
        result: dict[str, Any] = {"Events": [event.as_lookup(json.dumps(event.record)) for event in page]}
        if len(matching) > limit:
            result["NextToken"] = self.tokens.issue(scope, page[-1].sequence)
        return result
