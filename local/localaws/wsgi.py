"""What the stack's WSGI front and the Connect emulator both read off a request: who signed it, for which
Region and service (the SigV4 credential scope, from the Authorization header or a presigned URL)."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs

StartResponse = Callable[..., Any]

_CREDENTIAL = re.compile(r"Credential=([^/,\s]+)/[^/]+/([^/]+)/([^/]+)/")


def credential_scope(environ: dict[str, Any]) -> tuple[str, str, str] | None:
    """(access key, Region, service) of a SigV4-signed request, or None for an unsigned one."""
    match = _CREDENTIAL.search(environ.get("HTTP_AUTHORIZATION", ""))
    if match:
        return match.group(1), match.group(2), match.group(3)
    presigned = parse_qs(environ.get("QUERY_STRING", "")).get("X-Amz-Credential")
    if presigned:
        parts = presigned[0].split("/")
        if len(parts) == 5:
            return parts[0], parts[2], parts[3]
    return None
