"""A return asked for by the customer through the order-status link (issue 13): the link's token
(issued by the order service, `oms_runtime.order_link`) names the shop and the order; the request is
the same use case as a storefront's (`ReturnsService.request`: only delivered lines, never more than
delivered minus what earlier returns took, Idempotency-Key)."""

from __future__ import annotations

from collections.abc import Sequence

from oms_contracts import Actor
from oms_runtime.clock import Clock
from oms_runtime.order_link import OrderLinkCodec

from oms_fulfilment.application.returns import Requested, ReturnsService
from oms_fulfilment.domain.returns import RequestedLine


class LinkReturns:
    def __init__(self, returns: ReturnsService, links: OrderLinkCodec, clock: Clock) -> None:
        self.returns = returns
        self.links = links
        self.clock = clock

    async def request(
        self,
        token: str,
        lines: Sequence[RequestedLine],
        *,
        correlation_id: str | None = None,
        idempotency_key: str | None = None,
    ) -> Requested:
        """Raises OrderLinkInvalid (forged, expired), OrderNotReturnable, and the use case's refusals."""
        claims = self.links.verify(token, now=self.clock.now())
        return await self.returns.request(
            claims.shop_id,
            claims.order_id,
            lines,
            Actor(kind="customer", id=f"order-link:{claims.order_id}"),
            correlation_id=correlation_id,
            idempotency_key=idempotency_key,
        )
