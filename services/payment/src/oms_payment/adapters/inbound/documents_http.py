"""Bank-transfer documents as PDF: GET /payments/{payment_id}/invoice.pdf and /pd4.pdf."""

from __future__ import annotations

from litestar import Controller, Response, get
from litestar.di import NamedDependency
from litestar.params import FromPath
from oms_runtime.context import Ctx, requires

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
