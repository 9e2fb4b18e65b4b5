"""The feedback report through the gateway (issue 13): a customer rates a delivered order through the
signed link; the office's report counts the rating for the order's products, its manager and the
courier who delivered it. Admins and managers only."""

from __future__ import annotations

from typing import Any

from oms_contracts import new_id
from oms_testing import eventually

from tests.e2e.client import Gateway, order_body


def rows(body: dict[str, Any]) -> dict[str, tuple[int, str, int]]:
    return {i["key"]: (i["count"], i["average"], i["low"]) for i in body["items"]}


async def test_a_rating_reaches_the_report_per_sku_manager_and_courier(gateway: Gateway) -> None:
    manager = await gateway.as_staff("manager")

    async def report(by: str) -> dict[str, tuple[int, str, int]]:
        found: dict[str, tuple[int, str, int]] = {}
        cursor = None
        for _ in range(50):
            params = {"by": by, "limit": 100, **({"cursor": cursor} if cursor else {})}
            r = await gateway.http.get("/api/v1/feedback/report", params=params, headers=manager)
            assert r.status_code == 200, r.text
            found |= rows(r.json())
            cursor = r.json()["next_cursor"]
            if cursor is None:
                return found
        raise AssertionError("the report did not end")

    before = await report("sku")
    placed = await gateway.place(order_body(lines=[{"sku": "TEA-GREEN-100", "quantity": 1}]))
    assert placed.status_code == 201, placed.text
    order_id = placed.json()["order_id"]
    responsible = f"mgr-{new_id()[-8:]}"
    assigned = await gateway.http.put(
        f"/api/v1/orders/{order_id}/manager", json={"manager_id": responsible}, headers=manager
    )
    assert assigned.status_code == 200, assigned.text
    token = (await gateway.http.post(f"/api/v1/orders/{order_id}/status-link", headers=gateway.storefront)).json()[
        "token"
    ]
    await gateway.advance(order_id, "call_back")
    await gateway.wait_stage(order_id, "picking")
    await gateway.fulfil(order_id)

    async def can_rate() -> bool | None:
        page = await gateway.http.get(f"/api/v1/order-status/{token}")
        return page.json()["can_rate"] or None

    await eventually(can_rate, timeout=60, what="the delivered order open for a rating")
    rated = await gateway.http.post(f"/api/v1/order-status/{token}/feedback", json={"rating": 1})
    assert rated.status_code == 200, rated.text

    assert (await report("manager"))[responsible] == (1, "1.00", 1)
    count, _, low = (await report("sku"))["TEA-GREEN-100"]
    was = before.get("TEA-GREEN-100", (0, "0", 0))
    assert (count, low) == (was[0] + 1, was[2] + 1)
    card = await gateway.order(order_id)
    assert card["problem"] is True
    [courier] = {t["delivered_by"] for t in card["tracking"].values()}
    assert courier and (await report("courier"))[courier][0] >= 1

    for who in (await gateway.as_staff("warehouse"), await gateway.as_staff("courier"), gateway.storefront):
        refused = await gateway.http.get("/api/v1/feedback/report", params={"by": "sku"}, headers=who)
        assert refused.status_code == 403
    bad = await gateway.http.get("/api/v1/feedback/report", params={"by": "sku", "from": "soon"}, headers=manager)
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "from"
