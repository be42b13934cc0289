"""WSGI front of the Connect emulator: the public API and its control API.

Public API requests are recognised by the SigV4 credential scope (service `connect`), as moto
dispatches. Each successful mutating call (one that is not a List, Describe, Search or Get) is
recorded in the emulator's CloudTrail (`cloudtrail.trail`), which the stack's LookupEvents answers
from. The control API lives under `/connect-emulator/` in the style of `/moto-api/`:

    POST   /connect-emulator/reset                 forget every account, quota, fault, listing change, log and
                                                   CloudTrail event
    GET    /connect-emulator/quotas                the quota configuration (Connect's operations and LookupEvents)
    POST   /connect-emulator/quotas                change it: enabled, rate, burst, operations, unlimited_access_keys
    GET    /connect-emulator/faults                the fault rules and how often each fired
    POST   /connect-emulator/faults                add a rule (see limits.Fault); one naming an error its
                                                   operation cannot answer is refused
    DELETE /connect-emulator/faults                remove every rule
    GET    /connect-emulator/listing-changes       the listing-change rules and their outcomes
    POST   /connect-emulator/listing-changes       add one (see limits.ListingChange)
    DELETE /connect-emulator/listing-changes       remove every one
    POST   /connect-emulator/console               change a number now, as the admin website can: through the
                                                   API's operations, with no CloudTrail record (see
                                                   limits.EstateChange; "account" defaults to moto's)
    GET    /connect-emulator/requests[?entries=1]  counts per operation (and each request)
    DELETE /connect-emulator/requests              clear the log
    POST   /connect-emulator/settings              async_delay_seconds, fail_next_async, hide_in_progress_moves,
                                                   distinct_replica_ids, flow_association_resource_id,
                                                   flow_association_flow_id
    POST   /connect-emulator/complete-pending      end every pending claim, move and metadata change now
    POST   /connect-emulator/tdg-status            put a TDG in any status: {"tdg_arn", "status"}
    POST   /connect-emulator/seed                  bulk-claim numbers to a target (at most MAX_SEED_COUNT a call,
                                                   no CloudTrail record)
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable
from dataclasses import asdict, fields
from typing import Any
from urllib.parse import parse_qs

from moto.core.models import DEFAULT_ACCOUNT_ID

from ..callers import Caller, account_for, caller_of, iam_user
from ..cloudtrail.app import CloudTrailEmulator
from ..cloudtrail.trail import Trail
from ..service_model import ApiError
from ..wsgi import StartResponse, credential_scope
from .backend import Applied, ConnectBackend
from .limits import EstateChange, Fault, Faults, ListingChange, ListingChanges, LoggedRequest, Quotas, RequestLog
from .protocol import ConnectProtocol

CONTROL_PREFIX = "/connect-emulator/"
# 100,000 numbers in about 1.5 s: the benchmark's largest target, and 1,000,000 numbers in 10 calls.
MAX_SEED_COUNT = 100_000
# Operations CloudTrail records as read-only: the emulator records every other successful call.
READ_ONLY_PREFIXES = ("List", "Describe", "Search", "Get", "BatchGet")
# Who makes a listing change, as CloudTrail records it.
LISTING_CHANGE_USER = "listing-change"

_REASONS = {
    200: "OK",
    400: "Bad Request",
    402: "Payment Required",
    403: "Forbidden",
    404: "Not Found",
    409: "Conflict",
    429: "Too Many Requests",
    500: "Internal Server Error",
    501: "Not Implemented",
}


class ConnectEmulator:
    def __init__(self) -> None:
        self.protocol = ConnectProtocol()
        self.backend = ConnectBackend()
        self.quotas = Quotas()
        self.faults = Faults()
        self.listing_changes = ListingChanges()
        self.log = RequestLog()
        self.trail = Trail()
        self.cloudtrail = CloudTrailEmulator(self.trail, self.quotas, self.faults, self.log)
        self.operation_errors = {**self.protocol.operation_errors(), **self.cloudtrail.operation_errors()}

    def reset(self) -> None:
        self.backend.reset()
        self.quotas.reset()
        self.faults.reset()
        self.listing_changes.reset()
        self.log.reset()
        self.trail.reset()
        self.cloudtrail.reset()

    # -------------------------------------------------------------- public API
    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        if environ.get("PATH_INFO", "").startswith(CONTROL_PREFIX):
            return self.control(environ, start_response)
        status, headers, body = self.handle(environ)
        start_response(f"{status} {_REASONS.get(status, 'Error')}", list(headers.items()))
        return [body]

    def handle(self, environ: dict[str, Any]) -> tuple[int, dict[str, str], bytes]:
        scope = credential_scope(environ)
        if scope is None:
            return self.protocol.error_body(
                ApiError("MissingAuthenticationTokenException", "Request is not signed", 403)
            )
        access_key, region, _ = scope
        account = account_for(access_key, environ)
        method = environ["REQUEST_METHOD"]
        # Route on the raw path: labels such as a TDG ARN arrive percent-encoded, slashes included.
        raw_path = (environ.get("RAW_URI") or environ.get("REQUEST_URI") or environ.get("PATH_INFO", "")).split("?", 1)[
            0
        ]
        found = self.protocol.route(method, raw_path)
        if found is None:
            return self.protocol.error_body(
                ApiError("UnknownOperationException", f"No operation at {method} {environ.get('PATH_INFO')}", 404)
            )
        operation, labels = found
        name = operation.name
        if not self.backend.implemented(name):
            return self.protocol.error_body(ApiError("NotImplementedException", f"{name} is not emulated", 501))

        def logged(status: int, outcome: str) -> None:
            self.log.record(LoggedRequest(time.time(), name, account, region, access_key, status, outcome))

        if not self.quotas.admit(account, region, name, access_key):
            logged(429, "throttled")
            return self.protocol.error_body(ApiError("ThrottlingException", "Rate exceeded"))
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length else b""
        query = parse_qs(environ.get("QUERY_STRING", ""), keep_blank_values=True)
        headers = {k[5:].replace("_", "-"): v for k, v in environ.items() if k.startswith("HTTP_")}
        fault: Fault | None = None
        try:
            params = self.protocol.parse(operation, labels, query, headers, body)
            latency, fault = self.faults.check(name, region, params, self.protocol.errors_of(operation))
            if latency:
                time.sleep(latency)
            if fault is not None:
                raise ApiError(fault.error or "InternalServiceException", fault.message or "Injected fault")
            self.protocol.validate(operation, params)
            if name == "ListPhoneNumbersV2":
                for change in self.listing_changes.due(params):
                    self._apply_listing_change(account, change)
            result = self.backend.call(
                name, account, region, params, lambda m: self.protocol.validation_error(operation, m)
            )
        except ApiError as error:
            if error.code not in self.operation_errors[name] | {"ThrottlingException"}:
                # The service answers only the errors its model lists: anything else is a bad parameter.
                error = self.protocol.validation_error(operation, error.message)
            status, out_headers, out = self.protocol.error_body(error)
            logged(status, "faulted" if fault is not None else "error")
            return status, out_headers, out
        logged(200, "ok")
        if not name.startswith(READ_ONLY_PREFIXES):
            self._record(caller_of(access_key, region, environ), Applied(name, region, params, result))
        return 200, {"Content-Type": "application/json"}, json.dumps(result).encode()

    def _record(self, caller: Caller, applied: Applied) -> None:
        self.trail.record(caller, applied.region, applied.operation, applied.params, applied.result)

    def _apply_listing_change(self, account: str, change: ListingChange) -> None:
        applied = self.backend.apply_change(account, change)
        change.outcome = applied.outcome
        if applied.error is None and change.recorded:
            self._record(iam_user(account, applied.region, LISTING_CHANGE_USER, "127.0.0.1", "localaws"), applied)

    # ------------------------------------------------------------- control API
    def control(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        method = environ["REQUEST_METHOD"]
        action = environ["PATH_INFO"][len(CONTROL_PREFIX) :].strip("/")
        length = int(environ.get("CONTENT_LENGTH") or 0)
        raw = environ["wsgi.input"].read(length) if length else b""
        query = parse_qs(environ.get("QUERY_STRING", ""))
        try:
            payload = json.loads(raw) if raw.strip() else {}
            status, result = self._control(method, action, payload, query)
        except (ValueError, TypeError, KeyError, ApiError) as exc:
            status, result = 400, {"error": str(exc)}
        start_response(f"{status} {_REASONS.get(status, 'Error')}", [("Content-Type", "application/json")])
        return [json.dumps(result).encode()]

    def _control(
        self, method: str, action: str, payload: dict[str, Any], query: dict[str, list[str]]
    ) -> tuple[int, Any]:
        if (method, action) == ("POST", "reset"):
            self.reset()
            return 200, {"reset": True}
        if action == "quotas":
            if method == "POST":
                return 200, asdict(self.quotas.configure(payload))
            return 200, asdict(self.quotas.config)
        if action == "faults":
            if method == "POST":
                known = {f.name for f in fields(Fault)} - {"seen", "fired"}
                unknown = set(payload) - known
                if unknown:
                    raise ValueError(f"unknown fault fields: {sorted(unknown)}")
                rule = Fault(**payload)
                self._check_fault(rule)
                self.faults.add(rule)
            elif method == "DELETE":
                self.faults.reset()
            return 200, {"faults": [asdict(rule) for rule in self.faults.rules]}
        if action == "listing-changes":
            if method == "POST":
                known = {f.name for f in fields(ListingChange)} - {"seen", "outcome"}
                unknown = set(payload) - known
                if unknown:
                    raise ValueError(f"unknown listing-change fields: {sorted(unknown)}; known: {sorted(known)}")
                self.listing_changes.add(ListingChange(**payload))
            elif method == "DELETE":
                self.listing_changes.reset()
            return 200, {"listing_changes": [asdict(rule) for rule in self.listing_changes.rules]}
        if (method, action) == ("POST", "complete-pending"):
            return 200, {"completed": self.backend.complete_pending()}
        if (method, action) == ("POST", "tdg-status"):
            return 200, self.backend.set_tdg_status(payload["tdg_arn"], payload["status"])
        if action == "requests":
            if method == "DELETE":
                self.log.reset()
            return 200, self.log.summary(with_entries=query.get("entries", ["0"])[0] == "1")
        if (method, action) == ("POST", "settings"):
            return 200, asdict(self.backend.configure(payload))
        if (method, action) == ("POST", "console"):
            return self._console(payload)
        if (method, action) == ("POST", "seed"):
            count = payload["count"]
            if isinstance(count, bool) or not isinstance(count, int) or not 1 <= count <= MAX_SEED_COUNT:
                raise ValueError(f"count must be a whole number from 1 to {MAX_SEED_COUNT:,} per call, not {count!r}")
            created = self.backend.seed_numbers(
                account=payload["account"],
                region=payload["region"],
                target_arn=payload["target_arn"],
                count=count,
                countries=list(payload.get("countries", ["US"])),
                types=list(payload.get("types", ["DID"])),
                description_every=int(payload.get("description_every", 0)),
                imported_every=int(payload.get("imported_every", 0)),
            )
            return 200, {"created": len(created), "first": created[:1], "last": created[-1:]}
        return 404, {"error": f"no control action {method} {action}"}

    def _console(self, payload: dict[str, Any]) -> tuple[int, Any]:
        """A change made in the admin website: applied now, with no CloudTrail record."""
        known = {f.name for f in fields(EstateChange)} | {"account"}
        unknown = set(payload) - known
        if unknown:
            raise ValueError(f"unknown console fields: {sorted(unknown)}; known: {sorted(known)}")
        account = str(payload.pop("account", DEFAULT_ACCOUNT_ID))
        applied = self.backend.apply_change(account, EstateChange(**payload))
        if applied.error is not None:
            raise ValueError(applied.outcome)
        return 200, {"operation": applied.operation, "region": applied.region, "result": applied.result}

    def _check_fault(self, rule: Fault) -> None:
        """A rule must name an error its operation can answer (ThrottlingException: any operation)."""
        if rule.operation is not None and rule.operation not in self.operation_errors:
            raise ValueError(f"{rule.operation} is neither an operation of the connect model nor LookupEvents")
        if rule.error is None or rule.error == "ThrottlingException":
            return
        if rule.operation is not None:
            errors = self.operation_errors[rule.operation] | {"ThrottlingException"}
            if rule.error not in errors:
                raise ValueError(f"{rule.operation} cannot raise {rule.error}; it raises: {', '.join(sorted(errors))}")
        elif not any(rule.error in errors for errors in self.operation_errors.values()):
            raise ValueError(f"no operation of the connect model raises {rule.error}")
