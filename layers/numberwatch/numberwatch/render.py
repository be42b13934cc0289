"""Text from Connect, made safe to show to people. Pure.

Descriptions, target names, flow names and tag values are written by the people we report on. In an
email, a chat message or a report they are data, never layout: `shown` quotes each value, escapes
control and format characters (Unicode Cc and Cf, newlines and bidirectional overrides among them, and
the line and paragraph separators) as `\\n` or `\\u202e`, defangs URL schemes so that no mail client
turns them into links, and caps the length so that no value can push the real lines of a message past
its "... and N more" cut. The JSON events carry the raw values: JSON is structure-safe.
"""

from __future__ import annotations

import unicodedata

DEFAULT_LIMIT = 80
NONE = "(none)"
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t", '"': '\\"', "\\": "\\\\"}
_ESCAPED_CATEGORIES = frozenset({"Cc", "Cf", "Zl", "Zp", "Co", "Cs", "Cn"})
_ELLIPSIS = "…"


def _piece(character: str) -> str:
    if character in _NAMED:
        return _NAMED[character]
    if unicodedata.category(character) in _ESCAPED_CATEGORIES:
        code = ord(character)
        return f"\\u{code:04x}" if code <= 0xFFFF else f"\\U{code:08x}"
    return character


def escaped(value: str, limit: int = DEFAULT_LIMIT) -> str:
    """`value` with every control and format character escaped, URL schemes defanged, at most `limit`
    characters (plus an ellipsis when cut)."""
    pieces: list[str] = []
    length = 0
    for character in value.replace("://", "[:]//"):
        piece = _piece(character)
        if length + len(piece) > limit:
            pieces.append(_ELLIPSIS)
            break
        pieces.append(piece)
        length += len(piece)
    return "".join(pieces)


def shown(value: str | None, limit: int = DEFAULT_LIMIT) -> str:
    """A value from Connect as people see it: quoted and escaped, or `(none)`."""
    return NONE if value is None else f'"{escaped(value, limit)}"'
