"""The customer's order-status link token, shared by the services that answer on the link (ADR 00XX
"the signed link is checked where the thing lives"): the order service issues it and answers the
order page; payment serves the order's documents and fulfilment takes a return request with the same
token, each checking it itself (no service asks another one over HTTP).

A JWT (HS256, PyJWT) naming the shop and the order, with an expiry and an audience of its own, so no
other token of the system passes for it. Every service reading it is given the same secret
(`OMS_ORDER_LINK_SECRET`). Expiry is checked against the caller's clock (testable), not PyJWT's.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import jwt

AUDIENCE = "oms-order-status"
DEV_SECRET = "dev-only-order-links-change-me-0123456789"  # >= 32 bytes, as HS256 wants; set a real one


@dataclass(frozen=True)
class OrderLinkClaims:
    shop_id: str
    order_id: str
    issued_at: datetime
    expires_at: datetime


class OrderLinkInvalid(Exception):
    """A link token that is forged, for another purpose, malformed or expired (answer it as not found)."""


class OrderLinkCodec:
    def __init__(self, secret: str) -> None:
        if len(secret.encode()) < 32:
            raise ValueError("the order-link secret needs at least 32 bytes (HS256)")
        self.secret = secret

    def sign(self, claims: OrderLinkClaims) -> str:
        payload = {
            "aud": AUDIENCE,
            "shop": claims.shop_id,
            "ord": claims.order_id,
            "iat": int(claims.issued_at.timestamp()),
            "exp": int(claims.expires_at.timestamp()),
        }
        return jwt.encode(payload, self.secret, algorithm="HS256")

    def verify(self, token: str, *, now: datetime) -> OrderLinkClaims:
        """Raises OrderLinkInvalid."""
        try:
            payload = jwt.decode(
                token,
                self.secret,
                algorithms=["HS256"],
                audience=AUDIENCE,
                options={"require": ["exp", "iat", "aud", "shop", "ord"], "verify_exp": False},
            )
        except jwt.PyJWTError as exc:
            raise OrderLinkInvalid("the link is not valid") from exc
        claims = OrderLinkClaims(
            shop_id=str(payload["shop"]),
            order_id=str(payload["ord"]),
            issued_at=datetime.fromtimestamp(int(payload["iat"]), tz=now.tzinfo),
            expires_at=datetime.fromtimestamp(int(payload["exp"]), tz=now.tzinfo),
        )
        if now >= claims.expires_at:
            raise OrderLinkInvalid("the link has expired: ask the shop for a new one")
        return claims
