"""What the local stack refuses, so that nobody can take it over (the security review's findings).

The stack has no authentication: anyone who reaches it can drive it. So it binds loopback unless
told otherwise explicitly; its control APIs (state dumps, replay, reset, seeding) answer loopback
clients only; it never answers a browser (a request that carries `Origin`, or names a Host that is
neither an IP address nor localhost, as a DNS-rebinding page would, is refused, and no CORS header
leaves it); and it bounds what one request may cost (`MAX_REQUEST_BYTES`, 413 past it; the
emulator bounds seeding separately). Which AWS services it serves is `stack.SERVED_SERVICES`.
"""

from __future__ import annotations

import ipaddress
import json
from collections.abc import Iterable
from dataclasses import dataclass
from io import BytesIO
from typing import Any

from .wsgi import StartResponse

# 64 MiB: above DynamoDB's largest request (BatchWriteItem, 16 MB) and SNS's and SQS's (256 KiB
# to 1 MiB), with room for the archive objects the S3 issue will write.
MAX_REQUEST_BYTES = 64 * 1024 * 1024

REASONS = {
    200: "OK",
    400: "Bad Request",
    403: "Forbidden",
    404: "Not Found",
    413: "Content Too Large",
    501: "Not Implemented",
}


class NonLoopbackBind(ValueError):
    """A bind address other than loopback, without the flag that allows it."""


def _ip(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return None


def is_loopback(host: str) -> bool:
    address = _ip(host)
    return host == "localhost" if address is None else address.is_loopback


def check_bind(host: str, allow_non_loopback: bool) -> None:
    if not is_loopback(host) and not allow_non_loopback:
        raise NonLoopbackBind(
            f"refusing to listen on {host}: the local AWS stack has no authentication, so it listens on loopback "
            "only. To listen elsewhere (a docker network's gateway, for SAM's containers), say so explicitly: "
            "--allow-non-loopback (`python -m localaws`), ALLOW_NON_LOOPBACK=1 (`make stack`), or "
            "LocalStack(..., allow_non_loopback=True)."
        )


def needs_loopback_listener(host: str) -> bool:
    """A stack bound to one other address also listens on loopback, where its control APIs answer."""
    address = _ip(host)
    if address is None:
        return host != "localhost"
    return not (address.is_loopback or address.is_unspecified)


@dataclass(frozen=True)
class Refusal:
    status: int
    code: str
    message: str

    def answer(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        """The error in the caller's protocol: XML for query-protocol clients (form bodies), else JSON."""
        headers = [("x-amzn-ErrorType", self.code), ("Connection", "close")]
        if environ.get("CONTENT_TYPE", "").startswith("application/x-www-form-urlencoded"):
            error = f"<Error><Type>Sender</Type><Code>{self.code}</Code><Message>{_xml(self.message)}</Message></Error>"
            body = f"<ErrorResponse>{error}<Errors>{error}</Errors></ErrorResponse>".encode()
            headers.append(("Content-Type", "text/xml"))
        else:
            body = json.dumps({"__type": self.code, "message": self.message, "Message": self.message}).encode()
            headers.append(("Content-Type", "application/json"))
        start_response(f"{self.status} {REASONS.get(self.status, 'Error')}", headers)
        return [body]


def _xml(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _host_is_ours(host_header: str) -> bool:
    if not host_header:
        return True
    host = host_header if host_header.endswith("]") else host_header.rsplit(":", 1)[0]
    return _ip(host) is not None or host == "localhost" or host.endswith(".localhost")


def _body_too_large(environ: dict[str, Any], limit: int) -> bool:
    """Past `limit`; a chunked body is read here (up to the limit) so the bound holds for it too."""
    length = environ.get("CONTENT_LENGTH")
    if length:
        return int(length) > limit
    if "chunked" not in environ.get("HTTP_TRANSFER_ENCODING", "").lower():
        return False
    body = environ["wsgi.input"].read(limit + 1)
    if len(body) > limit:
        return True
    environ["wsgi.input"] = BytesIO(body)
    environ["CONTENT_LENGTH"] = str(len(body))
    return False


def refusal(environ: dict[str, Any], *, control: bool, max_request_bytes: int) -> Refusal | None:
    """Why the stack refuses this request, if it does."""
    if "HTTP_ORIGIN" in environ or environ.get("REQUEST_METHOD") == "OPTIONS":
        return Refusal(403, "BrowserRequestRefused", "the local stack does not answer browsers (no CORS)")
    if not _host_is_ours(environ.get("HTTP_HOST", "")):
        return Refusal(
            403,
            "HostRefused",
            f"the local stack answers only IP addresses and localhost as Host, not {environ.get('HTTP_HOST')!r}",
        )
    if control and not is_loopback(environ.get("REMOTE_ADDR", "")):
        return Refusal(403, "ControlRefused", "the control APIs answer loopback clients only")
    if _body_too_large(environ, max_request_bytes):
        return Refusal(413, "RequestTooLarge", f"a request body may hold at most {max_request_bytes} bytes")
    return None


def without_cors(start_response: StartResponse) -> StartResponse:
    """moto adds `Access-Control-Allow-Origin: *` to everything; none of it leaves the stack."""

    def respond(status: str, headers: list[tuple[str, str]], *args: Any) -> Any:
        kept = [(k, v) for k, v in headers if not k.lower().startswith("access-control-")]
        return start_response(status, kept, *args)

    return respond
