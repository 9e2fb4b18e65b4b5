"""SKUs, thresholds, price lists and purchasing over fakes: each change announced once, by the application."""

from __future__ import annotations

from decimal import Decimal

import pytest
from oms_catalog.application.errors import UnknownPriceList, UnknownReference
from oms_catalog.application.purchasing import NothingToOrder
from oms_catalog.application.stock import NotHeldByOrders
from oms_catalog.domain.allocation import Line
from oms_catalog.domain.catalog import InvalidCatalogEntry, Sku, Warehouse
from oms_catalog.domain.kits import KitComponent
from oms_catalog.domain.products import Product
from oms_catalog.domain.purchasing import PoLine, PurchaseOrderStatus, PurchasingError, Supplier, WrongStatus
from oms_contracts import Actor, Money

from .fakes import SHOP, FakeProducts, FakeSuppliers, FakeWarehouses, World

ADMIN = Actor(kind="staff", id="boss", role="admin")


def _world() -> World:
    return World(
        warehouses=FakeWarehouses(Warehouse("msk", "Moscow", "msk")),
        products=FakeProducts(Product("tee", "Tee", ("size",))),
        suppliers=FakeSuppliers(Supplier("acme", "ACME")),
    )


def _sku(code: str, amount: str = "10.00", **fields: object) -> Sku:
    return Sku(code, f"Item {code}", Money.of(amount, "RUB"), **fields)  # type: ignore[arg-type]


async def test_a_sku_is_announced_when_it_changes_and_only_then() -> None:
    world = _world()
    stored, changed = await world.catalog.upsert_sku(SHOP, _sku("A"), ADMIN)
    assert changed and stored.version == 1
    assert not (await world.catalog.upsert_sku(SHOP, _sku("A"), ADMIN))[1]
    assert (await world.catalog.upsert_sku(SHOP, _sku("A", "10.0"), ADMIN))[1]  # written otherwise: stored as sent
    _, changed = await world.catalog.upsert_sku(SHOP, _sku("A", "12.00"), ADMIN)
    assert changed
    events = world.events_of("SkuUpserted")
    assert [str(e.payload.price.amount) for e in events] == ["10.00", "10.0", "12.00"]
    assert all(e.actor == ADMIN for e in events)


async def test_a_lost_race_on_a_sku_is_decided_again() -> None:
    world = _world()
    await world.catalog.upsert_sku(SHOP, _sku("A"), ADMIN)
    world.skus.race(1)
    stored, changed = await world.catalog.upsert_sku(SHOP, _sku("A", "11.00"), ADMIN)
    assert changed and stored.sku.price.amount == Decimal("11.00")
    assert len(world.events_of("SkuUpserted")) == 2


async def test_variant_kit_and_barcode_rules_name_the_field() -> None:
    world = _world()
    with pytest.raises(UnknownReference) as unknown:
        await world.catalog.upsert_sku(SHOP, _sku("V", product_id="nope"), ADMIN)
    assert unknown.value.field == "product_id"
    with pytest.raises(InvalidCatalogEntry) as missing:
        await world.catalog.upsert_sku(SHOP, _sku("V", product_id="tee"), ADMIN)
    assert missing.value.field == "attributes.size"
    await world.catalog.upsert_sku(SHOP, _sku("C", barcodes=("111",)), ADMIN)
    with pytest.raises(InvalidCatalogEntry) as taken:
        await world.catalog.upsert_sku(SHOP, _sku("D", barcodes=("111",)), ADMIN)
    assert taken.value.field == "barcodes[0]"
    await world.catalog.upsert_sku(SHOP, _sku("K", kit=(KitComponent("C", 2),)), ADMIN)
    with pytest.raises(InvalidCatalogEntry) as nested:
        await world.catalog.upsert_sku(SHOP, _sku("C", kit=(KitComponent("D", 1),)), ADMIN)
    assert nested.value.field in ("kit", "kit[0].sku")
    assert len(world.events_of("SkuUpserted")) == 2  # C and K; nothing refused was stored


async def test_low_stock_is_announced_once_per_crossing_and_a_count_below_holds_refused() -> None:
    world = _world()
    await world.catalog.upsert_sku(SHOP, _sku("A"), ADMIN)
    await world.stock.receive(SHOP, receipt_id="r1", sku="A", warehouse_id="msk", quantity=10, note=None, actor=ADMIN)
    threshold = await world.thresholds.set_threshold(SHOP, "A", 5, ADMIN)
    assert (threshold.low, threshold.available) == (False, 10)
    for order_id in ("o-1", "o-2", "o-3"):
        await world.reservations.reserve(SHOP, order_id, [Line("A", 2)], None)  # 8, 6, 4 left
    [reached] = world.events_of("LowStockReached")
    assert (reached.payload.available, reached.payload.threshold) == (4, 5)
    assert reached.actor == world.events.system_actor
    assert [t.sku for t in (await world.thresholds.list_low(SHOP, None, 10)).items] == ["A"]
    with pytest.raises(NotHeldByOrders) as held:
        await world.stock.adjust(
            SHOP, adjustment_id="a1", sku="A", warehouse_id="msk", delta=-5, reason="lost", actor=ADMIN
        )
    assert held.value.field == "delta"
    with pytest.raises(UnknownReference):
        await world.thresholds.set_threshold(SHOP, "NOPE", 1, ADMIN)


async def test_prices_are_announced_on_change_and_a_currency_change_removes_the_old_entry_first() -> None:
    world = _world()
    await world.catalog.upsert_sku(SHOP, _sku("A"), ADMIN)
    await world.price_lists.upsert_list(SHOP, "dealer", "Dealer", "RUB", "dealer", None, None, actor=ADMIN)
    assert await world.price_lists.set_price(SHOP, "dealer", "A", Decimal("8.50"), actor=ADMIN)
    assert not await world.price_lists.set_price(SHOP, "dealer", "A", Decimal("8.50"), actor=ADMIN)
    await world.price_lists.upsert_list(SHOP, "dealer", "Dealer", "EUR", "dealer", None, None, actor=ADMIN)
    changes = [(e.payload.price.currency, e.payload.removed) for e in world.events_of("SkuPriceChanged")]
    assert changes == [("RUB", False), ("RUB", True), ("EUR", False)]
    assert await world.price_lists.remove_price(SHOP, "dealer", "A", actor=ADMIN)
    assert not await world.price_lists.remove_price(SHOP, "dealer", "A", actor=ADMIN)
    assert await world.price_lists.get_price(SHOP, "dealer", "A") is None
    with pytest.raises(UnknownPriceList):
        await world.price_lists.set_price(SHOP, "retail", "A", Decimal(1), actor=ADMIN)
    with pytest.raises(UnknownReference) as sku:
        await world.price_lists.set_price(SHOP, "dealer", "NOPE", Decimal(1), actor=ADMIN)
    assert sku.value.field == "sku"


async def test_a_purchase_order_is_sent_then_received_through_the_ledger_once_per_receipt() -> None:
    world = _world()
    await world.catalog.upsert_sku(SHOP, _sku("A"), ADMIN)
    cost = Money.of("1.00", "RUB")
    created = await world.purchasing.create(SHOP, "acme", "msk", [PoLine("A", 10, cost)], ADMIN)
    po_id = created.order.id
    sent = await world.purchasing.send(SHOP, po_id, ADMIN)
    assert sent.order.status is PurchaseOrderStatus.SENT
    with pytest.raises(WrongStatus):
        await world.purchasing.send(SHOP, po_id, ADMIN)
    first, applied = await world.purchasing.receive(SHOP, po_id, "r1", [("A", 6)], ADMIN)
    assert applied and first.order.status is PurchaseOrderStatus.PARTLY_RECEIVED
    _, replayed = await world.purchasing.receive(SHOP, po_id, "r1", [("A", 6)], ADMIN)
    assert not replayed
    with pytest.raises(PurchasingError) as over:
        await world.purchasing.receive(SHOP, po_id, "r2", [("A", 5)], ADMIN)
    assert over.value.field == "lines[0].quantity"
    assert world.stock_store.level("A", "msk").on_hand == 6
    assert [e.type for e in world.orders.events] == ["PurchaseOrderSent", "PurchaseOrderReceived"]
    assert [h["action"] for h in world.orders.history] == ["sent", "received"]
    with pytest.raises(NothingToOrder):
        await world.purchasing.create_from_low_stock(SHOP, "acme", "msk", {}, ADMIN)
