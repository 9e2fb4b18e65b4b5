"""From catalog: SkuUpserted, projected as the barcodes the pack station checks scans against."""

from __future__ import annotations

from typing import Any

from oms_contracts import Envelope
from oms_contracts.messages.catalog import SkuUpserted
from oms_runtime.consumer import MessageConsumer

from oms_fulfilment.application.ports import Barcodes


def register(catalog: MessageConsumer, barcodes: Barcodes) -> None:
    async def on_sku_upserted(envelope: Envelope[Any]) -> None:
        sku: SkuUpserted = envelope.payload
        await barcodes.upsert(envelope.shop_id, sku.sku, list(sku.barcodes), envelope.occurred_at)

    catalog.on(SkuUpserted, on_sku_upserted)
