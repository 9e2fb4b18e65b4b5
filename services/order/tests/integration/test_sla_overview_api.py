"""`GET /orders/sla` over the real store: the orders in flight of one shop, per stage and manager."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from oms_contracts import new_id
from oms_order.adapters.outbound.order_list_mongo import MongoOrderList
from oms_order.domain.order_list import list_row
from oms_testing.http import internal_headers

from .conftest import OrderApp


def doc(shop_id: str, stage: str, entered: datetime, limit_minutes: int | None, manager: str | None) -> dict[str, Any]:
    return {
        "_id": new_id(),
        "shop_id": shop_id,
        "number": 1,
        "stage": stage,
        "final": stage == "completed",
        "placed_at": entered,
        "stage_entered_at": entered,
        "stage_deadline": entered + timedelta(minutes=limit_minutes) if limit_minutes else None,
        "manager_id": manager,
        "customer": {"name": "Ann", "email": "ann@example.com"},
        "totals": {"grand_total": {"amount": "1.00", "currency": "EUR"}},
        "version": 1,
    }


async def test_the_sla_overview_counts_the_shops_orders_in_flight(app: OrderApp, shop_id: str) -> None:
    now = datetime.now(UTC)
    docs = [
        doc(shop_id, "call_back", now - timedelta(hours=3), 120, "m1"),  # overdue
        doc(shop_id, "call_back", now - timedelta(minutes=10), 120, "m1"),
        doc(shop_id, "picking", now - timedelta(minutes=5), 240, None),
        doc(shop_id, "completed", now - timedelta(days=2), None, "m1"),  # done: not in flight
        doc(f"other-{shop_id}", "call_back", now - timedelta(hours=9), 120, "m9"),  # another shop
    ]
    async with app.mongo() as db:
        store = MongoOrderList(db)
        for d in docs:
            assert await store.upsert(d["shop_id"], d["_id"], list_row(d, final=d["final"]))
    answer = await app.client.get("/orders/sla", headers=internal_headers(shop_id, role="manager"))
    assert answer.status_code == 200, answer.text
    body = answer.json()
    stages = {s["stage"]: s for s in body["stages"]}
    assert set(stages) == {"call_back", "picking"}
    assert (stages["call_back"]["orders"], stages["call_back"]["overdue"], stages["call_back"]["limit_seconds"]) == (
        2,
        1,
        7200,
    )
    assert body["weakest"] == ["call_back"] and body["truncated"] is False
    assert {m["manager_id"]: (m["orders"], m["overdue"]) for m in body["managers"]} == {"m1": (2, 1), None: (1, 0)}
    courier = await app.client.get("/orders/sla", headers=internal_headers(shop_id, role="courier"))
    assert courier.status_code == 403
