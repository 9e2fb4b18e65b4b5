"""The feedback report against the real stores: customers rate delivered orders through their link; the
report counts per SKU (a line's own rating, else the order's), per responsible manager and per courier
who delivered, in pages by key; a low rating also makes the order a problem. Staff of the office only."""

from __future__ import annotations

from typing import Any

from oms_contracts import Actor, Envelope
from oms_contracts.messages.common import SkuQuantity
from oms_contracts.messages.fulfilment import ShipmentDelivered
from oms_testing import eventually
from oms_testing.http import internal_headers

from .conftest import OrderApp, order_body


def staff(shop_id: str, role: str = "manager") -> dict[str, str]:
    return internal_headers(shop_id, role=role)


async def delivered_and_rated(
    app: OrderApp,
    shop_id: str,
    lines: list[tuple[str, int]],
    *,
    manager: str | None,
    courier: str | None,
    rating: int,
    line_ratings: dict[str, int] | None = None,
) -> str:
    r = await app.place(shop_id, order_body(*lines))
    assert r.status_code == 201, r.text
    order_id = str(r.json()["order_id"])
    if manager:
        assigned = await app.client.put(
            f"/orders/{order_id}/manager", json={"manager_id": manager}, headers=staff(shop_id)
        )
        assert assigned.status_code == 200, assigned.text
    actor = Actor(kind="staff", id=courier, role="courier") if courier else Actor.system("carrier-webhook")
    delivered = ShipmentDelivered(
        order_id=order_id,
        shipment_id=f"s-{order_id}",
        warehouse_id="w1",
        lines=[SkuQuantity(sku=sku, quantity=qty) for sku, qty in lines],
        shipments_in_order=1,
    )
    await app.send(Envelope.new(delivered, shop_id=shop_id, actor=actor))

    async def delivered_yet() -> dict[str, Any] | None:
        order = await app.order(shop_id, order_id)
        return order if order["shipments"] else None

    await eventually(delivered_yet, what=f"order {order_id} delivered")
    link = await app.client.post(f"/orders/{order_id}/status-link", headers=staff(shop_id))
    body = {"rating": rating, "lines": [{"sku": s, "rating": v} for s, v in (line_ratings or {}).items()]}
    rated = await app.client.post(f"/order-status/{link.json()['token']}/feedback", json=body)
    assert rated.status_code == 200, rated.text
    return order_id


async def report(app: OrderApp, shop_id: str, by: str, **params: Any) -> dict[str, Any]:
    r = await app.client.get("/feedback/report", params={"by": by, **params}, headers=staff(shop_id))
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


def rows(page: dict[str, Any]) -> list[tuple[str, int, str, int]]:
    return [(i["key"], i["count"], i["average"], i["low"]) for i in page["items"]]


async def test_ratings_per_sku_manager_and_courier_in_pages(app: OrderApp, shop_id: str) -> None:
    await app.sku_on_sale(shop_id, "TEA-1", "2.50")
    await app.sku_on_sale(shop_id, "CUP-1", "4.00")
    await delivered_and_rated(
        app, shop_id, [("TEA-1", 1), ("CUP-1", 1)], manager="m-1", courier="c-1", rating=5, line_ratings={"CUP-1": 2}
    )
    low = await delivered_and_rated(app, shop_id, [("TEA-1", 2)], manager="m-1", courier="c-2", rating=1)
    await delivered_and_rated(app, shop_id, [("CUP-1", 1)], manager=None, courier=None, rating=4)

    assert rows(await report(app, shop_id, "sku")) == [("CUP-1", 2, "3.00", 1), ("TEA-1", 2, "3.00", 1)]
    assert rows(await report(app, shop_id, "manager")) == [("m-1", 2, "3.00", 1)]
    assert rows(await report(app, shop_id, "courier")) == [("c-1", 1, "5.00", 0), ("c-2", 1, "1.00", 1)]
    first = await report(app, shop_id, "sku", limit=1)
    assert rows(first) == [("CUP-1", 2, "3.00", 1)] and first["next_cursor"] == "CUP-1"
    second = await report(app, shop_id, "sku", limit=1, cursor=first["next_cursor"])
    assert rows(second) == [("TEA-1", 2, "3.00", 1)] and second["next_cursor"] is None
    assert (await app.order(shop_id, low))["problem"] is True  # a low rating is a problem for staff

    past = await report(app, shop_id, "sku", **{"from": "2020-01-01T00:00:00Z", "to": "2020-02-01T00:00:00Z"})
    assert past["items"] == []
    other = await app.client.get("/feedback/report", params={"by": "sku"}, headers=staff("another-shop"))
    assert other.status_code == 200 and other.json()["items"] == []


async def test_the_report_refuses_bad_input_and_other_roles(app: OrderApp, shop_id: str) -> None:
    for role in ("warehouse", "courier"):
        r = await app.client.get("/feedback/report", params={"by": "sku"}, headers=staff(shop_id, role))
        assert r.status_code == 403
    storefront = internal_headers(shop_id, kind="storefront")
    assert (await app.client.get("/feedback/report", params={"by": "sku"}, headers=storefront)).status_code == 403
    for params, field in (
        ({"by": "colour"}, "by"),
        ({"by": "sku", "from": "yesterday"}, "from"),
        ({"by": "sku", "from": "2026-01-01T00:00:00"}, "from"),
        ({"by": "sku", "from": "2020-01-01T00:00:00Z", "to": "2022-01-01T00:00:00Z"}, "from"),
        ({"by": "sku", "from": "2020-02-01T00:00:00Z", "to": "2020-01-01T00:00:00Z"}, "from"),
    ):
        r = await app.client.get("/feedback/report", params=params, headers=staff(shop_id))
        assert r.status_code in (400, 422) and r.headers["content-type"].startswith("application/problem+json"), params
        problem = r.json()
        named = [e.get("field") or e.get("key") for e in problem.get("errors", [])] or [problem.get("field")]
        assert any(field in str(n) for n in named), (params, problem)
