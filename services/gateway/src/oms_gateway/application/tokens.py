"""Staff access tokens: HS256 JWTs carrying the staff id, shop and role, checked against our clock."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import jwt
from oms_runtime.clock import Clock

from oms_gateway.domain.access import Principal

ISSUER = "oms-gateway"
ALGORITHM = "HS256"


class InvalidToken(Exception):
    """The bearer token is malformed, forged, or expired."""


@dataclass(frozen=True)
class IssuedToken:
    access_token: str
    expires_in: int


class TokenService:
    def __init__(self, secret: str, lifetime: timedelta, clock: Clock) -> None:
        self._secret = secret
        self._lifetime = lifetime
        self._clock = clock

    def issue(self, *, staff_id: str, shop_id: str, role: str, name: str) -> IssuedToken:
        now = self._clock.now()
        claims = {
            "iss": ISSUER,
            "sub": staff_id,
            "shop": shop_id,
            "role": role,
            "name": name,
            "iat": int(now.timestamp()),
            "exp": int((now + self._lifetime).timestamp()),
        }
        return IssuedToken(jwt.encode(claims, self._secret, algorithm=ALGORITHM), int(self._lifetime.total_seconds()))

    def verify(self, token: str) -> Principal:
        try:
            # Expiry is checked below against the injected clock (pyjwt would use the wall clock).
            claims: dict[str, Any] = jwt.decode(
                token,
                self._secret,
                algorithms=[ALGORITHM],
                issuer=ISSUER,
                options={"verify_exp": False, "verify_iat": False, "require": ["exp", "sub", "shop", "role"]},
            )
        except jwt.PyJWTError as exc:
            raise InvalidToken(str(exc)) from exc
        if not isinstance(claims["exp"], int) or claims["exp"] <= self._clock.now().timestamp():
            raise InvalidToken("token expired")
        return Principal(
            kind="staff",
            id=str(claims["sub"]),
            shop_id=str(claims["shop"]),
            role=str(claims["role"]),
            name=str(claims.get("name") or ""),
        )
