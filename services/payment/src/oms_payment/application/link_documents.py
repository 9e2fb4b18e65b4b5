"""The order's bank-transfer documents for its customer, behind the order-status link (issue 13): the
link's token (issued by the order service, `oms_runtime.order_link`) names the shop and the order."""

from __future__ import annotations

from typing import Literal

from oms_runtime.clock import Clock
from oms_runtime.order_link import OrderLinkCodec

from oms_payment.application.payment_documents import PaymentDocuments

DocumentKind = Literal["invoice", "pd4"]


class LinkDocuments:
    def __init__(self, documents: PaymentDocuments, links: OrderLinkCodec, clock: Clock) -> None:
        self.documents = documents
        self.links = links
        self.clock = clock

    async def render(self, token: str, kind: DocumentKind) -> tuple[str, bytes]:
        """(payment id, PDF). Raises OrderLinkInvalid, PaymentNotFound (no bank transfer), RequisitesMissing."""
        claims = self.links.verify(token, now=self.clock.now())
        payment_id = await self.documents.of_order(claims.shop_id, claims.order_id)
        if kind == "invoice":
            return payment_id, await self.documents.invoice(claims.shop_id, payment_id)
        return payment_id, await self.documents.pd4(claims.shop_id, payment_id)
