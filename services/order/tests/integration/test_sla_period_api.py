"""The SLA over a period on the real store and broker: an order's stage transitions become records
(from OrderStageChanged), `GET /orders/sla/period` counts them, `GET /orders/sla/transitions` pages them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from oms_contracts.messages.catalog import StockReserved
from oms_contracts.messages.common import Customer, SkuQuantity, WarehouseAllocation
from oms_contracts.messages.order import OrderStageChanged
from oms_testing import eventually
from oms_testing.http import internal_headers
from prometheus_client import REGISTRY

from .conftest import OrderApp, order_body


def staff(shop_id: str, role: str = "manager") -> dict[str, str]:
    return internal_headers(shop_id, role=role)


def period(hours: int = 1) -> dict[str, str]:
    now = datetime.now(UTC)
    return {"since": (now - timedelta(hours=hours)).isoformat(), "until": (now + timedelta(hours=hours)).isoformat()}


async def through_call_back(app: OrderApp, shop_id: str) -> str:
    """Place an order as a manager, let the catalog reserve it, call the customer back: two transitions."""
    placed = await app.place(shop_id, order_body(("TEA-1", 1)), kind="staff", role="manager")
    assert placed.status_code == 201, placed.text
    order_id = str(placed.json()["order_id"])
    allocation = WarehouseAllocation(warehouse_id="w1", lines=[SkuQuantity(sku="TEA-1", quantity=1)])
    await app.emit(shop_id, StockReserved(order_id=order_id, allocations=[allocation]), "catalog")
    await app.wait_stage(shop_id, order_id, "call_back")
    await app.advance(shop_id, order_id)
    await app.wait_stage(shop_id, order_id, "picking")
    return order_id


async def test_stage_transitions_are_recorded_counted_over_a_period_and_paged(app: OrderApp, shop_id: str) -> None:
    await app.sku_on_sale(shop_id, "TEA-1", "4.50")
    first = await through_call_back(app, shop_id)
    second = await through_call_back(app, shop_id)

    async def recorded() -> list[dict[str, Any]] | None:
        answer = await app.client.get("/orders/sla/transitions", params=period(), headers=staff(shop_id))
        assert answer.status_code == 200, answer.text
        items: list[dict[str, Any]] = answer.json()["items"]
        return items if len(items) == 4 else None

    items = await eventually(recorded, what="four transitions recorded")
    assert {(t["order_id"], t["stage"]) for t in items} == {
        (first, "new"),
        (first, "call_back"),
        (second, "new"),
        (second, "call_back"),
    }
    assert all(t["pipeline"] == "store" and t["seconds"] >= 0 and not t["overdue"] for t in items)
    assert [t["left_at"] for t in items] == sorted(t["left_at"] for t in items), "oldest first"

    # Keyset pages of one: the same four, each once.
    seen: list[str] = []
    cursor: str | None = None
    for _ in range(10):
        params = {**period(), "limit": "1", **({"cursor": cursor} if cursor else {})}
        page = (await app.client.get("/orders/sla/transitions", params=params, headers=staff(shop_id))).json()
        seen += [t["transition_id"] for t in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert sorted(seen) == sorted(t["transition_id"] for t in items)
    only = await app.client.get(
        "/orders/sla/transitions", params={**period(), "stage": "call_back"}, headers=staff(shop_id)
    )
    assert {t["order_id"] for t in only.json()["items"]} == {first, second}

    answer = await app.client.get(
        "/orders/sla/period", params={**period(), "pipeline": "store"}, headers=staff(shop_id)
    )
    assert answer.status_code == 200, answer.text
    body = answer.json()
    stages = {(s["pipeline"], s["stage"]): s for s in body["stages"]}
    assert set(stages) == {("store", "new"), ("store", "call_back")}
    assert stages[("store", "call_back")]["visits"] == 2 and stages[("store", "call_back")]["overdue"] == 0
    assert stages[("store", "call_back")]["p50_seconds"] is not None
    assert body["weakest"] == [] and body["truncated"] is False
    assert sum(m["visits"] for m in body["managers"]) == 4

    # A period before the orders: nothing; another shop: nothing.
    earlier = {"since": "2020-01-01T00:00:00Z", "until": "2020-02-01T00:00:00Z"}
    assert (await app.client.get("/orders/sla/period", params=earlier, headers=staff(shop_id))).json()["stages"] == []
    other = await app.client.get("/orders/sla/period", params=period(), headers=staff(f"other-{shop_id}"))
    assert other.json()["stages"] == []


async def test_the_period_is_checked_and_only_office_staff_may_read_it(app: OrderApp, shop_id: str) -> None:
    missing = await app.client.get(
        "/orders/sla/period", params={"until": "2026-01-01T00:00:00Z"}, headers=staff(shop_id)
    )
    assert missing.status_code == 422 and "since" in missing.text
    backwards = await app.client.get(
        "/orders/sla/period",
        params={"since": "2026-02-01T00:00:00Z", "until": "2026-01-01T00:00:00Z"},
        headers=staff(shop_id),
    )
    assert backwards.status_code == 422 and backwards.json()["errors"][0]["field"] == "since"
    naive = await app.client.get(
        "/orders/sla/transitions",
        params={"since": "2026-01-01T00:00:00", "until": "2026-02-01T00:00:00Z"},
        headers=staff(shop_id),
    )
    assert naive.status_code == 422
    bad_cursor = await app.client.get(
        "/orders/sla/transitions", params={**period(), "cursor": "nonsense"}, headers=staff(shop_id)
    )
    assert bad_cursor.status_code == 422
    courier = await app.client.get("/orders/sla/period", params=period(), headers=staff(shop_id, "courier"))
    assert courier.status_code == 403


async def test_a_replayed_stage_change_writes_the_same_records_and_no_inbox(app: OrderApp, shop_id: str) -> None:
    await app.sku_on_sale(shop_id, "TEA-1", "4.50")
    order_id = await through_call_back(app, shop_id)

    async def transitions() -> list[dict[str, Any]]:
        answer = await app.client.get("/orders/sla/transitions", params=period(), headers=staff(shop_id))
        return [t for t in answer.json()["items"] if t["order_id"] == order_id]

    async def both() -> list[dict[str, Any]] | None:
        found = await transitions()
        return found if len(found) == 2 else None

    recorded = await eventually(both, what="two transitions recorded")
    # The group keeps no inbox (ADR 0032): a redelivered stage change is handled again and writes the
    # same two records under the same ids.
    group = f"{app.settings.topic_prefix}{app.settings.service_name}.stage-transitions"
    labels = {"consumer": group, "type": OrderStageChanged.TYPE, "outcome": "processed"}
    handled_before = REGISTRY.get_sample_value("oms_messages_consumed_total", labels) or 0.0
    replay = OrderStageChanged(
        order_id=order_id,
        number=1,
        from_stage="call_back",
        to_stage="picking",
        status="Picking",
        seconds_in_previous_stage=1.0,
        customer=Customer(name="Ann", email="ann@example.com"),
    )
    await app.emit(shop_id, replay, component="order")
    await app.emit(shop_id, replay, component="order")

    def consumed() -> bool:
        return (REGISTRY.get_sample_value("oms_messages_consumed_total", labels) or 0.0) >= handled_before + 2

    await eventually(consumed, what="the replays handled")
    assert await transitions() == recorded
    async with app.mongo() as db:
        assert await db["inbox"].count_documents({"_id": {"$regex": f"^{group}:"}}) == 0
