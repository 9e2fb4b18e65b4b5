"""Shipment documents as PDF: waybill, packing slip, shipping label (through the gateway's shipments rows)."""

from __future__ import annotations

from litestar import Controller, Response, get
from litestar.di import NamedDependency
from litestar.params import FromPath
from oms_runtime.context import Ctx, requires

from oms_fulfilment.application.shipment_documents import ShipmentDocuments

READERS = ("admin", "manager", "warehouse", "courier")

Documents = NamedDependency[ShipmentDocuments]
ShipmentId = FromPath[str]


def pdf(content: bytes, filename: str) -> Response[bytes]:
    return Response(
        content,
        media_type="application/pdf",
        headers={"Content-Disposition": f'inline; filename="{filename}"', "Cache-Control": "no-store"},
    )


class ShipmentDocumentController(Controller):
    path = "/shipments"
    tags = ["documents"]
    guards = [requires(*READERS)]

    @get("/{shipment_id:str}/waybill.pdf", summary="Waybill / delivery note (PDF)", media_type="application/pdf")
    async def waybill(self, ctx: Ctx, shipment_documents: Documents, shipment_id: ShipmentId) -> Response[bytes]:
        return pdf(await shipment_documents.waybill(ctx.shop_id, shipment_id), f"waybill-{shipment_id}.pdf")

    @get("/{shipment_id:str}/packing-slip.pdf", summary="Packing slip (PDF)", media_type="application/pdf")
    async def packing_slip(self, ctx: Ctx, shipment_documents: Documents, shipment_id: ShipmentId) -> Response[bytes]:
        content = await shipment_documents.packing_slip(ctx.shop_id, shipment_id)
        return pdf(content, f"packing-slip-{shipment_id}.pdf")

    @get(
        "/{shipment_id:str}/label.pdf",
        summary="Shipping label with a Code 128 barcode (PDF)",
        media_type="application/pdf",
    )
    async def label(self, ctx: Ctx, shipment_documents: Documents, shipment_id: ShipmentId) -> Response[bytes]:
        return pdf(await shipment_documents.label(ctx.shop_id, shipment_id), f"label-{shipment_id}.pdf")
