"""The signature scheme of webhooks that enter through the gateway (payment sandbox, carriers).

Header value `t=<unix seconds>,v1=<hex>` where hex = HMAC-SHA256(secret, "<t>." + raw body), the
scheme real providers use: the timestamp is inside the signed text, so an old webhook cannot be
replayed with a fresh `t`, and a tolerance window bounds how old a valid one may be. Replays inside
the window are caught by the receiver's idempotency (the event id it records), not here.
"""

from __future__ import annotations

import hashlib
import hmac


class InvalidSignature(ValueError):
    """Why a webhook's signature is refused (safe to tell the sender)."""


def sign(secret: str, timestamp: int, body: bytes) -> str:
    return hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()


def signature_header(secret: str, timestamp: int, body: bytes) -> str:
    return f"t={timestamp},v1={sign(secret, timestamp, body)}"


def verify(header: str | None, secret: str, body: bytes, *, now: float, tolerance_seconds: float) -> None:
    """Raise InvalidSignature unless `header` signs `body` with `secret` within the tolerance of `now`."""
    parts = dict(p.split("=", 1) for p in (header or "").split(",") if "=" in p)
    try:
        timestamp = int(parts["t"])
        given = parts["v1"]
    except (KeyError, ValueError) as exc:
        raise InvalidSignature("signature header must be t=<unix seconds>,v1=<hex>") from exc
    if not hmac.compare_digest(sign(secret, timestamp, body).encode(), given.encode()):
        raise InvalidSignature("signature does not match")
    if abs(now - timestamp) > tolerance_seconds:
        raise InvalidSignature("signature timestamp outside the tolerance window: a replay or a skewed clock")
