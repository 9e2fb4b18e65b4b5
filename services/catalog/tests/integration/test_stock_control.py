"""Settings and allocation strategy, reservation expiry with a controllable clock, partial release,
low-stock thresholds and purchasing — against the real store and broker."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from litestar.testing import AsyncTestClient
from oms_catalog.adapters.outbound.mongo import INDEXES
from oms_catalog.bootstrap import Catalog, build, create_app
from oms_catalog.domain.allocation import Line
from oms_catalog.domain.purchasing import PurchasingError
from oms_catalog.settings import CatalogSettings
from oms_contracts import Actor, Envelope, Money, decode, new_id
from oms_contracts.messages.catalog import ReleaseStock
from oms_contracts.messages.common import SkuQuantity
from oms_contracts.messages.payment import PaymentCaptured, PaymentRequested
from oms_contracts.registry import CATALOG_COMMANDS, CATALOG_PURCHASING, CATALOG_RESERVATIONS, CATALOG_STOCK
from oms_runtime.cli import migrate
from oms_runtime.clock import FixedClock
from oms_runtime.commands import Decision, Loaded
from oms_runtime.consumer import INBOX_INDEXES
from oms_runtime.store import ConcurrencyError
from oms_testing import eventually
from oms_testing.kafka import TopicReader, produce_raw
from oms_testing.metrics import messages_consumed

from .conftest import Service

T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
ORDER = Actor.system("order")
PAYMENT = Actor.system("payment")


@pytest.fixture
async def clocked(infra: Any, topic_prefix: str, shop_id: str) -> AsyncIterator[tuple[Service, FixedClock]]:
    clock = FixedClock(T0)
    settings = infra.settings(
        CatalogSettings,
        topic_prefix,
        "catalog",
        relay_poll_seconds=0.1,
        ledger_flush_seconds=0.2,
        # The app and the test's own `build` are two processes' worth of objects: nothing kept between reads.
        shop_reads_kept_seconds=0,
        log_json=False,
    )
    await migrate(settings, [*INDEXES, *INBOX_INDEXES])
    app = create_app(settings, clock=clock)
    local = build(settings, clock=clock)
    try:
        async with AsyncTestClient(app) as client:
            yield Service(app, client, settings, shop_id, local), clock
    finally:
        await local.runtime.mongo.close()


def control(service: Service) -> Catalog:
    return service.parts


async def _send(service: Service, topic: str, envelope: Envelope[Any]) -> None:
    await produce_raw(
        service.settings.kafka_bootstrap,
        service.settings.topic_prefix + topic,
        envelope.to_json(),
        key=envelope.key.encode(),
    )


async def _reserve(service: Service, order_id: str, lines: list[tuple[str, int]], region: str | None = None) -> Any:
    """Reserve, and answer the reservation document as stored."""
    await service.parts.reservations.reserve(service.shop_id, order_id, [Line(s, q) for s, q in lines], region)
    return await service.reservation(order_id)


def _events(reader: TopicReader, shop_id: str, type_: str) -> list[Envelope[Any]]:
    found = [decode(r.value) for r in reader.records]
    return [e for e in found if e.shop_id == shop_id and e.type == type_]


# --- settings, coordinates and strategies ------------------------------------------------------


async def test_settings_and_warehouse_coordinates_drive_allocation(service: Service) -> None:
    h = service.headers()
    default = await service.client.get("/settings", headers=h)
    assert default.status_code == 200
    assert default.json() == {
        "allocation_strategy": "single_nearest_then_min_split",
        "priority": [],
        "reservation_ttl_minutes": 60,
        "regions": {},
        "version": 0,
    }
    assert (await service.client.get("/settings", headers=service.headers("manager"))).status_code == 403
    bad = await service.client.put("/settings", json={"allocation_strategy": "priority"}, headers=h)
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "priority"
    bad = await service.client.put("/settings", json={"regions": {"central": {"lat": 99, "lon": 0}}}, headers=h)
    assert bad.status_code == 422 and "regions" in str(bad.json()["errors"][0]["field"])
    half = await service.client.post("/warehouses", json={"name": "X", "region": "r", "lat": 50.0}, headers=h)
    assert half.status_code == 422 and half.json()["errors"][0]["field"] == "lon"

    await service.sku("A")
    for wid, name, lat, lon in (("w-zel", "Zelenograd", 55.98, 37.18), ("w-tver", "Tver", 56.86, 35.92)):
        r = await service.client.post(
            "/warehouses", json={"id": wid, "name": name, "region": "central", "lat": lat, "lon": lon}, headers=h
        )
        assert r.status_code == 201 and r.json()["lat"] == lat, r.text
        await service.receive("A", wid, 5)
    await service.warehouse("w-a", "A first by name", "south")
    await service.receive("A", "w-a", 5)

    # Default strategy without centroids: the region, then the name → Tver.
    assert (await _reserve(service, "o-1", [("A", 1)], "central"))["allocations"][0]["warehouse_id"] == "w-tver"
    # With a centroid for "central" at Moscow, Zelenograd is nearer.
    put = await service.client.put("/settings", json={"regions": {"central": {"lat": 55.75, "lon": 37.62}}}, headers=h)
    assert put.status_code == 200 and put.json()["version"] == 1
    assert (await _reserve(service, "o-2", [("A", 1)], "central"))["allocations"][0]["warehouse_id"] == "w-zel"
    # min_split ignores the region: the name decides.
    await service.client.put("/settings", json={"allocation_strategy": "min_split"}, headers=h)
    assert (await _reserve(service, "o-3", [("A", 1)], "central"))["allocations"][0]["warehouse_id"] == "w-a"
    # priority: the shop's list; the waterfall splits in that order.
    r = await service.client.put(
        "/settings", json={"allocation_strategy": "priority", "priority": ["w-tver", "w-zel"]}, headers=h
    )
    assert r.json()["priority"] == ["w-tver", "w-zel"]
    split = await _reserve(service, "o-4", [("A", 6)], "south")
    assert [(a["warehouse_id"], a["lines"][0]["quantity"]) for a in split["allocations"]] == [
        ("w-tver", 4),
        ("w-zel", 2),
    ]


# --- expiry --------------------------------------------------------------------------------------


async def test_unpaid_reservations_expire_paid_and_cash_ones_do_not(clocked: tuple[Service, FixedClock]) -> None:
    service, clock = clocked
    await service.sku("A")
    await service.warehouse("w1", "One", "r")
    await service.receive("A", "w1", 10)
    r = await service.client.put("/settings", json={"reservation_ttl_minutes": 30}, headers=service.headers())
    assert r.status_code == 200
    unpaid, paid, cash = new_id(), new_id(), new_id()
    for order_id in (unpaid, paid, cash):
        doc = await _reserve(service, order_id, [("A", 2)])
        assert doc["status"] == "reserved" and doc["expires_at"] == T0 + timedelta(minutes=30)
    expiry = control(service).expiry

    prefix = service.settings.topic_prefix
    async with TopicReader(service.settings.kafka_bootstrap, prefix + CATALOG_RESERVATIONS.name) as reader:
        money = Money.of("10.00", "RUB")
        captured = Envelope.new(
            PaymentCaptured(order_id=paid, payment_id="p1", method="card", amount=money),
            shop_id=service.shop_id,
            actor=PAYMENT,
        )
        on_delivery = Envelope.new(
            PaymentRequested(
                order_id=cash, payment_id="p2", method="cash_on_delivery", amount=money, status="awaiting_cash"
            ),
            shop_id=service.shop_id,
            actor=PAYMENT,
        )
        waiting = Envelope.new(
            PaymentRequested(order_id=unpaid, payment_id="p3", method="card", amount=money, status="awaiting_customer"),
            shop_id=service.shop_id,
            actor=PAYMENT,
        )
        for envelope in (waiting, captured, on_delivery):
            await _send(service, "oms.payment.events", envelope)

        async def secured() -> bool:
            docs = [await service.reservation(o) for o in (paid, cash)]
            return all(d and d.get("secured") and d["expires_at"] is None for d in docs)

        await eventually(secured, what="paid and cash reservations secured")
        assert (await service.reservation(paid))["secured"] == "paid"  # type: ignore[index]
        assert (await service.reservation(cash))["secured"] == "cash_on_delivery"  # type: ignore[index]
        # Both again: the reservations refuse the replays themselves (no inbox): nothing is written.
        versions = {o: (await service.reservation(o) or {})["version"] for o in (paid, cash)}
        group = f"{prefix}catalog.payments"
        handled = messages_consumed(group)
        for envelope in (captured, on_delivery):
            await _send(service, "oms.payment.events", envelope)
        await eventually(lambda: messages_consumed(group) >= handled + 2, what="the replays handled")
        assert {o: (await service.reservation(o) or {})["version"] for o in (paid, cash)} == versions
        assert await service.parts.runtime.db["inbox"].count_documents({"shop_id": service.shop_id}) == 0

        assert await expiry.expire_due() == 0  # not yet due
        clock.advance(timedelta(minutes=29, seconds=59))
        assert await expiry.expire_due() == 0
        clock.advance(timedelta(seconds=1))
        assert await expiry.expire_due() == 1
        assert await expiry.expire_due() == 0  # idempotent: nothing left to expire
        assert await expiry.expire(service.shop_id, unpaid) is False

        released = await service.reservation(unpaid)
        assert released is not None and released["status"] == "released" and released["reason"] == "expired"
        level = await service.stock("A", "w1")
        assert (level["on_hand"], level["reserved"], level["available"]) == (10, 4, 6)
        assert unpaid not in level["reservations"]

        def expired_event(rec: Any) -> bool:
            e = decode(rec.value)
            return e.type == "StockReleased" and e.payload.order_id == unpaid

        await reader.wait_for(expired_event)
        [event] = [e for e in _events(reader, service.shop_id, "StockReleased") if e.payload.order_id == unpaid]
        assert event.payload.reason == "expired"
        # A payment that comes too late does not bring the reservation back.
        late = Envelope.new(
            PaymentCaptured(order_id=unpaid, payment_id="p3", method="card", amount=money),
            shop_id=service.shop_id,
            actor=PAYMENT,
        )
        too_late = await expiry.secure(service.shop_id, unpaid, "paid", late)
        assert too_late is not None and too_late.status == "released"


async def test_ttl_zero_never_expires(clocked: tuple[Service, FixedClock]) -> None:
    service, clock = clocked
    await service.sku("A")
    await service.warehouse("w1", "One", "r")
    await service.receive("A", "w1", 3)
    await service.client.put("/settings", json={"reservation_ttl_minutes": 0}, headers=service.headers())
    doc = await _reserve(service, new_id(), [("A", 1)])
    assert doc["expires_at"] is None
    clock.advance(timedelta(days=365))
    assert await control(service).expiry.expire_due() == 0


# --- partial release -----------------------------------------------------------------------------


async def test_partial_release_reduces_plan_and_stock_idempotently(service: Service) -> None:
    await service.sku("A")
    await service.sku("B")
    await service.warehouse("w1", "One", "r")
    await service.warehouse("w2", "Two", "r")
    await service.receive("A", "w1", 3)
    await service.receive("B", "w1", 2)
    await service.receive("A", "w2", 3)
    order_id = new_id()
    doc = await _reserve(service, order_id, [("A", 5), ("B", 2)], "r")
    assert {(a["warehouse_id"]) for a in doc["allocations"]} == {"w1", "w2"}

    command = Envelope.new(
        ReleaseStock(
            order_id=order_id,
            reason="lines changed",
            lines=[SkuQuantity(sku="A", quantity=3), SkuQuantity(sku="B", quantity=1)],
        ),
        shop_id=service.shop_id,
        actor=ORDER,
    )
    partial = control(service).partial
    await partial.release_lines(service.shop_id, order_id, [Line("A", 3), Line("B", 1)], "x", command)
    first = await service.reservation(order_id)
    await partial.release_lines(service.shop_id, order_id, [Line("A", 3), Line("B", 1)], "x", command)
    again = await service.reservation(order_id)
    assert first is not None and again is not None and again["version"] == first["version"]
    assert first["status"] == "reserved"
    assert sorted((p["warehouse_id"], p["sku"], p["quantity"]) for p in first["plan"]) == [
        ("w1", "A", 2),
        ("w1", "B", 1),
    ]
    assert sorted((ln["sku"], ln["quantity"]) for ln in first["lines"]) == [("A", 2), ("B", 1)]
    assert [a["warehouse_id"] for a in first["allocations"]] == ["w1"]
    a1, a2, b1 = await service.stock("A", "w1"), await service.stock("A", "w2"), await service.stock("B", "w1")
    assert (a1["reserved"], a1["reservations"].get(order_id)) == (2, 2)
    assert (a2["reserved"], order_id in a2["reservations"]) == (0, False)
    assert (b1["reserved"], b1["reservations"].get(order_id)) == (1, 1)

    # The same through Kafka, delivered twice, and then the rest: the reservation ends.
    prefix = service.settings.topic_prefix
    async with TopicReader(service.settings.kafka_bootstrap, prefix + CATALOG_RESERVATIONS.name) as reader:
        rest = Envelope.new(
            ReleaseStock(
                order_id=order_id,
                reason="lines removed",
                lines=[SkuQuantity(sku="A", quantity=2), SkuQuantity(sku="B", quantity=1)],
            ),
            shop_id=service.shop_id,
            actor=ORDER,
        )
        await _send(service, CATALOG_COMMANDS.name, command)
        await _send(service, CATALOG_COMMANDS.name, rest)
        await _send(service, CATALOG_COMMANDS.name, rest)
        await reader.wait_for(lambda r: decode(r.value).type == "StockReleased" and r.key == order_id.encode())
    done = await service.reservation(order_id)
    assert done is not None and done["status"] == "released" and done["plan"] == []
    for sku, wid, on_hand in (("A", "w1", 3), ("A", "w2", 3), ("B", "w1", 2)):
        level = await service.stock(sku, wid)
        assert (level["on_hand"], level["reserved"], level["available"]) == (on_hand, 0, on_hand)

    async def ledger_agrees() -> bool:
        r = await service.client.get("/stock/ledger", params={"sku": "A", "limit": 100}, headers=service.headers())
        entries = r.json()["items"]
        kinds = sorted((e["kind"], e["warehouse_id"], e["reserved_delta"]) for e in entries)
        return sum(e["reserved_delta"] for e in entries) == 0 and kinds == [
            ("receipt", "w1", 0),
            ("receipt", "w2", 0),
            ("release", "w1", -2),  # the rest
            ("release", "w1", -1),  # the first partial release: last warehouse first, then w1
            ("release", "w2", -2),
            ("reservation", "w1", 3),
            ("reservation", "w2", 2),
        ]

    await eventually(ledger_agrees, what="ledger of A: receipts, reservations, partial releases, once each")


# --- thresholds --------------------------------------------------------------------------------


async def test_low_stock_fires_once_per_crossing_and_lists_low_skus(service: Service) -> None:
    h = service.headers()
    for sku in ("A", "B", "C"):
        await service.sku(sku)
    await service.warehouse("w1", "One", "r")
    await service.warehouse("w2", "Two", "r")
    await service.receive("A", "w1", 6)
    await service.receive("A", "w2", 4)
    await service.receive("B", "w1", 1)
    unknown = await service.client.put("/skus/NOPE/threshold", json={"threshold": 1}, headers=h)
    assert unknown.status_code == 422 and unknown.json()["errors"][0]["field"] == "sku"
    negative = await service.client.put("/skus/A/threshold", json={"threshold": -1}, headers=h)
    assert negative.status_code == 422
    forbidden = await service.client.put("/skus/A/threshold", json={"threshold": 1}, headers=service.headers("manager"))
    assert forbidden.status_code == 403

    prefix = service.settings.topic_prefix
    async with TopicReader(service.settings.kafka_bootstrap, prefix + CATALOG_STOCK.name) as reader:
        r = await service.client.put("/skus/A/threshold", json={"threshold": 5}, headers=h)
        assert r.status_code == 200 and r.json() == {"sku": "A", "threshold": 5, "low": False, "available": 10}
        # B is low already when its threshold is set: it fires at once.
        assert (await service.client.put("/skus/B/threshold", json={"threshold": 2}, headers=h)).json()["low"]
        await _reserve(service, "o-1", [("A", 4)])  # 6 left: above
        await _reserve(service, "o-2", [("A", 1)])  # 5: at the threshold → fires
        await _reserve(service, "o-3", [("A", 2)])  # 3: still below → quiet
        await service.parts.reservations.release(service.shop_id, "o-3", "cancelled")  # 5: still at → quiet
        await service.receive("A", "w2", 1)  # 6: above → re-armed
        await _reserve(service, "o-4", [("A", 3)])  # 3: fires again

        def low_events() -> list[Envelope[Any]]:
            return _events(reader, service.shop_id, "LowStockReached")

        await reader.wait_for(lambda _: len(low_events()) >= 3)
        await service.receive("C", "w1", 1)  # a SKU without threshold: nothing
        await service.receive("B", "w1", 1, receipt_id="marker")  # B 2: still low → quiet
        c_level = await service.client.get("/stock", params={"sku": "C"}, headers=h)
        assert c_level.json()["items"][0]["available"] == 1
        # The marker's StockLevelChanged comes after any LowStockReached that B's receipt could cause.
        await reader.wait_for(lambda r: decode(r.value).type == "StockLevelChanged" and _is_marker(r, service))
        # Keyed by SKU: ordered per SKU, not across SKUs (they may sit on different partitions).
        by_sku: dict[str, list[tuple[int, int]]] = {}
        for e in low_events():
            by_sku.setdefault(e.payload.sku, []).append((e.payload.available, e.payload.threshold))
        assert by_sku == {"B": [(1, 2)], "A": [(5, 5), (3, 5)]}

    page = await service.client.get("/stock/low", params={"limit": 1}, headers=service.headers("manager"))
    assert page.status_code == 200
    assert page.json()["items"] == [{"sku": "A", "threshold": 5, "low": True, "available": 3}]
    rest = await service.client.get(
        "/stock/low", params={"cursor": page.json()["next_cursor"]}, headers=service.headers("manager")
    )
    assert rest.json() == {"items": [{"sku": "B", "threshold": 2, "low": True, "available": 2}], "next_cursor": None}


# --- purchasing --------------------------------------------------------------------------------


async def test_purchase_order_from_draft_to_received_through_the_ledger(service: Service) -> None:
    h = service.headers()
    for sku in ("A", "B"):
        await service.sku(sku)
    await service.warehouse("w1", "One", "r")
    s = await service.client.post("/suppliers", json={"id": "acme", "name": "ACME", "email": "po@acme.test"}, headers=h)
    assert s.status_code == 201 and s.json() == {"id": "acme", "name": "ACME", "email": "po@acme.test"}
    dup = await service.client.post("/suppliers", json={"id": "acme", "name": "Again"}, headers=h)
    assert dup.status_code == 409
    listed = await service.client.get("/suppliers", headers=service.headers("manager"))
    assert [x["id"] for x in listed.json()["items"]] == ["acme"]

    cost = {"amount": "2.50", "currency": "RUB"}
    bad = await service.client.post(
        "/purchase-orders",
        json={"supplier_id": "nobody", "warehouse_id": "w1", "lines": [{"sku": "A", "quantity": 1, "unit_cost": cost}]},
        headers=h,
    )
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "supplier_id"
    bad = await service.client.post(
        "/purchase-orders",
        json={"supplier_id": "acme", "warehouse_id": "w1", "lines": [{"sku": "Z", "quantity": 1, "unit_cost": cost}]},
        headers=h,
    )
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "lines[0].sku"

    created = await service.client.post(
        "/purchase-orders",
        json={
            "supplier_id": "acme",
            "warehouse_id": "w1",
            "lines": [{"sku": "A", "quantity": 10, "unit_cost": cost}, {"sku": "B", "quantity": 4, "unit_cost": cost}],
        },
        headers=h,
    )
    assert created.status_code == 201, created.text
    po = created.json()
    assert po["status"] == "draft" and po["total"] == {"amount": "35.00", "currency": "RUB"}
    po_id = po["id"]
    too_early = await service.client.post(
        f"/purchase-orders/{po_id}/receipts",
        json={"receipt_id": "r0", "lines": [{"sku": "A", "quantity": 1}]},
        headers=h,
    )
    assert too_early.status_code == 409

    prefix = service.settings.topic_prefix
    async with TopicReader(service.settings.kafka_bootstrap, prefix + CATALOG_PURCHASING.name) as reader:
        sent = await service.client.post(f"/purchase-orders/{po_id}/send", headers=h)
        assert sent.status_code == 200 and sent.json()["status"] == "sent"
        assert (await service.client.post(f"/purchase-orders/{po_id}/send", headers=h)).status_code == 409

        receipt = {"receipt_id": "r1", "lines": [{"sku": "A", "quantity": 6}]}
        first = await service.client.post(
            f"/purchase-orders/{po_id}/receipts", json=receipt, headers=service.headers("warehouse")
        )
        assert first.status_code == 201 and first.json()["status"] == "partly_received" and first.json()["applied"]
        replay = await service.client.post(f"/purchase-orders/{po_id}/receipts", json=receipt, headers=h)
        assert replay.status_code == 200 and replay.json()["applied"] is False
        assert (await service.stock("A", "w1"))["on_hand"] == 6

        over = await service.client.post(
            f"/purchase-orders/{po_id}/receipts",
            json={"receipt_id": "r2", "lines": [{"sku": "B", "quantity": 4}, {"sku": "A", "quantity": 5}]},
            headers=h,
        )
        assert over.status_code == 422 and over.json()["errors"][0]["field"] == "lines[1].quantity"
        assert await service.parts.stock_store.get(service.shop_id, "B", "w1") is None  # nothing half-applied

        last = await service.client.post(
            f"/purchase-orders/{po_id}/receipts",
            json={"receipt_id": "r3", "lines": [{"sku": "B", "quantity": 4}, {"sku": "A", "quantity": 4}]},
            headers=h,
        )
        assert last.status_code == 201 and last.json()["status"] == "received"
        assert [ln["received"] for ln in last.json()["lines"]] == [10, 4]
        await reader.wait_for(lambda r: len(_events(reader, service.shop_id, "PurchaseOrderReceived")) >= 2)
        [announced] = _events(reader, service.shop_id, "PurchaseOrderSent")
        assert announced.payload.purchase_order_id == po_id and len(announced.payload.lines) == 2
        statuses = [e.payload.status for e in _events(reader, service.shop_id, "PurchaseOrderReceived")]
        assert statuses == ["partly_received", "received"]

    a, b = await service.stock("A", "w1"), await service.stock("B", "w1")
    assert (a["on_hand"], a["available"], b["on_hand"]) == (10, 10, 4)

    async def ledger() -> list[dict[str, Any]]:
        r = await service.client.get("/stock/ledger", params={"sku": "A"}, headers=h)
        return r.json()["items"]

    await eventually(lambda: _len_is(ledger, 2), what="two receipts of A in the ledger")
    entries = await ledger()
    assert {e["kind"] for e in entries} == {"receipt"}
    assert [e["ref"] for e in entries] == [f"po:{po_id}/r1", f"po:{po_id}/r3"]

    by_status = await service.client.get("/purchase-orders", params={"status": "received"}, headers=h)
    assert [p["id"] for p in by_status.json()["items"]] == [po_id]
    assert (await service.client.get("/purchase-orders", params={"status": "draft"}, headers=h)).json()["items"] == []
    bad_status = await service.client.get("/purchase-orders", params={"status": "nope"}, headers=h)
    assert bad_status.status_code == 422 and bad_status.json()["errors"][0]["field"] == "status"


def _is_marker(record: Any, service: Service) -> bool:
    e = decode(record.value)
    return e.shop_id == service.shop_id and e.payload.sku == "B" and e.payload.on_hand == 2


async def _len_is(probe: Any, n: int) -> bool:
    return len(await probe()) == n


async def test_purchase_order_from_low_stock(service: Service) -> None:
    h = service.headers()
    for sku in ("A", "B", "C"):
        await service.sku(sku)
    await service.warehouse("w1", "One", "r")
    await service.client.post("/suppliers", json={"id": "acme", "name": "ACME"}, headers=h)
    nothing = await service.client.post(
        "/purchase-orders/from-low-stock", json={"supplier_id": "acme", "warehouse_id": "w1"}, headers=h
    )
    assert nothing.status_code == 422
    await service.receive("A", "w1", 3)
    await service.receive("C", "w1", 50)
    for sku, threshold in (("A", 10), ("B", 4), ("C", 5)):
        await service.client.put(f"/skus/{sku}/threshold", json={"threshold": threshold}, headers=h)
    draft = await service.client.post(
        "/purchase-orders/from-low-stock",
        json={"supplier_id": "acme", "warehouse_id": "w1", "unit_costs": {"A": {"amount": "1.10", "currency": "RUB"}}},
        headers=h,
    )
    assert draft.status_code == 201, draft.text
    lines = {ln["sku"]: (ln["quantity"], ln["unit_cost"]["amount"]) for ln in draft.json()["lines"]}
    # threshold*2 - available: A 10*2-3 = 17, B 4*2-0 = 8; C is above its threshold.
    assert lines == {"A": (17, "1.10"), "B": (8, "0.00")}
    assert draft.json()["status"] == "draft"


async def test_racing_receipts_never_exceed_the_order_and_a_half_done_receipt_finishes(service: Service) -> None:
    h = service.headers()
    await service.sku("A")
    await service.warehouse("w1", "One", "r")
    await service.client.post("/suppliers", json={"id": "acme", "name": "ACME"}, headers=h)
    cost = {"amount": "1.00", "currency": "RUB"}
    created = await service.client.post(
        "/purchase-orders",
        json={"supplier_id": "acme", "warehouse_id": "w1", "lines": [{"sku": "A", "quantity": 10, "unit_cost": cost}]},
        headers=h,
    )
    po_id = created.json()["id"]
    await service.client.post(f"/purchase-orders/{po_id}/send", headers=h)
    purchasing = control(service).purchasing
    staff = Actor(kind="staff", id="clerk")

    async def receipt(rid: str) -> str:
        try:
            await purchasing.receive(service.shop_id, po_id, rid, [("A", 6)], staff)
            return "ok"
        except ConcurrencyError:
            return "conflict"
        except PurchasingError:  # the over-receipt of a loser that read after the winner
            return "over-receipt"

    outcomes = await asyncio.gather(*(receipt(f"race-{i}") for i in range(4)))
    assert outcomes.count("ok") == 1, outcomes
    assert (await service.stock("A", "w1"))["on_hand"] == 6

    # A receipt recorded as pending by a process that stopped there: sending it again finishes it once.
    stored = await purchasing.get(service.shop_id, po_id)
    pending = stored.order.begin_receipt("late", [("A", 4)])
    await purchasing.orders.save(
        Loaded(stored.order, stored.version), Decision(pending, meta={"shop_id": service.shop_id}), None
    )
    again = await service.client.post(
        f"/purchase-orders/{po_id}/receipts",
        json={"receipt_id": "late", "lines": [{"sku": "A", "quantity": 4}]},
        headers=h,
    )
    assert again.status_code == 201 and again.json()["status"] == "received", again.text
    replay = await service.client.post(
        f"/purchase-orders/{po_id}/receipts",
        json={"receipt_id": "late", "lines": [{"sku": "A", "quantity": 4}]},
        headers=h,
    )
    assert replay.status_code == 200
    level = await service.stock("A", "w1")
    assert (level["on_hand"], level["available"]) == (10, 10)
