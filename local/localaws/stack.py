"""The local AWS stack: moto's server app and our Connect emulator behind one loopback endpoint.

Requests whose SigV4 credential scope names `connect`, and the emulator's control API under
`/connect-emulator/`, go to the emulator; everything else (DynamoDB, DynamoDB Streams, SNS, SQS,
STS, S3 with Object Lock as S3 enforces it, `/moto-api/`) goes to moto. boto3 reaches it through
`AWS_ENDPOINT_URL`.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable
from typing import Any

from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
from werkzeug.serving import BaseWSGIServer, make_server

from . import moto_fixes, object_lock
from .connect.app import CONTROL_PREFIX, ConnectEmulator, StartResponse, credential_scope

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 4566


class LocalStackApp:
    """The WSGI app: one dispatcher in front of moto and the Connect emulator."""

    def __init__(self) -> None:
        moto_fixes.apply()
        object_lock.apply()
        self.connect = ConnectEmulator()
        self.moto = DomainDispatcherApplication(create_backend_app)

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        scope = credential_scope(environ)
        if path.startswith(CONTROL_PREFIX) or (scope is not None and scope[2] == "connect"):
            return self.connect(environ, start_response)
        result: Iterable[bytes] = self.moto(environ, start_response)
        return result


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
