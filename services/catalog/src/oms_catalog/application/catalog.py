"""Use cases of the catalog proper: SKUs (with their product, kit and barcode rules) and warehouses."""

from __future__ import annotations

from oms_contracts import Actor
from oms_contracts.messages.catalog import KitComponent as KitComponentMessage
from oms_contracts.messages.catalog import SkuUpserted
from oms_runtime.clock import Clock
from oms_runtime.commands import CommandLoop, Decision, Loaded, NoChange, RetryPolicy
from oms_runtime.events import EventFactory
from oms_runtime.paging import CursorPage

from oms_catalog.application.ports import SkuRecord, SkuRepository, StoredSku, WarehouseRepository
from oms_catalog.application.variants import SkuRules
from oms_catalog.domain.catalog import Sku, Warehouse


def sku_upserted(sku: Sku) -> SkuUpserted:
    return SkuUpserted(
        sku=sku.code,
        name=sku.name,
        price=sku.price,
        active=sku.active,
        product_id=sku.product_id,
        attributes=dict(sku.attributes),
        barcodes=list(sku.barcodes),
        kit=None if sku.kit is None else [KitComponentMessage(sku=c.sku, quantity=c.quantity) for c in sku.kit],
    )


class CatalogService:
    def __init__(
        self,
        skus: SkuRepository,
        warehouses: WarehouseRepository,
        rules: SkuRules,
        events: EventFactory,
        policy: RetryPolicy,
        clock: Clock,
    ) -> None:
        self.clock = clock
        self.skus = skus
        self.loop = CommandLoop(skus, policy, name="skus")
        self.warehouses = warehouses
        self.rules = rules
        self.events = events

    async def upsert_sku(self, shop_id: str, sku: Sku, actor: Actor) -> tuple[StoredSku, bool]:
        """Create or change a SKU, with SkuUpserted when something changed; (stored, changed).

        Raises InvalidCatalogEntry / UnknownReference naming the field (product, kit, barcodes)."""
        await self.rules.before(shop_id, sku)

        changed = False

        def decide(loaded: Loaded[SkuRecord]) -> Decision[SkuRecord] | NoChange:
            nonlocal changed
            # The same amount written alike (10.00 is not 10) is the same SKU.
            stored = loaded.state.sku
            same = stored == sku and str(stored.price.amount) == str(sku.price.amount)
            changed = loaded.is_new or not same
            if not changed:
                return NoChange()  # a repeated PUT: nothing changed, nothing to announce
            event = self.events.new(sku_upserted(sku), shop_id=shop_id, actor=actor)
            return Decision(SkuRecord(sku, self.clock.now()), [event], meta={"shop_id": shop_id})

        saved = await self.loop.run(shop_id, sku.code, decide, new=lambda: SkuRecord(sku, self.clock.now()))
        await self.rules.after(shop_id, sku)
        return StoredSku(saved.state.sku, saved.version, saved.state.updated_at), changed

    async def get_sku(self, shop_id: str, code: str) -> StoredSku | None:
        return await self.skus.get(shop_id, code)

    async def list_skus(
        self, shop_id: str, product_id: str | None, cursor: str | None, limit: int, *, sellable_only: bool = False
    ) -> CursorPage[StoredSku]:
        """SKUs by code (of one product when given); `sellable_only`: the active ones, what a storefront may offer."""
        return await self.skus.page(
            shop_id, active_only=sellable_only, product_id=product_id, cursor=cursor, limit=limit
        )

    async def add_warehouse(self, shop_id: str, warehouse: Warehouse) -> Warehouse:
        """Raises AlreadyExists when the shop has one with that id."""
        return await self.warehouses.add(shop_id, warehouse)

    async def list_warehouses(self, shop_id: str, cursor: str | None, limit: int) -> CursorPage[Warehouse]:
        return await self.warehouses.page(shop_id, cursor, limit)
