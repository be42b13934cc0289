"""Lambda's `Invoke`, answered by the local stack itself for the functions deployed into it.

Step Functions' interpreter (moto's) calls `lambda:Invoke` through a boto3 client pointed at the
stack; this runs the registered function's real handler in-process (`lambda_runtime.FunctionHost`)
and answers as Lambda does: 200 with the handler's JSON result, or 200 with `X-Amz-Function-Error:
Unhandled` and `{"errorType", "errorMessage", "stackTrace"}` when the handler raised. Requests for a
function nobody registered go on to moto.
"""

from __future__ import annotations

import json
import re
import traceback
from collections.abc import Iterable
from typing import Any, Protocol
from urllib.parse import unquote

from .wsgi import StartResponse

_INVOKE = re.compile(r"^/2015-03-31/functions/(?P<function>[^/]+)/invocations$")


class Invocable(Protocol):
    def invoke(self, event: Any) -> Any: ...


def _function_name(reference: str) -> str:
    """A name, or an ARN `arn:aws:lambda:<region>:<account>:function:<name>[:<qualifier>]`."""
    reference = unquote(reference)
    return reference.split(":")[6] if reference.startswith("arn:") else reference


class LambdaService:
    def __init__(self) -> None:
        self.functions: dict[str, Invocable] = {}

    def register(self, name: str, function: Invocable) -> None:
        self.functions[name] = function

    def handles(self, environ: dict[str, Any]) -> bool:
        match = _INVOKE.match(environ.get("PATH_INFO", ""))
        return match is not None and _function_name(match["function"]) in self.functions

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        match = _INVOKE.match(environ["PATH_INFO"])
        assert match is not None
        function = self.functions[_function_name(match["function"])]
        length = int(environ.get("CONTENT_LENGTH") or 0)
        raw = environ["wsgi.input"].read(length) if length else b""
        headers = [("Content-Type", "application/json")]
        try:
            result = function.invoke(json.loads(raw) if raw.strip() else {})
        except Exception as exc:  # noqa: BLE001 - Lambda reports whatever the handler raised
            headers.append(("X-Amz-Function-Error", "Unhandled"))
            result = {
                "errorType": type(exc).__name__,
                "errorMessage": str(exc),
                "stackTrace": traceback.format_tb(exc.__traceback__),
            }
        start_response("200 OK", headers)
        return [json.dumps(result).encode()]
