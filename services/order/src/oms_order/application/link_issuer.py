"""Issuing the customer's signed, expiring order-status link (used at placement, for the email, and
by the storefront's `POST /orders/{id}/status-link`)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from oms_runtime.clock import Clock

from oms_order.application.ports import LinkClaims, OrderLinkSigner

LINK_PATH = "/api/v1/order-status/"


@dataclass(frozen=True)
class IssuedLink:
    token: str
    url: str
    expires_at: datetime


class LinkIssuer:
    def __init__(self, signer: OrderLinkSigner, clock: Clock, *, lifetime: timedelta, base_url: str) -> None:
        self.signer = signer
        self.clock = clock
        self.lifetime = lifetime
        self.base_url = base_url.rstrip("/")

    def issue(self, shop_id: str, order_id: str) -> IssuedLink:
        now = self.clock.now()
        claims = LinkClaims(shop_id=shop_id, order_id=order_id, issued_at=now, expires_at=now + self.lifetime)
        token = self.signer.sign(claims)
        return IssuedLink(token=token, url=f"{self.base_url}{LINK_PATH}{token}", expires_at=claims.expires_at)

    def page_url(self, token: str) -> str:
        """The customer's page of this token; its documents and returns live under it."""
        return f"{self.base_url}{LINK_PATH}{token}"

    def url_for(self, shop_id: str, order_id: str) -> str:
        return self.issue(shop_id, order_id).url
