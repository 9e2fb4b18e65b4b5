"""What a request must look like before the gateway routes, authorises or forwards it.

The route table is matched on the decoded path, and the upstream URL is built from it again: both
are only safe when every decoded segment is one plain segment. A segment that decodes to `..`, `.`,
or to something holding `/`, `?`, `#` or a control character would let the path the gateway
authorised differ from the one the service receives (`/catalog/skus/..%2Fwarehouses`,
`/orders/%3F5/conversation`), or make the HTTP client refuse to build the URL at all.
Headers the gateway reads or forwards must be visible ASCII: HTTP clients cannot encode anything
else, and nothing legitimate in them needs it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import quote, quote_from_bytes, unquote_to_bytes

# RFC 3986 `pchar` minus `%`: what a path segment may hold unencoded. Everything else is percent-encoded.
_SEGMENT_SAFE = "-._~!$&'()*+,;=:@"
# A query string is passed on as the client sent it, except bytes a URL cannot carry raw.
_QUERY_SAFE = "-._~!$&'()*+,;=:@/?%[]"
_FORBIDDEN_IN_SEGMENT = frozenset(b"/?#\\")
MAX_PATH_BYTES = 2048


@dataclass(frozen=True)
class Fault:
    """Why a request is refused (answered 400), and which part of it is at fault."""

    field: str
    message: str


def _is_control(byte: int) -> bool:
    return byte < 0x20 or byte == 0x7F


def path_fault(raw_path: bytes) -> Fault | None:
    """None when every segment of the (still percent-encoded) path is one plain segment."""
    if len(raw_path) > MAX_PATH_BYTES:
        return Fault("path", f"longer than {MAX_PATH_BYTES} bytes")
    if not raw_path.startswith(b"/"):
        return Fault("path", "must start with /")
    segments = raw_path[1:].split(b"/")
    if segments and segments[-1] == b"":
        segments = segments[:-1]  # a trailing slash is ignored by the route table
    for index, raw in enumerate(segments):
        if any(_is_control(b) or b >= 0x80 for b in raw):
            return Fault("path", f"segment {index + 1} holds a byte that must be percent-encoded")
        segment = unquote_to_bytes(raw)
        if segment == b"":
            return Fault("path", f"segment {index + 1} is empty")
        if segment in (b".", b".."):
            return Fault("path", f"segment {index + 1} is a dot segment")
        if any(b in _FORBIDDEN_IN_SEGMENT for b in segment):
            return Fault("path", f"segment {index + 1} holds an encoded '/', '\\', '?' or '#'")
        if any(_is_control(b) for b in segment):
            return Fault("path", f"segment {index + 1} holds a control character")
    return None


def header_fault(headers: Iterable[tuple[bytes, bytes]], names: frozenset[str]) -> Fault | None:
    """None when every header of `names` holds visible ASCII only (and horizontal tabs)."""
    for raw_name, value in headers:
        name = raw_name.decode("latin-1").lower()
        if name in names and any((_is_control(b) and b != 0x09) or b >= 0x80 for b in value):
            return Fault(name, "must hold visible ASCII characters only")
    return None


def encode_segment(segment: str) -> str:
    """One decoded path segment, percent-encoded for the upstream URL (UTF-8 for non-ASCII)."""
    return quote(segment, safe=_SEGMENT_SAFE)


def encode_path(decoded_path: str) -> str:
    """A decoded path whose segments passed `path_fault`, percent-encoded segment by segment."""
    return "/".join(encode_segment(s) for s in decoded_path.split("/"))


def encode_query(raw_query: bytes) -> str:
    """The client's query string, with bytes a URL cannot carry raw (controls, non-ASCII, space) encoded."""
    return quote_from_bytes(raw_query, safe=_QUERY_SAFE)
