"""An email's bytes, written directly: RFC 5322 headers, RFC 2047 encoded words, one MIME
multipart/alternative with the plain-text and the HTML part.

`EmailMessage` (policy.default) parses every header it is given back through its header registry
and folds it again on output, and its content manager re-checks every body: that was a third of
the service's CPU per email. Here the few headers we send are written once in their final encoded
form (with the stdlib's compat32 helpers, `email.header.Header`) and the bodies are encoded with
`base64` directly. The output parses back (`email.parser`, `policy.default`) to the same subject,
addresses and bodies; `tests/unit/test_email_bytes.py` checks it, Cyrillic included.
"""

from __future__ import annotations

import base64
import re
from datetime import datetime
from email.header import Header
from email.utils import format_datetime, formataddr

CRLF = "\r\n"
MAX_LINE = 998  # RFC 5322 2.1.1: at most 998 characters a line (a part with longer lines goes base64)
_LINE_BREAK = re.compile(r"\r\n|\r|\n")
_TOKENS = re.compile(r"\S+\s*|\s+")  # words with the spaces after them
_WORD_BYTES = 42  # "=?utf-8?b?" + base64 of 42 bytes (56) + "?=": 68 characters (RFC 2047: at most 75)


def _plain(value: str) -> bool:
    """Text a header can carry as it is: printable ASCII that does not look like an encoded word."""
    return value.isascii() and value.isprintable() and "=?" not in value


def encoded_words(text: str) -> str:
    """`text` as RFC 2047 encoded words (UTF-8, base64), each at most 75 characters, one a line.

    Split between words, the space kept at the end of the word before: a reader that follows the RFC
    drops the folding between encoded words and gets `text` back exactly. (Python's own reader of
    phrases, `policy.default` for a display name, adds a space there: a doubled space between two
    words of a long name, never a word cut in two as `Header` would.)"""
    chunks: list[str] = []
    current = ""
    for token in _TOKENS.findall(text):
        if len((current + token).encode()) <= _WORD_BYTES:
            current += token
            continue
        if current:
            chunks.append(current)
        while len(token.encode()) > _WORD_BYTES:  # one word longer than an encoded word holds
            cut = _WORD_BYTES // 4  # 4 bytes a character at most: always fits
            while len(token[: cut + 1].encode()) <= _WORD_BYTES:
                cut += 1
            chunks.append(token[:cut])
            token = token[cut:]
        current = token
    if current or not chunks:
        chunks.append(current)
    return (CRLF + " ").join(f"=?utf-8?b?{base64.b64encode(c.encode()).decode('ascii')}?=" for c in chunks)


def encoded_header(name: str, value: str) -> str:
    """An unstructured header's value (Subject): printable ASCII as it is (folded at spaces when
    long), anything else as encoded words; `=?` in the text is encoded, so no reader decodes it."""
    if not _plain(value):
        return encoded_words(value)
    if len(name) + 2 + len(value) <= 78:
        return value
    return Header(value, "us-ascii", header_name=name).encode(linesep=CRLF)


class BadAddress(ValueError):
    """An address no header can carry (a line break, a space, `<>`): never sent."""


def mailbox(name: str, address: str) -> str:
    """`Name <address>` for a From or To header: the name quoted, or encoded words when not ASCII.
    An address that is not ASCII is written as UTF-8 (RFC 6532: sent only with SMTPUTF8)."""
    if not address.isprintable() or any(c in address for c in " <>"):
        raise BadAddress(repr(address))  # a header injection, or garbage: no retry makes it an address
    # A name is one line of printable text (it comes from storefronts): controls and breaks are spaces.
    name = " ".join("".join(c if c.isprintable() else " " for c in name).split())
    if not name:
        return address
    if _plain(name) and address.isascii():
        return formataddr((name, address))  # quotes the name when it has specials
    phrase = formataddr((name, "x@x"))[: -len(" <x@x>")] if _plain(name) else f"{encoded_words(name)}{CRLF}"
    return f"{phrase} <{address}>"


def _part(content_type: str, text: str, boundary: str) -> str:
    """One text part with its headers: 7bit when ASCII with short lines (and no boundary in it), else
    base64 of its UTF-8. Line ends are CRLF, the canonical form of text."""
    lines = _LINE_BREAK.split(text)
    if lines and lines[-1] == "":
        lines.pop()
    body = CRLF.join(lines) + CRLF
    if body.isascii() and all(len(line) <= MAX_LINE for line in lines) and f"--{boundary}" not in body:
        # The line end before a boundary belongs to the boundary (RFC 2046 5.1.1), not to the text.
        encoding, body = "7bit", body + CRLF
    else:
        encoding, body = "base64", base64.encodebytes(body.encode()).decode("ascii").replace("\n", CRLF)
    return (
        f"--{boundary}{CRLF}"
        f'Content-Type: {content_type}; charset="utf-8"{CRLF}'
        f"Content-Transfer-Encoding: {encoding}{CRLF}{CRLF}"
        f"{body}"
    )


def compose(*, sender: str, to: str, subject: str, message_id: str, date: datetime, text: str, html: str) -> bytes:
    """The email's bytes. `sender` and `to` are header values already (`mailbox`); `message_id` is the
    delivery's id: the Message-ID `<id@oms.local>` and the boundary follow from it and `date` is the
    delivery's, so every attempt of one delivery sends the same bytes."""
    boundary = f"=_oms_{message_id}"
    return "".join(
        (
            f"From: {sender}{CRLF}",
            f"To: {to}{CRLF}",
            f"Subject: {encoded_header('Subject', subject)}{CRLF}",
            f"Date: {format_datetime(date)}{CRLF}",
            f"Message-ID: <{message_id}@oms.local>{CRLF}",
            f"MIME-Version: 1.0{CRLF}",
            f'Content-Type: multipart/alternative; boundary="{boundary}"{CRLF}{CRLF}',
            _part("text/plain", text, boundary),
            _part("text/html", html, boundary),
            f"--{boundary}--{CRLF}",
        )
    ).encode()  # ASCII but for an address that needs SMTPUTF8
