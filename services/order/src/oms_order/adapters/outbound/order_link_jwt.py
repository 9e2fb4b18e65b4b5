"""The customer's order-status link token: a JWT (HS256, PyJWT) naming the shop and the order, with
an expiry and an audience of its own, so no other token of the system passes for it."""

from __future__ import annotations

from datetime import datetime

import jwt

from oms_order.application.ports import LinkClaims, LinkInvalid

AUDIENCE = "oms-order-status"


class JwtOrderLinks:
    def __init__(self, secret: str) -> None:
        if len(secret.encode()) < 32:
            raise ValueError("the order-link secret needs at least 32 bytes (HS256)")
        self.secret = secret

    def sign(self, claims: LinkClaims) -> str:
        payload = {
            "aud": AUDIENCE,
            "shop": claims.shop_id,
            "ord": claims.order_id,
            "iat": int(claims.issued_at.timestamp()),
            "exp": int(claims.expires_at.timestamp()),
        }
        return jwt.encode(payload, self.secret, algorithm="HS256")

    def verify(self, token: str, *, now: datetime) -> LinkClaims:
        try:
            payload = jwt.decode(
                token,
                self.secret,
                algorithms=["HS256"],
                audience=AUDIENCE,
                options={"require": ["exp", "iat", "aud", "shop", "ord"], "verify_exp": False},
            )
        except jwt.PyJWTError as exc:
            raise LinkInvalid("the link is not valid") from exc
        claims = LinkClaims(
            shop_id=str(payload["shop"]),
            order_id=str(payload["ord"]),
            issued_at=datetime.fromtimestamp(int(payload["iat"]), tz=now.tzinfo),
            expires_at=datetime.fromtimestamp(int(payload["exp"]), tz=now.tzinfo),
        )
        # Expiry against the service's clock (testable), not the wall clock inside PyJWT.
        if now >= claims.expires_at:
            raise LinkInvalid("the link has expired: ask the shop for a new one")
        return claims
