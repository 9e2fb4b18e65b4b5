"""Bank-transfer documents as PDF: GET /payments/{payment_id}/invoice.pdf and /pd4.pdf."""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, Response, get
from litestar.di import NamedDependency
from litestar.params import FromPath, PathParameter
from oms_runtime.context import Ctx, requires

from oms_payment.application.link_documents import LinkDocuments
from oms_payment.application.payment_documents import PaymentDocuments

Documents = NamedDependency[PaymentDocuments]
PaymentId = FromPath[str]


def _pdf(content: bytes, payment_id: str, name: str) -> Response[bytes]:
    return Response(
        content,
        media_type="application/pdf",
        headers={"Content-Disposition": f'inline; filename="{name}-{payment_id}.pdf"', "Cache-Control": "no-store"},
    )


class PaymentDocumentController(Controller):
    path = "/payments"
    tags = ["documents"]
    guards = [requires("admin", "manager", "storefront")]

    @get(
        "/{payment_id:str}/invoice.pdf",
        summary="Invoice for payment by bank transfer (PDF)",
        media_type="application/pdf",
    )
    async def invoice(self, ctx: Ctx, payment_documents: Documents, payment_id: PaymentId) -> Response[bytes]:
        return _pdf(await payment_documents.invoice(ctx.shop_id, payment_id), payment_id, "invoice")

    @get("/{payment_id:str}/pd4.pdf", summary="Bank payment slip, form PD-4 (PDF)", media_type="application/pdf")
    async def pd4(self, ctx: Ctx, payment_documents: Documents, payment_id: PaymentId) -> Response[bytes]:
        return _pdf(await payment_documents.pd4(ctx.shop_id, payment_id), payment_id, "pd4")


Token = Annotated[str, PathParameter(min_length=20, max_length=1000, description="The order-status link's token")]


class OrderLinkDocumentController(Controller):
    """The customer's copy behind the order-status link: no credential, the signed token is the key."""

    path = "/order-documents/{token:str}"
    tags = ["documents"]

    @get(
        "/invoice.pdf",
        summary="The order's invoice for payment by bank transfer (PDF), by the link",
        media_type="application/pdf",
    )
    async def invoice(self, link_documents: NamedDependency[LinkDocuments], token: Token) -> Response[bytes]:
        payment_id, content = await link_documents.render(token, "invoice")
        return _pdf(content, payment_id, "invoice")

    @get("/pd4.pdf", summary="The order's bank payment slip PD-4 (PDF), by the link", media_type="application/pdf")
    async def pd4(self, link_documents: NamedDependency[LinkDocuments], token: Token) -> Response[bytes]:
        payment_id, content = await link_documents.render(token, "pd4")
        return _pdf(content, payment_id, "pd4")
