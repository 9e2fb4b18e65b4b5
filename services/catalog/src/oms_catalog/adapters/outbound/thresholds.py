"""Low-stock thresholds: one document per (shop, SKU) in `stock_thresholds`.

Why a per-SKU document and not the stock document: the threshold is on the SKU's total across
warehouses, and that total lives on several stock documents; no single stock update knows it.
So after every stored stock change (StockRepository.on_changed) the SKU's threshold document is
re-evaluated: read the document, THEN sum available over the SKU's stock documents, and write
`low` together with the LowStockReached event into its own outbox in one update filtered on the
version read. Reading the document first means a later writer always summed after every change
an earlier writer saw; two racing evaluations cannot both announce (the version filter), and the
loser re-decides on fresh figures. Nothing is written while the state does not change, so the hot
reservation path pays one indexed read per change of a SKU without a threshold.
"""

from __future__ import annotations

from typing import Any

from oms_contracts import Actor, Envelope
from oms_contracts.messages.catalog import LowStockReached
from oms_runtime.clock import Clock
from oms_runtime.mongo import Document
from oms_runtime.store import AggregateStore, ConcurrencyError
from pymongo.errors import DuplicateKeyError

from oms_catalog.adapters.outbound.mongo import Page, StockRepository, _key, page_by_key
from oms_catalog.domain.thresholds import Crossing, crossing

SYSTEM = Actor.system("catalog")
ATTEMPTS = 50


class ThresholdRepository:
    def __init__(self, store: AggregateStore, stock: StockRepository, clock: Clock) -> None:
        self.store = store
        self.stock = stock
        self.clock = clock

    async def total_available(self, shop_id: str, sku: str) -> int:
        per_warehouse = await self.stock.availability(shop_id, [sku])
        return sum(max(levels.get(sku, 0), 0) for levels in per_warehouse.values())

    async def totals(self, shop_id: str, skus: list[str]) -> dict[str, int]:
        per_warehouse = await self.stock.availability(shop_id, skus)
        totals = dict.fromkeys(skus, 0)
        for levels in per_warehouse.values():
            for sku, available in levels.items():
                totals[sku] = totals.get(sku, 0) + max(available, 0)
        return totals

    async def get(self, shop_id: str, sku: str) -> Document | None:
        return await self.store.get(shop_id, _key(shop_id, sku))

    def _event(self, shop_id: str, sku: str, available: int, threshold: int, actor: Actor) -> Envelope[Any]:
        return Envelope.new(
            LowStockReached(sku=sku, available=available, threshold=threshold),
            shop_id=shop_id,
            actor=actor,
            occurred_at=self.clock.now(),
        )

    async def set_threshold(self, shop_id: str, sku: str, threshold: int, actor: Actor) -> Document:
        for _ in range(ATTEMPTS):
            doc = await self.get(shop_id, sku)
            available = await self.total_available(shop_id, sku)
            low_before = bool(doc and doc["low"])
            # A new threshold is judged afresh against the current stock.
            move = crossing(low_before, threshold, available)
            low = move is Crossing.REACHED or (low_before and move is Crossing.NONE)
            events = [self._event(shop_id, sku, available, threshold, actor)] if move is Crossing.REACHED else []
            now = self.clock.now()
            fields = {"threshold": threshold, "low": low, "available": available, "updated_at": now}
            try:
                if doc is None:
                    new = {"_id": _key(shop_id, sku), "shop_id": shop_id, "sku": sku, **fields, "created_at": now}
                    return await self.store.create(new, events=events)
                return await self.store.update(shop_id, doc["_id"], doc["version"], set_fields=fields, events=events)
            except (DuplicateKeyError, ConcurrencyError):
                continue
        raise ConcurrencyError("stock_thresholds", _key(shop_id, sku), -1)

    async def evaluate(self, shop_id: str, sku: str) -> None:
        """After a stock change of `sku`: announce a crossing, or re-arm. Idempotent."""
        for _ in range(ATTEMPTS):
            doc = await self.get(shop_id, sku)
            if doc is None:
                return  # no threshold for this SKU
            available = await self.total_available(shop_id, sku)
            move = crossing(doc["low"], doc["threshold"], available)
            if move is Crossing.NONE:
                return
            events = (
                [self._event(shop_id, sku, available, doc["threshold"], SYSTEM)] if move is Crossing.REACHED else []
            )
            try:
                await self.store.update(
                    shop_id,
                    doc["_id"],
                    doc["version"],
                    set_fields={
                        "low": move is Crossing.REACHED,
                        "available": available,
                        "updated_at": self.clock.now(),
                    },
                    events=events,
                )
                return
            except ConcurrencyError:
                continue

    async def list_low(self, shop_id: str, cursor: str | None, limit: int) -> Page:
        return await page_by_key(self.store.collection, {"shop_id": shop_id, "low": True}, "sku", cursor, limit)
