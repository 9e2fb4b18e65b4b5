"""The customer's order-status link token: the shared codec (`oms_runtime.order_link`, also read by
payment and fulfilment on the link's document and return routes) behind the order service's port."""

from __future__ import annotations

from datetime import datetime

from oms_runtime.order_link import OrderLinkClaims, OrderLinkCodec, OrderLinkInvalid

from oms_order.application.ports import LinkClaims, LinkInvalid


class JwtOrderLinks:
    def __init__(self, secret: str) -> None:
        self.codec = OrderLinkCodec(secret)

    def sign(self, claims: LinkClaims) -> str:
        return self.codec.sign(OrderLinkClaims(claims.shop_id, claims.order_id, claims.issued_at, claims.expires_at))

    def verify(self, token: str, *, now: datetime) -> LinkClaims:
        try:
            found = self.codec.verify(token, now=now)
        except OrderLinkInvalid as exc:
            raise LinkInvalid(str(exc)) from exc
        return LinkClaims(found.shop_id, found.order_id, found.issued_at, found.expires_at)
