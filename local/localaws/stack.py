"""The local AWS stack: moto's server app and our Connect emulator behind one loopback endpoint.

Requests whose SigV4 credential scope names `connect`, and the emulator's control API under
`/connect-emulator/`, go to the emulator; the stack's own control API (`/local-stack/`: DynamoDB's
consistency mode) is answered here; everything else (DynamoDB, DynamoDB Streams, SNS, SQS, STS,
`/moto-api/`) goes to moto. boto3 reaches it through `AWS_ENDPOINT_URL`.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Iterable
from typing import Any
from urllib.parse import parse_qs

from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
from werkzeug.serving import BaseWSGIServer, make_server

from . import dynamodb_index, moto_fixes
from .connect.app import CONTROL_PREFIX, ConnectEmulator
from .consistency import CONSISTENCY
from .wsgi import StartResponse, credential_scope

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 4566
STACK_CONTROL_PREFIX = "/local-stack/"


class LocalStackApp:
    """The WSGI app: one dispatcher in front of moto and the Connect emulator."""

    def __init__(self) -> None:
        moto_fixes.apply()
        self.connect = ConnectEmulator()
        self.moto = DomainDispatcherApplication(create_backend_app)

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        scope = credential_scope(environ)
        if path.startswith(STACK_CONTROL_PREFIX):
            return self.control(environ, start_response)
        if path.startswith(CONTROL_PREFIX) or (scope is not None and scope[2] == "connect"):
            return self.connect(environ, start_response)
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
        start_response(f"{status} {'OK' if status == 200 else 'Error'}", [("Content-Type", "application/json")])
        return [json.dumps(result).encode()]

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
    """Serves `LocalStackApp` on a loopback port, in a background thread or the foreground."""

    def __init__(self, host: str = DEFAULT_HOST, port: int = DEFAULT_PORT) -> None:
        logging.getLogger("werkzeug").setLevel(logging.ERROR)
        self.app = LocalStackApp()
        self._server: BaseWSGIServer = make_server(host, port, self.app, threaded=True)
        self._thread: threading.Thread | None = None

    @property
    def endpoint_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> LocalStack:
        self._thread = threading.Thread(target=self._server.serve_forever, name="local-aws-stack", daemon=True)
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        self._server.serve_forever()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join()
