"""The local projections of other services' data that pricing needs: SKU prices and price lists
(catalog), delivery methods (fulfilment) and available stock (catalog). Newest version wins, so
replays and any arrival order are harmless."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from oms_contracts import Envelope
from oms_contracts.messages.catalog import SkuPriceChanged, SkuUpserted, StockLevelChanged
from oms_contracts.messages.fulfilment import DeliveryMethodChanged
from oms_runtime.telemetry import get_logger

from oms_order.application.ports import DeliveryRates, PriceListPrices, SkuPrices, StockLevels
from oms_order.domain.price_lists import ListPrice

log = get_logger(__name__)


class Projections:
    def __init__(
        self, prices: SkuPrices, list_prices: PriceListPrices, rates: DeliveryRates, stock: StockLevels
    ) -> None:
        self.prices = prices
        self.list_prices = list_prices
        self.rates = rates
        self.stock = stock

    async def on_sku_upserted(self, envelope: Envelope[SkuUpserted]) -> None:
        sku = envelope.payload
        kept = await self.prices.upsert(
            envelope.shop_id, sku=sku.sku, name=sku.name, price=sku.price, active=sku.active, as_of=envelope.occurred_at
        )
        if not kept:
            log.info("stale SKU version ignored", sku=sku.sku, occurred_at=envelope.occurred_at.isoformat())

    async def on_sku_price_changed(self, envelope: Envelope[SkuPriceChanged]) -> None:
        event = envelope.payload
        entry = ListPrice(
            price_list_id=event.price_list_id,
            sku=event.sku,
            customer_group=event.customer_group,
            price=event.price,
            valid_from=event.valid_from,
            valid_to=event.valid_to,
        )
        kept = await self.list_prices.apply(envelope.shop_id, entry, removed=event.removed, as_of=envelope.occurred_at)
        if not kept:
            log.info("stale price-list entry ignored", sku=event.sku, price_list_id=event.price_list_id)

    async def on_delivery_method(self, envelope: Envelope[DeliveryMethodChanged]) -> None:
        await self.rates.apply(envelope.shop_id, envelope.payload, as_of=envelope.occurred_at)

    async def on_stock_level(self, envelope: Envelope[StockLevelChanged]) -> None:
        e = envelope.payload
        await self.stock.apply(envelope.shop_id, e.sku, e.warehouse_id, e.available, as_of=envelope.occurred_at)

    async def on_stock_levels(self, envelopes: Sequence[Envelope[Any]]) -> None:
        """Several levels from one batch (the consumer hands over one SKU's, its key): newest wins per
        SKU and warehouse, so only the newest of each is written (what writing each in turn would leave)."""
        newest: dict[tuple[str, str, str], Envelope[Any]] = {}
        for envelope in envelopes:
            place = (envelope.shop_id, envelope.payload.sku, envelope.payload.warehouse_id)
            known = newest.get(place)
            if known is None or envelope.occurred_at >= known.occurred_at:
                newest[place] = envelope
        for envelope in newest.values():
            await self.on_stock_level(envelope)
