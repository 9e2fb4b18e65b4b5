"""Shipment documents as PDF: waybill, packing slip, shipping label (through the gateway's shipments rows)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager

from litestar import Controller, Response, get
from litestar.di import NamedDependency
from litestar.params import FromPath
from oms_runtime.context import Ctx
from oms_runtime.problems import Problem

from oms_fulfilment.application.shipment_documents import NotShippedYet, ShipmentDocuments, ShipmentMissing

READERS = ("admin", "manager", "warehouse", "courier")

Documents = NamedDependency[ShipmentDocuments]
ShipmentId = FromPath[str]


def pdf(content: bytes, filename: str) -> Response[bytes]:
    return Response(
        content,
        media_type="application/pdf",
        headers={"Content-Disposition": f'inline; filename="{filename}"', "Cache-Control": "no-store"},
    )


@contextmanager
def document_problems() -> Iterator[None]:
    try:
        yield
    except ShipmentMissing as exc:
        raise Problem(404, "Not found", str(exc)) from exc
    except NotShippedYet as exc:
        raise Problem(409, "Not shipped yet", str(exc)) from exc


async def _render(render: Callable[[str, str], Awaitable[bytes]], shop_id: str, shipment_id: str) -> bytes:
    with document_problems():
        return await render(shop_id, shipment_id)


class ShipmentDocumentController(Controller):
    path = "/shipments"
    tags = ["documents"]

    @get("/{shipment_id:str}/waybill.pdf", summary="Waybill / delivery note (PDF)", media_type="application/pdf")
    async def waybill(self, ctx: Ctx, shipment_documents: Documents, shipment_id: ShipmentId) -> Response[bytes]:
        ctx.require_role(*READERS)
        return pdf(await _render(shipment_documents.waybill, ctx.shop_id, shipment_id), f"waybill-{shipment_id}.pdf")

    @get("/{shipment_id:str}/packing-slip.pdf", summary="Packing slip (PDF)", media_type="application/pdf")
    async def packing_slip(self, ctx: Ctx, shipment_documents: Documents, shipment_id: ShipmentId) -> Response[bytes]:
        ctx.require_role(*READERS)
        content = await _render(shipment_documents.packing_slip, ctx.shop_id, shipment_id)
        return pdf(content, f"packing-slip-{shipment_id}.pdf")

    @get(
        "/{shipment_id:str}/label.pdf",
        summary="Shipping label with a Code 128 barcode (PDF)",
        media_type="application/pdf",
    )
    async def label(self, ctx: Ctx, shipment_documents: Documents, shipment_id: ShipmentId) -> Response[bytes]:
        ctx.require_role(*READERS)
        return pdf(await _render(shipment_documents.label, ctx.shop_id, shipment_id), f"label-{shipment_id}.pdf")
