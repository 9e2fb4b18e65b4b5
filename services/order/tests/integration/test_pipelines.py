"""Pipelines through the HTTP API (versions, settings, status mapping) and the manual stage actions
(advance, move) with their 409 on a stale version, against the real Kafka and MongoDB-protocol server."""

from __future__ import annotations

import asyncio
import copy
from datetime import UTC, datetime
from typing import Any

from oms_contracts import Actor, decode, new_id
from oms_contracts.messages.catalog import ReleaseStock, StockReserved
from oms_contracts.messages.common import SkuQuantity, WarehouseAllocation
from oms_contracts.messages.order import OrderStageChanged
from oms_order.adapters.outbound.pipelines_mongo import MongoPipelines
from oms_order.application.pipelines import PipelineDefinition, StoredPipeline
from oms_order.domain.pipeline import STORE_PIPELINE, Action
from oms_testing import eventually
from oms_testing.http import internal_headers
from oms_testing.kafka import TopicReader

from .conftest import OrderApp, order_body


async def reserved_order(app: OrderApp, shop_id: str, sku: str, **kw: Any) -> str:
    response = await app.place(shop_id, order_body((sku, 1), **kw))
    assert response.status_code == 201, response.text
    order_id: str = response.json()["order_id"]
    allocation = WarehouseAllocation(warehouse_id="w1", lines=[SkuQuantity(sku=sku, quantity=1)])
    await app.emit(shop_id, StockReserved(order_id=order_id, allocations=[allocation]), "catalog")
    await app.wait_stage(shop_id, order_id, "call_back")
    return order_id


async def test_built_in_pipelines_are_listed_and_a_new_version_leaves_running_orders_alone(
    app: OrderApp, shop_id: str
) -> None:
    admin = internal_headers(shop_id, role="admin")
    listed = await app.client.get("/pipelines", headers=internal_headers(shop_id, role="manager"))
    assert listed.status_code == 200, listed.text
    assert [(p["key"], p["version"]) for p in listed.json()["items"]] == [("pickup", 1), ("store", 1)]
    store = (await app.client.get("/pipelines/store", headers=admin)).json()
    assert [s["key"] for s in store["stages"]][:3] == ["new", "call_back", "picking"]
    assert store["stages"][1]["names"] == {"en": "Call-back", "ru": "Перезвонить"}
    assert store["stages"][1]["time_limit_seconds"] == 7200

    await app.sku_on_sale(shop_id, "VASE-1", "12.00")
    running = await reserved_order(app, shop_id, "VASE-1")

    # v2: no call-back stage (retired), a "quality check" after picking.
    body = copy.deepcopy({k: store[k] for k in ("name", "stages", "cancel_stage")})
    body["stages"] = [s for s in body["stages"] if s["key"] != "call_back"]
    check = {
        "key": "quality_check",
        "names": {"en": "Quality check", "ru": "Проверка"},
        "status": "Confirmed",
        "responsible_role": "warehouse",
        "exits": [{"on": "manual"}],
    }
    body["stages"].insert(2, check)
    manager_try = await app.client.put("/pipelines/store", json=body, headers=internal_headers(shop_id, role="manager"))
    assert manager_try.status_code == 403
    stale = await app.client.put("/pipelines/store", json={**body, "expected_version": 0}, headers=admin)
    assert stale.status_code == 409 and stale.json()["current_version"] == 1
    made = await app.client.put("/pipelines/store", json={**body, "expected_version": 1}, headers=admin)
    assert made.status_code == 201, made.text
    assert made.json()["version"] == 2 and made.json()["created_by"]["role"] == "admin"
    assert (await app.client.get("/pipelines/store", headers=admin)).json()["version"] == 2
    v1 = await app.client.get("/pipelines/store", params={"version": 1}, headers=admin)
    assert v1.json()["version"] == 1 and "call_back" in [s["key"] for s in v1.json()["stages"]]

    # The running order keeps store@1 and its call-back stage; a new order gets store@2.
    advanced = await app.advance(shop_id, running)
    assert advanced["pipeline"] == "store@1" and advanced["stage"] == "picking"
    placed = (await app.place(shop_id, order_body(("VASE-1", 1)), kind="staff", role="manager")).json()
    assert placed["pipeline"] == "store@2"
    allocation = WarehouseAllocation(warehouse_id="w1", lines=[SkuQuantity(sku="VASE-1", quantity=1)])
    await app.emit(shop_id, StockReserved(order_id=placed["order_id"], allocations=[allocation]), "catalog")
    await app.wait_stage(shop_id, placed["order_id"], "picking")


async def test_an_invalid_pipeline_is_refused_naming_the_field(app: OrderApp, shop_id: str) -> None:
    admin = internal_headers(shop_id, role="admin")
    body = {
        "stages": [
            {"key": "new", "status": "New", "exits": [{"on": "manual"}]},
            {"key": "check", "status": "New", "exits": [{"on": "manual"}]},
            {"key": "pay", "status": "New", "exits": [{"on": "manual"}]},
            {"key": "ship", "status": "New", "exits": [{"on": "paid", "to": "nowhere"}]},
            {"key": "done", "status": "Done", "final": True},
            {"key": "cancelled", "status": "Cancelled", "final": True, "in_flow": False},
        ]
    }
    refused = await app.client.put("/pipelines/custom", json=body, headers=admin)
    assert refused.status_code == 422
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert [e["field"] for e in refused.json()["errors"]] == ["stages[3].exits[0].to"]

    stranded = copy.deepcopy(body)
    stranded["stages"][3]["exits"] = [{"on": "manual"}]
    stranded["stages"][4]["when"] = {"payment_methods": ["card"]}  # cash orders have nowhere to go
    refused = await app.client.put("/pipelines/custom", json=stranded, headers=admin)
    assert refused.status_code == 422
    assert "stages[3].exits[0].to" in [e["field"] for e in refused.json()["errors"]]

    bad_trigger = copy.deepcopy(body)
    bad_trigger["stages"][3]["exits"] = [{"on": "moon_phase"}]
    refused = await app.client.put("/pipelines/custom", json=bad_trigger, headers=admin)
    assert refused.status_code == 422 and "on" in refused.json()["errors"][0]["field"]
    assert (await app.client.get("/pipelines/custom", headers=admin)).status_code == 404


async def test_settings_choose_the_pipeline_and_map_statuses(app: OrderApp, shop_id: str) -> None:
    admin = internal_headers(shop_id, role="admin")
    defaults = (await app.client.get("/pipeline-settings", headers=admin)).json()
    assert defaults["pipeline_for"]["pickup"] == "pickup" and defaults["pipeline_for"]["courier"] == "store"
    assert defaults["version"] == 0

    unknown = await app.client.put("/pipeline-settings", json={"pipeline_for": {"post": "nope"}}, headers=admin)
    assert unknown.status_code == 422 and unknown.json()["errors"][0]["field"] == "pipeline_for.post"
    saved = await app.client.put(
        "/pipeline-settings",
        json={"pipeline_for": {"courier": "pickup"}, "statuses": {"call_back": "Confirmed"}, "expected_version": 0},
        headers=admin,
    )
    assert saved.status_code == 200, saved.text
    assert saved.json()["version"] == 1 and saved.json()["pipeline_for"]["courier"] == "pickup"
    stale = await app.client.put("/pipeline-settings", json={"expected_version": 0}, headers=admin)
    assert stale.status_code == 409

    await app.sku_on_sale(shop_id, "BOWL-1", "3.00")
    async with TopicReader(app.bootstrap, app.topic(OrderStageChanged)) as order_events:
        order_id = await reserved_order(app, shop_id, "BOWL-1")
        order = await app.order(shop_id, order_id)
        assert order["pipeline"] == "pickup@1" and order["status"] == "Confirmed"

        def to_call_back(r: Any) -> bool:
            e = decode(r.value)
            return r.key == order_id.encode() and e.type == "OrderStageChanged" and e.payload.to_stage == "call_back"

        changed = decode((await order_events.wait_for(to_call_back)).value)
        assert changed.payload.status == "Confirmed"

    # The operations list shows the shop's status too (its projection reads the shop's pipeline).
    async def listed() -> dict[str, Any] | None:
        response = await app.client.get(
            "/orders/search", params={"text": str(order["number"])}, headers=internal_headers(shop_id, role="manager")
        )
        rows = [r for r in response.json()["items"] if r["order_id"] == order_id and r["stage"] == "call_back"]
        return rows[0] if rows else None

    row = await eventually(listed, what="the order's row in call_back")
    assert row["status"] == "Confirmed"


async def test_advance_and_move_check_role_stage_and_version(app: OrderApp, shop_id: str) -> None:
    await app.sku_on_sale(shop_id, "JUG-1", "9.00")
    order_id = await reserved_order(app, shop_id, "JUG-1", payment_method="cash_on_delivery")
    manager = internal_headers(shop_id, role="manager")
    order = await app.order(shop_id, order_id)
    assert order["stage_actions"]["can_advance"] is True
    assert order["stage_actions"]["roles"] == ["admin", "manager"]
    assert order["stage_actions"]["move_to"] == ["picking", "cancelled"]

    warehouse = await app.client.post(
        f"/orders/{order_id}/advance", json={}, headers=internal_headers(shop_id, role="warehouse")
    )
    assert warehouse.status_code == 403, "call-back is the manager's stage"
    stale = await app.client.post(
        f"/orders/{order_id}/advance", json={"expected_version": order["version"] - 1}, headers=manager
    )
    assert stale.status_code == 409
    assert stale.json()["current_version"] == order["version"]
    nowhere = await app.client.post(f"/orders/{order_id}/move", json={"to": "completed"}, headers=manager)
    assert nowhere.status_code == 422 and nowhere.json()["errors"][0]["field"] == "to"

    # Two managers click at once with the same version: one wins, the other gets 409.
    both = await asyncio.gather(
        *(
            app.client.post(
                f"/orders/{order_id}/advance", headers={**manager, "If-Match": f'"{order["version"]}"'}, json={}
            )
            for _ in range(2)
        )
    )
    assert sorted(r.status_code for r in both) == [200, 409]
    [won] = [r.json() for r in both if r.status_code == 200]
    assert won["stage"] == "picking" and won["audit"][-1]["action"] == "advanced"
    assert won["audit"][-1]["actor"]["role"] == "manager"

    admin = internal_headers(shop_id, role="admin")
    no_manual = await app.client.post(f"/orders/{order_id}/advance", json={}, headers=admin)
    assert no_manual.status_code == 409, "picking leaves when everything is packed"
    not_theirs = await app.client.post(f"/orders/{order_id}/advance", json={}, headers=manager)
    assert not_theirs.status_code == 403, "picking is the warehouse's stage"

    async with TopicReader(app.bootstrap, app.topic(ReleaseStock)) as catalog_commands:
        moved = await app.client.post(
            f"/orders/{order_id}/move",
            json={"to": "cancelled", "comment": "customer called", "expected_version": won["version"]},
            headers=manager,
        )
        assert moved.status_code == 200, moved.text
        assert moved.json()["stage"] == "cancelled" and moved.json()["cancel_reason"] == "customer called"
        await catalog_commands.wait_for(lambda r: r.key == order_id.encode())


async def test_a_kept_built_in_gets_the_products_update_and_an_edited_one_is_left_alone(
    app: OrderApp, shop_id: str
) -> None:
    """Shops seeded by an earlier release (store@1 without notify) get the new built-in as their next
    version on the next order; a shop whose admin edited the pipeline keeps its own."""
    earlier = PipelineDefinition.of(STORE_PIPELINE, name="store")
    for stage in earlier.stages:
        stage.entry = [e for e in stage.entry if e.action is not Action.NOTIFY]
    edited_shop = f"shop-{new_id()}"
    admin = Actor(kind="staff", id="admin-1", role="admin")
    at = datetime(2026, 1, 5, tzinfo=UTC)
    async with app.mongo() as db:
        repo = MongoPipelines(db)
        for shop in (shop_id, edited_shop):
            assert await repo.insert(shop, StoredPipeline("store", 1, earlier, at, None, "built in"))
        assert await repo.insert(edited_shop, StoredPipeline("store", 2, earlier, at, admin, "our own"))

    for shop in (shop_id, edited_shop):
        await app.sku_on_sale(shop, "UPD-1", "3.00")
    kept = (await app.place(shop_id, order_body(("UPD-1", 1)), kind="staff", role="manager")).json()
    assert kept["pipeline"] == "store@2"
    again = (await app.place(shop_id, order_body(("UPD-1", 1)), kind="staff", role="manager")).json()
    assert again["pipeline"] == "store@2", "the same built-in is not saved twice"
    latest = (await app.client.get("/pipelines/store", headers=internal_headers(shop_id, role="admin"))).json()
    assert latest["version"] == 2 and latest["created_by"] is None
    picking = next(s for s in latest["stages"] if s["key"] == "picking")
    assert "notify" in [e["action"] for e in picking["entry"]]

    own = (await app.place(edited_shop, order_body(("UPD-1", 1)), kind="staff", role="manager")).json()
    assert own["pipeline"] == "store@2"
    theirs = (await app.client.get("/pipelines/store", headers=internal_headers(edited_shop, role="admin"))).json()
    assert theirs["version"] == 2 and theirs["comment"] == "our own"
