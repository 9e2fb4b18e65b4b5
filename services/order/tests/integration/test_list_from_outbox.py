"""The order list projected from the orders' own outbox by the relay in the writing process (ADR 0046),
against the real Kafka and MongoDB-protocol server: no Kafka hop, and the outbox entry stays until the
row is stored (a failure between the write and the projection loses nothing), a replayed or old entry
changes nothing, an entry that can never be handled is dead-lettered."""

from __future__ import annotations

from typing import Any

from oms_contracts import DEADLETTER_TOPIC, Actor, Envelope, new_id
from oms_contracts.messages.order import OrderChanged
from oms_contracts.registry import ORDER_CHANGES
from oms_order.adapters.outbound.order_list_mongo import MongoOrderList
from oms_runtime.store import outbox_entry
from oms_testing import eventually
from oms_testing.http import internal_headers
from oms_testing.kafka import TopicReader
from prometheus_client import REGISTRY
from pymongo.errors import AutoReconnect

from .conftest import OrderApp, order_body


def _sample(name: str, app: OrderApp, topic: str) -> float:
    labels = {"collection": "orders", "topic": app.topic_prefix + topic}
    return REGISTRY.get_sample_value(name, labels) or 0.0


async def _row_at(app: OrderApp, shop_id: str, order_id: str, version: int) -> dict[str, Any]:
    async with app.mongo() as db:
        rows = MongoOrderList(db)

        async def at_version() -> dict[str, Any] | None:
            row = await rows.get(shop_id, order_id)
            return row if row is not None and row["version"] == version else None

        found: dict[str, Any] = await eventually(at_version, what=f"row of {order_id} at version {version}")
        return found


async def _outbox_empty(app: OrderApp, order_id: str) -> None:
    async with app.mongo() as db:

        async def empty() -> bool:
            doc = await db["orders"].find_one({"_id": order_id}, {"outbox": 1, "has_outbox": 1})
            return doc is not None and not doc["outbox"] and not doc["has_outbox"]

        await eventually(empty, what=f"outbox of {order_id} emptied")


def _signal_entry(app: OrderApp, shop_id: str, order_id: str, version: int) -> dict[str, Any]:
    """An OrderChanged entry as the order service has always written it (the format of every release)."""
    envelope = Envelope.new(
        OrderChanged(order_id=order_id, version=version), shop_id=shop_id, actor=Actor.system("order")
    )
    return outbox_entry(envelope, app.topic_prefix)


async def _append(app: OrderApp, order_id: str, *entries: dict[str, Any]) -> None:
    """Entries left in an order's outbox by a writer nobody woke the relay for (a crash right after the
    write, an older release, a relay that stopped after the row and before marking it sent): the
    relay's safety scan finds them."""
    async with app.mongo() as db:
        await db["orders"].update_one(
            {"_id": order_id}, {"$push": {"outbox": {"$each": list(entries)}}, "$set": {"has_outbox": True}}
        )


async def test_a_write_s_row_comes_from_its_outbox_without_a_kafka_message(app: OrderApp, shop_id: str) -> None:
    await app.sku_on_sale(shop_id, "OUTBOX-1", "5.00")
    published_before = _sample("oms_outbox_published_total", app, ORDER_CHANGES.name)
    local_before = _sample("oms_outbox_delivered_locally_total", app, ORDER_CHANGES.name)
    placed = (await app.place(shop_id, order_body(("OUTBOX-1", 1)))).json()
    order_id = placed["order_id"]
    cancelled = await app.client.post(
        f"/orders/{order_id}/cancel", json={"reason": "x"}, headers=internal_headers(shop_id, role="manager")
    )
    assert cancelled.status_code == 200, cancelled.text
    row = await _row_at(app, shop_id, order_id, cancelled.json()["version"])
    assert row["stage"] == "cancelled"
    await _outbox_empty(app, order_id)
    assert _sample("oms_outbox_delivered_locally_total", app, ORDER_CHANGES.name) >= local_before + 2
    assert _sample("oms_outbox_published_total", app, ORDER_CHANGES.name) == published_before
    async with TopicReader(app.bootstrap, app.topic(OrderChanged)) as changes:
        await changes.poll()
        assert not [r for r in changes.records if r.key == order_id.encode()]


async def test_a_failed_projection_keeps_the_entries_until_the_row_is_stored(app: OrderApp, shop_id: str) -> None:
    """The store away between the order's write and its row: the pass fails, the OrderChanged entry
    (and the pass's other entries) stay in the outbox, and the row comes once the store answers."""
    await app.sku_on_sale(shop_id, "OUTBOX-2", "5.00")
    lists = app.client.app.state.order_lists
    real = lists.project_changes
    failed: list[int] = []

    async def store_away(changes: Any) -> Any:
        failed.append(len(changes))
        raise AutoReconnect("the store is away")

    lists.project_changes = store_away
    try:
        placed = (await app.place(shop_id, order_body(("OUTBOX-2", 1)))).json()
        order_id = placed["order_id"]
        await eventually(lambda: bool(failed), what="a pass tried to project the row")
        async with app.mongo() as db:
            doc = await db["orders"].find_one({"_id": order_id}, {"outbox": 1})
            assert doc is not None and "OrderChanged" in [e["type"] for e in doc["outbox"]]
            assert await db["order_list"].find_one({"_id": order_id}) is None
    finally:
        lists.project_changes = real
    await _row_at(app, shop_id, order_id, 1)
    await _outbox_empty(app, order_id)


async def test_an_entry_left_by_a_crash_or_an_older_release_is_projected_by_the_scan(
    app: OrderApp, shop_id: str
) -> None:
    await app.sku_on_sale(shop_id, "OUTBOX-3", "5.00")
    placed = (await app.place(shop_id, order_body(("OUTBOX-3", 1)))).json()
    order_id = placed["order_id"]
    await _row_at(app, shop_id, order_id, 1)
    await _outbox_empty(app, order_id)
    # A write that changed the order without its row (the process stopped before its relay ran):
    # the document at version 2 with its signal still in the outbox.
    async with app.mongo() as db:
        await db["orders"].update_one({"_id": order_id}, {"$set": {"problem": True}, "$inc": {"version": 1}})
    await _append(app, order_id, _signal_entry(app, shop_id, order_id, 2))
    row = await _row_at(app, shop_id, order_id, 2)
    assert row["problem"] is True
    await _outbox_empty(app, order_id)


async def test_a_replayed_entry_of_an_older_version_changes_nothing(app: OrderApp, shop_id: str) -> None:
    await app.sku_on_sale(shop_id, "OUTBOX-4", "5.00")
    placed = (await app.place(shop_id, order_body(("OUTBOX-4", 1)))).json()
    order_id = placed["order_id"]
    cancelled = await app.client.post(
        f"/orders/{order_id}/cancel", json={"reason": "x"}, headers=internal_headers(shop_id, role="manager")
    )
    version = cancelled.json()["version"]
    await _row_at(app, shop_id, order_id, version)
    await _outbox_empty(app, order_id)
    # The relay stopped after storing the rows and before marking them sent: the same entries again,
    # the first version's and the newest's, and one naming no version (read the order as stored).
    await _append(
        app,
        order_id,
        _signal_entry(app, shop_id, order_id, 1),
        _signal_entry(app, shop_id, order_id, version),
    )
    await _outbox_empty(app, order_id)
    row = await _row_at(app, shop_id, order_id, version)
    assert row["stage"] == "cancelled"
    async with app.mongo() as db:
        assert await db["order_list"].count_documents({"_id": order_id}) == 1


async def test_an_entry_that_can_never_be_projected_is_dead_lettered_and_the_rest_goes_on(
    app: OrderApp, shop_id: str
) -> None:
    await app.sku_on_sale(shop_id, "OUTBOX-5", "5.00")
    placed = (await app.place(shop_id, order_body(("OUTBOX-5", 1)))).json()
    order_id = placed["order_id"]
    await _outbox_empty(app, order_id)
    broken = {**_signal_entry(app, shop_id, order_id, 2), "event_id": new_id(), "value": "{not json"}
    async with TopicReader(app.bootstrap, app.topic_prefix + DEADLETTER_TOPIC) as deadletter:
        await _append(app, order_id, broken)
        record = await deadletter.wait_for(lambda r: r.key == order_id.encode() and r.value == b"{not json")
        headers = {k: v.decode() for k, v in record.headers}
        assert headers["x-dlq-consumer"].endswith("order.order-list")
        assert headers["x-dlq-topic"] == app.topic(OrderChanged)
        assert headers["x-dlq-reason"].startswith("UndecodableSignal")
    await _outbox_empty(app, order_id)
    # The relay carries on: the next write's row is projected.
    cancelled = await app.client.post(
        f"/orders/{order_id}/cancel", json={"reason": "x"}, headers=internal_headers(shop_id, role="manager")
    )
    await _row_at(app, shop_id, order_id, cancelled.json()["version"])
