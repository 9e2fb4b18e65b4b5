"""The customer's own view of an order without a storefront backend: a signed, expiring link that
shows the order's status and shipments and lets the customer cancel while the pipeline allows it."""

from __future__ import annotations

from oms_contracts import Actor
from oms_runtime.clock import Clock

from oms_order.application.link_issuer import IssuedLink, LinkIssuer
from oms_order.application.orders import OrderService
from oms_order.application.ports import OrderLinkSigner, StoredOrder

LINK_CHANNEL = "order-link"


class OrderLinks:
    def __init__(self, orders: OrderService, issuer: LinkIssuer, signer: OrderLinkSigner, clock: Clock) -> None:
        self.orders = orders
        self.issuer = issuer
        self.signer = signer
        self.clock = clock

    async def issue(self, shop_id: str, order_id: str) -> IssuedLink:
        """A link to an order of the shop (raises OrderNotFound for another shop's order)."""
        await self.orders.get(shop_id, order_id)
        return self.issuer.issue(shop_id, order_id)

    async def open(self, token: str) -> StoredOrder:
        """The order the link names. Raises LinkInvalid (forged, expired) or OrderNotFound."""
        claims = self.signer.verify(token, now=self.clock.now())
        return await self.orders.get(claims.shop_id, claims.order_id)

    async def cancel(self, token: str, reason: str) -> StoredOrder:
        """The customer cancels through the link while nothing is picked or shipped (CannotCancel after)."""
        claims = self.signer.verify(token, now=self.clock.now())
        stored = await self.orders.get(claims.shop_id, claims.order_id)
        return await self.orders.cancel_by_customer(
            claims.shop_id,
            claims.order_id,
            reason=f"cancelled by the customer: {reason}",
            actor=Actor(kind="customer", id=str(stored.order.customer.email), name=stored.order.customer.name),
            channel=LINK_CHANNEL,
        )

    async def feedback(
        self, token: str, *, rating: int, comment: str | None, line_ratings: dict[str, int]
    ) -> StoredOrder:
        """The customer rates the delivered order through the link (once)."""
        claims = self.signer.verify(token, now=self.clock.now())
        stored = await self.orders.get(claims.shop_id, claims.order_id)
        return await self.orders.leave_feedback(
            claims.shop_id,
            claims.order_id,
            rating=rating,
            comment=comment,
            line_ratings=line_ratings,
            actor=Actor(kind="customer", id=str(stored.order.customer.email), name=stored.order.customer.name),
            channel=LINK_CHANNEL,
        )
