"""Bank-transfer documents as PDF: GET /payments/{payment_id}/invoice.pdf and /pd4.pdf."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from litestar import Controller, Response, get
from litestar.di import NamedDependency
from litestar.params import FromPath
from oms_runtime.context import Ctx
from oms_runtime.problems import Problem

from oms_payment.application.payment_documents import PaymentDocuments, PaymentMissing, RequisitesMissing

READERS = ("admin", "manager", "storefront")

Documents = NamedDependency[PaymentDocuments]
PaymentId = FromPath[str]


async def _pdf(
    render: Callable[[str, str], Awaitable[bytes]], shop_id: str, payment_id: str, name: str
) -> Response[bytes]:
    try:
        content = await render(shop_id, payment_id)
    except PaymentMissing as exc:
        raise Problem(404, "Not found", str(exc)) from exc
    except RequisitesMissing as exc:
        raise Problem(409, "No bank requisites", str(exc)) from exc
    return Response(
        content,
        media_type="application/pdf",
        headers={"Content-Disposition": f'inline; filename="{name}-{payment_id}.pdf"', "Cache-Control": "no-store"},
    )


class PaymentDocumentController(Controller):
    path = "/payments"
    tags = ["documents"]

    @get(
        "/{payment_id:str}/invoice.pdf",
        summary="Invoice for payment by bank transfer (PDF)",
        media_type="application/pdf",
    )
    async def invoice(self, ctx: Ctx, payment_documents: Documents, payment_id: PaymentId) -> Response[bytes]:
        ctx.require_role(*READERS)
        return await _pdf(payment_documents.invoice, ctx.shop_id, payment_id, "invoice")

    @get("/{payment_id:str}/pd4.pdf", summary="Bank payment slip, form PD-4 (PDF)", media_type="application/pdf")
    async def pd4(self, ctx: Ctx, payment_documents: Documents, payment_id: PaymentId) -> Response[bytes]:
        ctx.require_role(*READERS)
        return await _pdf(payment_documents.pd4, ctx.shop_id, payment_id, "pd4")
