"""The local AWS stack: moto's server app and our Connect emulator behind one loopback endpoint.

Requests are routed by the service their SigV4 credential scope names, through one allow-list
(`SERVED_SERVICES`): `connect` goes to the emulator, `cloudtrail` to the stack's own LookupEvents
(answered from the emulator's record of its calls), the AWS services the project uses go to moto,
and every other service (Batch, ECS, EC2, moto's Lambda execution, ...) is refused. The
control APIs (`/local-stack/` here, `/connect-emulator/`, moto's `/moto-api/`) answer loopback
clients only; see `guard` for the rest of what the stack refuses. boto3 reaches the stack through
`AWS_ENDPOINT_URL`. Lambda `Invoke` of a function deployed here runs its handler in-process
(`lambda_service`). Step Functions executes state machines (moto's States Language interpreter),
whose tasks call back into this stack at `localhost:$MOTO_PORT`.
"""

from __future__ import annotations

import enum
import json
import logging
import os
import threading
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import parse_qs

from moto.core.config import default_user_config
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
from werkzeug.serving import BaseWSGIServer, make_server

from . import dynamodb_index, guard, moto_fixes, object_lock
from .connect.app import CONTROL_PREFIX as CONNECT_CONTROL_PREFIX
from .connect.app import ConnectEmulator
from .consistency import CONSISTENCY
from .lambda_service import LambdaService
from .wsgi import StartResponse, credential_scope

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 4566
STACK_CONTROL_PREFIX = "/local-stack/"
MOTO_CONTROL_PREFIX = "/moto-api"


class Answerer(enum.Enum):
    MOTO = "moto"
    CONNECT_EMULATOR = "the Connect emulator"
    CLOUDTRAIL = "the stack's CloudTrail (LookupEvents, from the Connect emulator's record)"
    LAMBDA_IN_PROCESS = "the stack itself, running a deployed function's handler in-process"


# Every AWS service the local stack serves, by SigV4 signing name. Anything else is refused: moto
# would otherwise serve, unauthenticated, services that start containers on this host.
SERVED_SERVICES: Mapping[str, Answerer] = {
    "dynamodb": Answerer.MOTO,  # DynamoDB and DynamoDB Streams
    "sns": Answerer.MOTO,
    "sqs": Answerer.MOTO,
    "sts": Answerer.MOTO,
    "connect": Answerer.CONNECT_EMULATOR,
    "s3": Answerer.MOTO,
    "kms": Answerer.MOTO,
    "organizations": Answerer.MOTO,
    "states": Answerer.MOTO,  # Step Functions
    "iam": Answerer.MOTO,
    "cloudformation": Answerer.MOTO,  # stack outputs
    "cloudtrail": Answerer.CLOUDTRAIL,
    "lambda": Answerer.LAMBDA_IN_PROCESS,  # Invoke, answered in-process by the stack, never in a container
}


def _json(start_response: StartResponse, status: int, body: Any) -> Iterable[bytes]:
    start_response(f"{status} {guard.REASONS.get(status, 'Error')}", [("Content-Type", "application/json")])
    return [json.dumps(body).encode()]


class LocalStackApp:
    """The WSGI app: the guard, then one dispatcher in front of moto and the Connect emulator."""

    def __init__(self, max_request_bytes: int = guard.MAX_REQUEST_BYTES) -> None:
        moto_fixes.apply()
        object_lock.apply()
        self.connect = ConnectEmulator()
        self.lambdas = LambdaService()
        default_user_config["stepfunctions"]["execute_state_machine"] = True
        self.moto = DomainDispatcherApplication(create_backend_app)
        self.max_request_bytes = max_request_bytes

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        control = path.startswith((STACK_CONTROL_PREFIX, CONNECT_CONTROL_PREFIX, MOTO_CONTROL_PREFIX))
        refusal = guard.refusal(environ, control=control, max_request_bytes=self.max_request_bytes)
        if refusal is not None:
            return refusal.answer(environ, start_response)
        start_response = guard.without_cors(start_response)
        if path.startswith(STACK_CONTROL_PREFIX):
            return self.control(environ, start_response)
        if path.startswith(CONNECT_CONTROL_PREFIX):
            return self.connect(environ, start_response)
        if path.startswith(MOTO_CONTROL_PREFIX):
            return self._moto(environ, start_response)
        scope = credential_scope(environ)
        if scope is None:
            return guard.Refusal(
                403, "MissingAuthenticationToken", "the local stack answers signed requests only"
            ).answer(environ, start_response)
        service = scope[2]
        answerer = SERVED_SERVICES.get(service)
        if answerer is None:
            served = ", ".join(sorted(SERVED_SERVICES))
            message = f"the local stack does not serve {service!r}; it serves only: {served}"
            return guard.Refusal(403, "ServiceNotServed", message).answer(environ, start_response)
        if answerer is Answerer.CONNECT_EMULATOR:
            return self.connect(environ, start_response)
        if answerer is Answerer.CLOUDTRAIL:
            return self.connect.cloudtrail(environ, start_response)
        if answerer is Answerer.LAMBDA_IN_PROCESS:
            if self.lambdas.handles(environ):
                return self.lambdas(environ, start_response)
            message = f"{service!r} is to be answered by {answerer.value}, never by moto"
            return guard.Refusal(501, "NotImplemented", message).answer(environ, start_response)
        return self._moto(environ, start_response)

    def _moto(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        result: Iterable[bytes] = self.moto(environ, start_response)
        return result

    # ------------------------------------------------------------- control API
    def control(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        """`/local-stack/`: the stack's own controls (DynamoDB's consistency mode and work counter)."""
        method = environ["REQUEST_METHOD"]
        action = environ["PATH_INFO"][len(STACK_CONTROL_PREFIX) :].strip("/")
        length = int(environ.get("CONTENT_LENGTH") or 0)
        raw = environ["wsgi.input"].read(length) if length else b""
        try:
            payload = json.loads(raw) if raw.strip() else {}
            if not isinstance(payload, dict):
                raise ValueError("the body must be a JSON object")
            status, result = self._control(method, action, payload, parse_qs(environ.get("QUERY_STRING", "")))
        except (ValueError, TypeError) as exc:
            status, result = 400, {"error": str(exc)}
        return _json(start_response, status, result)

    def _control(
        self, method: str, action: str, payload: dict[str, Any], _query: dict[str, list[str]]
    ) -> tuple[int, Any]:
        if (method, action) == ("POST", "reset"):
            CONSISTENCY.reset()
            dynamodb_index.WORK.items_examined = 0
            return 200, {"reset": True}
        if action == "consistency":
            if method == "POST":
                known = {"index_lag_writes", "index_lag_seconds", "base_lag_writes", "base_lag_seconds"}
                unknown = set(payload) - known
                if unknown:
                    raise ValueError(f"unknown consistency settings: {sorted(unknown)}; known: {sorted(known)}")
                return 200, CONSISTENCY.configure(**payload)
            return 200, CONSISTENCY.describe()
        if (method, action) == ("POST", "settle"):
            CONSISTENCY.settle()
            return 200, CONSISTENCY.describe()
        if action == "work":
            if method == "DELETE":
                dynamodb_index.WORK.items_examined = 0
            return 200, {"items_examined": dynamodb_index.WORK.items_examined}
        return 404, {"error": f"no control action {method} {action}"}


class LocalStack:
    """Serves `LocalStackApp` in a background thread or the foreground.

    It binds loopback unless `allow_non_loopback` says otherwise. Bound elsewhere (a docker
    network's gateway, for SAM's containers), it also listens on 127.0.0.1 (`control_url`), since
    the control APIs answer loopback clients only.
    """

    def __init__(self, host: str = DEFAULT_HOST, port: int = DEFAULT_PORT, *, allow_non_loopback: bool = False) -> None:
        guard.check_bind(host, allow_non_loopback)
        logging.getLogger("werkzeug").setLevel(logging.ERROR)
        self.app = LocalStackApp()
        self._servers: list[BaseWSGIServer] = [make_server(host, port, self.app, threaded=True)]
        if guard.needs_loopback_listener(host):
            self._servers.append(make_server(DEFAULT_HOST, port, self.app, threaded=True))
        self._threads: list[threading.Thread] = []
        # Where moto's Step Functions interpreter sends its tasks' service calls: back to this stack.
        os.environ["MOTO_PORT"] = str(self._servers[-1].server_address[1])  # the loopback listener

    @staticmethod
    def _url(server: BaseWSGIServer) -> str:
        host, port = server.server_address[:2]
        return f"http://{host!s}:{port}"

    @property
    def endpoint_url(self) -> str:
        return self._url(self._servers[0])

    @property
    def control_url(self) -> str:
        """Where the control APIs answer: the endpoint itself, or its loopback twin."""
        return self._url(self._servers[-1])

    def start(self) -> LocalStack:
        for server in self._servers:
            thread = threading.Thread(target=server.serve_forever, name="local-aws-stack", daemon=True)
            thread.start()
            self._threads.append(thread)
        return self

    def serve_forever(self) -> None:
        for server in self._servers[1:]:
            threading.Thread(target=server.serve_forever, name="local-aws-stack-loopback", daemon=True).start()
        self._servers[0].serve_forever()

    def stop(self) -> None:
        for server in self._servers:
            server.shutdown()
            server.server_close()
        for thread in self._threads:
            thread.join()
