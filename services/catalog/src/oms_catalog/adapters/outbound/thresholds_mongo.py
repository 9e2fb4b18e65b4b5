"""Low-stock thresholds (`stock_thresholds`): one aggregate per (shop, SKU) with its outbox.

Why a per-SKU document and not the stock document: the threshold is on the SKU's total across
warehouses, which lives on several stock documents; no single stock update knows it. See
application/thresholds.py for how a crossing is decided and announced.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from oms_runtime.clock import Clock
from oms_runtime.commands import Decision, Loaded
from oms_runtime.errors import ConcurrencyError
from oms_runtime.mongo import Document
from oms_runtime.paging import CursorPage
from oms_runtime.store import AggregateStore
from pymongo.errors import DuplicateKeyError

from oms_catalog.adapters.outbound.mongo import doc_id, page_by_key
from oms_catalog.application.ports import Threshold


def threshold_from_doc(doc: Document) -> Threshold:
    return Threshold(doc["shop_id"], doc["sku"], doc["threshold"], doc["low"], doc.get("available") or 0)


class ThresholdMongo:
    """Implements `ThresholdRepository` (the command loop's `CommandRepository[Threshold]`)."""

    def __init__(self, store: AggregateStore, clock: Clock) -> None:
        self.store = store
        self.clock = clock

    async def load(self, shop_id: str, aggregate_id: str) -> Loaded[Threshold] | None:
        doc = await self.store.get(shop_id, doc_id(shop_id, aggregate_id))
        return None if doc is None else Loaded(threshold_from_doc(doc), doc["version"])

    async def load_many(self, shop_id: str, skus: Sequence[str]) -> dict[str, Loaded[Threshold]]:
        # Side by side: the store's loads of concurrent callers go out as one `$in` read.
        found = await asyncio.gather(*(self.load(shop_id, sku) for sku in skus))
        return {sku: loaded for sku, loaded in zip(skus, found, strict=True) if loaded is not None}

    async def save(
        self, loaded: Loaded[Threshold], decision: Decision[Threshold], applied_event_id: str | None
    ) -> Loaded[Threshold]:
        t = decision.state
        key = doc_id(t.shop_id, t.sku)
        now = self.clock.now()
        fields = {"threshold": t.threshold, "low": t.low, "available": t.available, "updated_at": now}
        if loaded.is_new:
            doc = {"_id": key, "shop_id": t.shop_id, "sku": t.sku, **fields, "created_at": now}
            try:
                await self.store.create(doc, events=decision.events)
            except DuplicateKeyError as exc:
                raise ConcurrencyError(self.store.name, key, 0) from exc
            return Loaded(t, 1)
        stored = await self.store.update(
            t.shop_id,
            key,
            loaded.version,
            set_fields=fields,
            events=decision.events,
            applied_event_id=applied_event_id,
            fields=(),  # the decision is the new state: only its version comes back
        )
        return Loaded(t, stored["version"])

    async def page_low(self, shop_id: str, cursor: str | None, limit: int) -> CursorPage[Threshold]:
        query = {"shop_id": shop_id, "low": True}
        return await page_by_key(self.store.collection, query, "sku", cursor, limit, threshold_from_doc)
