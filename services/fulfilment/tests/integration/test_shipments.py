"""The fulfilment service against the real Kafka broker and MongoDB-protocol server."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from oms_contracts import Actor, Envelope, new_id
from oms_contracts.erasure import ERASED
from oms_contracts.messages.common import Address, Customer, SkuQuantity, WarehouseAllocation
from oms_contracts.messages.fulfilment import CreateShipments
from oms_contracts.messages.order import CustomerErased
from oms_contracts.registry import DEADLETTER, FULFILMENT_COMMANDS, FULFILMENT_EVENTS, ORDER_CUSTOMERS
from oms_fulfilment.bootstrap import create_app
from oms_fulfilment.settings import FulfilmentSettings
from oms_runtime.mongo import Document
from oms_testing import eventually
from oms_testing.http import internal_headers
from oms_testing.infra import Infra, service_database
from oms_testing.kafka import TopicReader, produce_raw
from oms_testing.metrics import messages_consumed
from pymongo.asynchronous.database import AsyncDatabase

Client = AsyncTestClient[Litestar]


@pytest.fixture(scope="module")
def settings(infra: Infra, topic_prefix: str) -> FulfilmentSettings:
    return infra.settings(FulfilmentSettings, topic_prefix, "fulfilment", consumer_attempts=1)


@pytest.fixture(scope="module")
def app(settings: FulfilmentSettings) -> Litestar:
    return create_app(settings)


@pytest.fixture
async def db(settings: FulfilmentSettings) -> AsyncIterator[AsyncDatabase[Document]]:
    """The service's database, through a client of the test's own event loop."""
    async with service_database(settings) as database:
        yield database


@pytest.fixture(scope="module")
async def client(app: Litestar) -> AsyncIterator[Client]:
    async with AsyncTestClient(app) as test_client:
        yield test_client


@pytest.fixture
async def events(infra: Infra, topic_prefix: str) -> AsyncIterator[TopicReader]:
    async with TopicReader(infra.kafka_bootstrap, topic_prefix + FULFILMENT_EVENTS.name) as reader:
        yield reader


def create_shipments(order_id: str, allocations: dict[str, list[tuple[str, int]]]) -> CreateShipments:
    return CreateShipments(
        order_id=order_id,
        number=42,
        customer=Customer(name="Ann Petrova", email="ann@example.com"),
        address=Address(country="RU", city="Kazan", line1="Baumana 1"),
        delivery_type="courier",
        allocations=[
            WarehouseAllocation(
                warehouse_id=warehouse,
                lines=[SkuQuantity(sku=sku, quantity=quantity) for sku, quantity in lines],
            )
            for warehouse, lines in allocations.items()
        ],
    )


async def send(infra: Infra, topic_prefix: str, envelope: Envelope[Any]) -> None:
    await produce_raw(
        infra.kafka_bootstrap,
        topic_prefix + FULFILMENT_COMMANDS.name,
        envelope.to_json(),
        key=envelope.key.encode(),
    )


def command(shop_id: str, payload: CreateShipments) -> Envelope[CreateShipments]:
    return Envelope.new(payload, shop_id=shop_id, actor=Actor.system("order"))


async def shipments_of(client: Client, shop_id: str, order_id: str, count: int) -> list[dict[str, Any]]:
    async def listed() -> list[dict[str, Any]]:
        response = await client.get(
            "/shipments", params={"order_id": order_id}, headers=internal_headers(shop_id, role="manager")
        )
        assert response.status_code == 200, response.text
        items: list[dict[str, Any]] = response.json()["items"]
        assert len(items) == count, items
        return items

    return await eventually(listed, what=f"{count} shipments of order {order_id}")


async def order_with_shipments(
    client: Client, infra: Infra, topic_prefix: str, shop_id: str, allocations: dict[str, list[tuple[str, int]]]
) -> tuple[str, list[dict[str, Any]]]:
    order_id = new_id()
    await send(infra, topic_prefix, command(shop_id, create_shipments(order_id, allocations)))
    return order_id, await shipments_of(client, shop_id, order_id, len(allocations))


def events_of(reader: TopicReader, order_id: str, type_: str) -> list[dict[str, Any]]:
    found = []
    for record in reader.records:
        message = json.loads(record.value)
        if message["type"] == type_ and message["payload"]["order_id"] == order_id:
            assert record.key == order_id.encode()
            found.append(message)
    return found


async def wait_events(reader: TopicReader, order_id: str, type_: str, count: int) -> list[dict[str, Any]]:
    async def seen() -> list[dict[str, Any]]:
        await reader.poll()
        found = events_of(reader, order_id, type_)
        assert len(found) == count, f"{len(found)} {type_} events"
        return found

    return await eventually(seen, what=f"{count} {type_} of order {order_id}")


TWO_WAREHOUSES = {"wh-north": [("MUG-RED", 2), ("TEA-100G", 1)], "wh-south": [("SPOON", 3)]}
WAREHOUSE = {"role": "warehouse"}


async def test_an_order_split_over_two_warehouses_gets_two_shipments_once(
    client: Client,
    app: Litestar,
    db: AsyncDatabase[Document],
    infra: Infra,
    topic_prefix: str,
    shop_id: str,
    events: TopicReader,
) -> None:
    order_id = new_id()
    first = command(shop_id, create_shipments(order_id, TWO_WAREHOUSES))
    await send(infra, topic_prefix, first)

    shipments = await shipments_of(client, shop_id, order_id, 2)
    assert {s["warehouse_id"]: s["lines"] for s in shipments} == {
        "wh-north": [{"sku": "MUG-RED", "quantity": 2}, {"sku": "TEA-100G", "quantity": 1}],
        "wh-south": [{"sku": "SPOON", "quantity": 3}],
    }
    assert {(s["status"], s["order_number"], s["shipments_in_order"]) for s in shipments} == {("created", 42, 2)}
    created = await wait_events(events, order_id, "ShipmentCreated", 2)
    assert {e["payload"]["shipment_id"] for e in created} == {s["shipment_id"] for s in shipments}
    assert {e["causation_id"] for e in created} == {first.event_id}

    # The same message delivered again, and the order service re-sending the command anew.
    [commands] = [c for c in app.state.runtime.consumers if c.group.endswith("fulfilment.commands")]
    handled_before = messages_consumed(commands.group, type_="CreateShipments")
    reissued = command(shop_id, create_shipments(order_id, TWO_WAREHOUSES))
    await send(infra, topic_prefix, first)
    await send(infra, topic_prefix, reissued)
    await eventually(
        lambda: messages_consumed(commands.group, type_="CreateShipments") >= handled_before + 2,
        what="the replay and the re-issued command handled",
    )
    assert await db["inbox"].count_documents({"shop_id": shop_id}) == 0  # the commands keep no inbox

    assert await shipments_of(client, shop_id, order_id, 2) == shipments
    await events.poll()
    assert len(events_of(events, order_id, "ShipmentCreated")) == 2


async def test_the_warehouse_and_the_courier_take_a_shipment_to_the_customer(
    client: Client, infra: Infra, topic_prefix: str, shop_id: str, events: TopicReader
) -> None:
    order_id, shipments = await order_with_shipments(client, infra, topic_prefix, shop_id, TWO_WAREHOUSES)
    north = next(s for s in shipments if s["warehouse_id"] == "wh-north")
    url = f"/shipments/{north['shipment_id']}"
    packer = internal_headers(shop_id, role="warehouse")

    picked = await client.post(f"{url}/pick", headers=packer)
    assert picked.status_code == 200, picked.text
    assert (picked.json()["status"], picked.json()["version"]) == ("picked", 2)
    assert picked.headers["etag"] == '"2"'

    packed = await client.post(
        f"{url}/pack",
        json={
            "scans": [
                {"sku": "TEA-100G", "quantity": 1},
                {"sku": "MUG-RED", "quantity": 1},
                {"sku": "MUG-RED", "quantity": 1},
            ]
        },
        headers=packer,
    )
    assert packed.status_code == 200, packed.text
    assert packed.json()["status"] == "packed"

    shipped = await client.post(f"{url}/ship", json={"carrier": "cdek"}, headers=packer)
    assert shipped.status_code == 200, shipped.text
    tracking_number = shipped.json()["tracking_number"]
    assert shipped.json()["carrier"] == "cdek"
    assert tracking_number and tracking_number.startswith("OMS")

    delivered = await client.post(f"{url}/deliver", headers=internal_headers(shop_id, role="courier"))
    assert delivered.status_code == 200, delivered.text
    body = delivered.json()
    assert body["status"] == "delivered"
    assert [(h["from"], h["to"], h["actor"].get("role")) for h in body["history"]] == [
        (None, "created", None),
        ("created", "picked", "warehouse"),
        ("picked", "packed", "warehouse"),
        ("packed", "shipped", "warehouse"),
        ("shipped", "delivered", "courier"),
    ]

    for type_ in ("ShipmentPicked", "ShipmentPacked", "ShipmentShipped", "ShipmentDelivered"):
        [event] = await wait_events(events, order_id, type_, 1)
        assert event["payload"]["shipment_id"] == north["shipment_id"]
        assert event["payload"]["shipments_in_order"] == 2
        assert event["shop_id"] == shop_id
        assert event["actor"]["kind"] == "staff"
    [shipped_event] = events_of(events, order_id, "ShipmentShipped")
    assert (shipped_event["payload"]["carrier"], shipped_event["payload"]["tracking_number"]) == (
        "cdek",
        tracking_number,
    )

    reread = await client.get(url, headers=internal_headers(shop_id, role="manager"))
    assert reread.json() == body


async def test_a_move_out_of_order_is_a_conflict_with_the_reason(
    client: Client, infra: Infra, topic_prefix: str, shop_id: str
) -> None:
    _, [shipment] = await order_with_shipments(client, infra, topic_prefix, shop_id, {"wh-1": [("MUG-RED", 1)]})
    url = f"/shipments/{shipment['shipment_id']}"
    await client.post(f"{url}/pick", headers=internal_headers(shop_id, **WAREHOUSE))

    response = await client.post(
        f"{url}/ship", json={"carrier": "cdek", "tracking_number": "CD-1"}, headers=internal_headers(shop_id)
    )

    assert response.status_code == 409
    assert response.headers["content-type"].startswith("application/problem+json")
    problem = response.json()
    assert problem["detail"] == f"cannot ship shipment {shipment['shipment_id']}: it is picked; it must be packed first"
    assert problem["status_now"] == "picked"

    no_carrier = await client.post(f"{url}/ship", headers=internal_headers(shop_id))
    assert no_carrier.status_code == 422
    assert [e["field"] for e in no_carrier.json()["errors"]] == ["carrier"]


async def test_packing_checks_the_scans_against_the_lines(
    client: Client, infra: Infra, topic_prefix: str, shop_id: str
) -> None:
    _, [shipment] = await order_with_shipments(
        client, infra, topic_prefix, shop_id, {"wh-1": [("MUG-RED", 2), ("TEA-100G", 1)]}
    )
    url = f"/shipments/{shipment['shipment_id']}"
    packer = internal_headers(shop_id, **WAREHOUSE)
    await client.post(f"{url}/pick", headers=packer)

    wrong = await client.post(
        f"{url}/pack",
        json={
            "scans": [
                {"sku": "MUG-RED", "quantity": 1},
                {"sku": "TEA-100G", "quantity": 1},
                {"sku": "SPOON", "quantity": 1},
            ]
        },
        headers=packer,
    )
    assert wrong.status_code == 422
    assert wrong.headers["content-type"].startswith("application/problem+json")
    assert wrong.json()["errors"] == [
        {"field": "scans", "message": "lines[0] (SKU MUG-RED): expected 2, scanned 1"},
        {"field": "scans[2].sku", "message": "SKU SPOON is not in this shipment"},
    ]

    no_scans: list[dict[str, Any] | None] = [{}, None]
    for body in no_scans:
        missing = await client.post(f"{url}/pack", json=body, headers=packer)
        assert missing.status_code == 422, missing.text
        assert [e["field"] for e in missing.json()["errors"]] == ["scans"]

    bad_quantity = await client.post(f"{url}/pack", json={"scans": [{"sku": "MUG-RED", "quantity": 0}]}, headers=packer)
    assert bad_quantity.status_code == 422
    assert "scans" in bad_quantity.json()["errors"][0]["field"]

    still = await client.get(url, headers=packer)
    assert (still.json()["status"], still.json()["version"]) == ("picked", 2)


async def test_another_shop_can_neither_see_nor_touch_the_shipment(
    client: Client, infra: Infra, topic_prefix: str, shop_id: str
) -> None:
    order_id, [shipment] = await order_with_shipments(client, infra, topic_prefix, shop_id, {"wh-1": [("MUG-RED", 1)]})
    url = f"/shipments/{shipment['shipment_id']}"
    stranger = internal_headers(f"shop-{new_id()}", role="admin")

    assert (await client.get(url, headers=stranger)).status_code == 404
    assert (await client.post(f"{url}/pick", headers=stranger)).status_code == 404
    listed = await client.get("/shipments", params={"order_id": order_id}, headers=stranger)
    assert listed.json() == {"items": [], "next_cursor": None}

    mine = await client.get(url, headers=internal_headers(shop_id, role="manager"))
    assert mine.json()["status"] == "created"


async def test_roles_decide_who_may_act(client: Client, infra: Infra, topic_prefix: str, shop_id: str) -> None:
    _, [shipment] = await order_with_shipments(client, infra, topic_prefix, shop_id, {"wh-1": [("MUG-RED", 1)]})
    url = f"/shipments/{shipment['shipment_id']}"

    assert (await client.post(f"{url}/pick", headers=internal_headers(shop_id, role="manager"))).status_code == 403
    assert (await client.post(f"{url}/pick", headers=internal_headers(shop_id, role="courier"))).status_code == 403
    storefront = internal_headers(shop_id, kind="storefront")
    assert (await client.get(url, headers=storefront)).status_code == 403
    assert (await client.get(url, headers=internal_headers(shop_id, role="manager"))).status_code == 200


async def test_if_match_refuses_a_stale_version(client: Client, infra: Infra, topic_prefix: str, shop_id: str) -> None:
    _, [shipment] = await order_with_shipments(client, infra, topic_prefix, shop_id, {"wh-1": [("MUG-RED", 1)]})
    url = f"/shipments/{shipment['shipment_id']}"
    packer = internal_headers(shop_id, **WAREHOUSE)

    picked = await client.post(f"{url}/pick", headers={**packer, "If-Match": '"1"'})
    assert picked.status_code == 200

    stale = await client.post(
        f"{url}/pack", json={"scans": [{"sku": "MUG-RED", "quantity": 1}]}, headers={**packer, "If-Match": "1"}
    )
    assert stale.status_code == 409
    assert stale.headers["content-type"].startswith("application/problem+json")

    garbled = await client.post(f"{url}/deliver", headers={**packer, "If-Match": "yesterday"})
    assert garbled.status_code == 422
    assert garbled.json()["errors"][0]["field"] == "If-Match"

    current = await client.post(
        f"{url}/pack", json={"scans": [{"sku": "MUG-RED", "quantity": 1}]}, headers={**packer, "If-Match": "2"}
    )
    assert current.status_code == 200
    assert current.json()["version"] == 3


async def test_of_two_racing_picks_at_one_version_only_one_wins(
    client: Client, infra: Infra, topic_prefix: str, shop_id: str, events: TopicReader
) -> None:
    order_id, [shipment] = await order_with_shipments(client, infra, topic_prefix, shop_id, {"wh-1": [("MUG-RED", 1)]})
    url = f"/shipments/{shipment['shipment_id']}/pick"
    headers = {**internal_headers(shop_id, **WAREHOUSE), "If-Match": '"1"'}

    racing = await asyncio.gather(client.post(url, headers=headers), client.post(url, headers=headers))

    assert sorted(r.status_code for r in racing) == [200, 409]
    await wait_events(events, order_id, "ShipmentPicked", 1)


async def test_lists_filter_and_page(client: Client, infra: Infra, topic_prefix: str, shop_id: str) -> None:
    three = {"wh-a": [("MUG-RED", 1)], "wh-b": [("MUG-RED", 1)], "wh-c": [("MUG-RED", 1)]}
    order_id, shipments = await order_with_shipments(client, infra, topic_prefix, shop_id, three)
    reader = internal_headers(shop_id, role="manager")
    by_warehouse = {s["warehouse_id"]: s["shipment_id"] for s in shipments}
    await client.post(f"/shipments/{by_warehouse['wh-b']}/pick", headers=internal_headers(shop_id, **WAREHOUSE))

    seen: list[str] = []
    cursor: str | None = None
    while True:
        params: dict[str, str | int] = {"order_id": order_id, "limit": 2}
        if cursor:
            params["cursor"] = cursor
        page = (await client.get("/shipments", params=params, headers=reader)).json()
        assert len(page["items"]) <= 2
        seen += [s["shipment_id"] for s in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == sorted(by_warehouse.values())

    picked = await client.get("/shipments", params={"status": "picked"}, headers=reader)
    assert [s["shipment_id"] for s in picked.json()["items"]] == [by_warehouse["wh-b"]]
    in_a = await client.get("/shipments", params={"warehouse_id": "wh-a", "status": "created"}, headers=reader)
    assert [s["shipment_id"] for s in in_a.json()["items"]] == [by_warehouse["wh-a"]]

    too_big = await client.get("/shipments", params={"limit": 101}, headers=reader)
    assert too_big.status_code == 422
    assert too_big.json()["errors"][0]["field"] == "limit"
    unknown = await client.get("/shipments", params={"status": "lost"}, headers=reader)
    assert unknown.status_code == 422
    assert unknown.json()["errors"][0]["field"] == "status"


async def test_an_allocation_that_names_a_warehouse_twice_goes_to_the_dead_letter_topic(
    client: Client, infra: Infra, topic_prefix: str, shop_id: str
) -> None:
    order_id = new_id()
    payload = create_shipments(order_id, {"wh-1": [("MUG-RED", 1)]})
    twice = payload.model_copy(update={"allocations": payload.allocations * 2})
    await send(infra, topic_prefix, command(shop_id, twice))

    async with TopicReader(infra.kafka_bootstrap, topic_prefix + DEADLETTER.name) as dead:
        record = await dead.wait_for(lambda r: r.key == order_id.encode())
    assert dict(record.headers)["x-dlq-reason"] == b"PermanentError: warehouse wh-1 is allocated twice"
    listed = await client.get(
        "/shipments", params={"order_id": order_id}, headers=internal_headers(shop_id, role="manager")
    )
    assert listed.json()["items"] == []


async def test_the_service_reports_ready_and_documents_its_api(client: Client) -> None:
    ready = await client.get("/health/ready")
    assert ready.status_code == 200, ready.text
    assert ready.json()["checks"] == {"mongo": "ok", "kafka": "ok"}
    paths = (await client.get("/schema/openapi.json")).json()["paths"]
    assert {"/shipments", "/shipments/{shipment_id}/pack"} <= set(paths)


async def test_an_erased_customer_leaves_their_shipments_anonymised_and_another_shops_untouched(
    client: Client, infra: Infra, topic_prefix: str, shop_id: str
) -> None:
    order_id, _ = await order_with_shipments(client, infra, topic_prefix, shop_id, TWO_WAREHOUSES)
    other_shop = f"shop-{new_id()}"
    other_order, _ = await order_with_shipments(client, infra, topic_prefix, other_shop, {"wh-1": [("MUG-RED", 1)]})
    erased = CustomerErased(customer_id=new_id(), order_ids=[order_id, other_order])  # the other shop's: not ours
    await produce_raw(
        infra.kafka_bootstrap,
        topic_prefix + ORDER_CUSTOMERS.name,
        Envelope.new(erased, shop_id=shop_id, actor=Actor.system("order")).to_json(),
        key=erased.customer_id.encode(),
    )

    async def anonymised() -> list[dict[str, Any]]:
        items = await shipments_of(client, shop_id, order_id, 2)
        assert all(s["customer"]["name"] == ERASED for s in items), items
        return items

    for shipment in await eventually(anonymised, what="the shipments anonymised"):
        assert shipment["customer"]["email"] == f"erased-{order_id}@erased.example"
        assert shipment["customer"]["phone"] is None
        assert (shipment["address"]["city"], shipment["address"]["line1"]) == (ERASED, ERASED)
        assert shipment["address"]["country"] == "RU" and shipment["lines"]  # what is not personal stays
    [kept] = await shipments_of(client, other_shop, other_order, 1)
    assert kept["customer"]["name"] == "Ann Petrova"
