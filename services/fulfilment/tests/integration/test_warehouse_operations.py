"""Warehouse operations on the real Kafka and MongoDB-protocol server: methods, waves, scans, tracking, webhooks."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from oms_contracts import Actor, Envelope, Money, new_id
from oms_contracts.messages.catalog import SkuUpserted
from oms_contracts.messages.common import Address, Customer, SkuQuantity, WarehouseAllocation
from oms_contracts.messages.fulfilment import CreateShipments
from oms_contracts.registry import (
    CATALOG_PRODUCTS,
    FULFILMENT_COMMANDS,
    FULFILMENT_DELIVERY_METHODS,
    FULFILMENT_EVENTS,
)
from oms_fulfilment.bootstrap import create_app
from oms_fulfilment.settings import FulfilmentSettings
from oms_runtime.webhooks import signature_header
from oms_testing import eventually
from oms_testing.http import internal_headers
from oms_testing.infra import Infra
from oms_testing.kafka import TopicReader, produce_raw

Client = AsyncTestClient[Litestar]
SECRET = "carrier-test-secret"
INTERNAL = "dev-internal-token"


@pytest.fixture(scope="module")
def settings(infra: Infra, topic_prefix: str) -> FulfilmentSettings:
    return infra.settings(
        FulfilmentSettings, topic_prefix, "fulfilment_wh", consumer_attempts=1, carrier_webhook_secrets={"cdek": SECRET}
    )


@pytest.fixture(scope="module")
async def client(settings: FulfilmentSettings) -> AsyncIterator[Client]:
    async with AsyncTestClient(create_app(settings)) as test_client:
        yield test_client


@pytest.fixture
async def events(infra: Infra, topic_prefix: str) -> AsyncIterator[TopicReader]:
    async with TopicReader(infra.kafka_bootstrap, topic_prefix + FULFILMENT_EVENTS.name) as reader:
        yield reader


async def order_with_shipments(
    client: Client, infra: Infra, topic_prefix: str, shop_id: str, allocations: dict[str, list[tuple[str, int]]]
) -> tuple[str, dict[str, dict[str, Any]]]:
    order_id = new_id()
    payload = CreateShipments(
        order_id=order_id,
        number=7,
        customer=Customer(name="Ann Petrova", email="ann@example.com"),
        address=Address(country="RU", city="Kazan", line1="Baumana 1"),
        delivery_type="carrier",
        allocations=[
            WarehouseAllocation(warehouse_id=w, lines=[SkuQuantity(sku=s, quantity=q) for s, q in lines])
            for w, lines in allocations.items()
        ],
    )
    envelope = Envelope.new(payload, shop_id=shop_id, actor=Actor.system("order"))
    await produce_raw(
        infra.kafka_bootstrap, topic_prefix + FULFILMENT_COMMANDS.name, envelope.to_json(), key=order_id.encode()
    )

    async def listed() -> dict[str, dict[str, Any]]:
        r = await client.get("/shipments", params={"order_id": order_id}, headers=internal_headers(shop_id))
        items = r.json()["items"]
        assert len(items) == len(allocations)
        return {s["warehouse_id"]: s for s in items}

    return order_id, await eventually(listed, what="shipments created")


async def sku_barcodes(infra: Infra, topic_prefix: str, shop_id: str, barcodes: dict[str, list[str]]) -> None:
    for sku, codes in barcodes.items():
        envelope = Envelope.new(
            SkuUpserted(sku=sku, name=sku, price=Money.of("10", "RUB"), barcodes=codes),
            shop_id=shop_id,
            actor=Actor.system("catalog"),
        )
        await produce_raw(
            infra.kafka_bootstrap, topic_prefix + CATALOG_PRODUCTS.name, envelope.to_json(), key=sku.encode()
        )


def typed(reader: TopicReader, order_id: str, type_: str) -> list[dict[str, Any]]:
    found = [json.loads(r.value) for r in reader.records]
    return [m for m in found if m["type"] == type_ and m["payload"]["order_id"] == order_id]


async def wait_typed(reader: TopicReader, order_id: str, type_: str, count: int = 1) -> list[dict[str, Any]]:
    async def seen() -> list[dict[str, Any]]:
        await reader.poll()
        found = typed(reader, order_id, type_)
        assert len(found) == count, f"{len(found)} {type_}"
        return found

    return await eventually(seen, what=f"{count} {type_}")


async def test_delivery_methods_are_kept_per_currency_and_published(
    client: Client, infra: Infra, topic_prefix: str, shop_id: str
) -> None:
    admin = internal_headers(shop_id, role="admin")
    body = {
        "code": "courier-msk",
        "delivery_type": "courier",
        "name": "Courier in Moscow",
        "currency": "RUB",
        "price": {"amount": "300", "currency": "RUB"},
        "free_from": {"amount": "5000", "currency": "RUB"},
    }
    async with TopicReader(infra.kafka_bootstrap, topic_prefix + FULFILMENT_DELIVERY_METHODS.name) as reader:
        created = await client.post("/delivery-methods", json=body, headers=admin)
        assert created.status_code == 201, created.text
        method = created.json()
        uah = await client.post(
            "/delivery-methods",
            json=body | {"currency": "UAH", "price": {"amount": "90", "currency": "UAH"}, "free_from": None},
            headers=admin,
        )
        assert uah.status_code == 201, uah.text

        changed = await client.patch(
            f"/delivery-methods/{method['delivery_method_id']}",
            json={"price": {"amount": "350.00", "currency": "RUB"}},
            headers={**admin, "If-Match": '"1"'},
        )
        assert changed.status_code == 200, changed.text
        assert changed.json()["price"] == {"amount": "350.00", "currency": "RUB"}

        async def published() -> list[dict[str, Any]]:
            await reader.poll()
            mine = [json.loads(r.value) for r in reader.records if r.key == method["delivery_method_id"].encode()]
            assert len(mine) == 2
            return mine

        first, second = await eventually(published, what="two DeliveryMethodChanged")
    assert first["type"] == "DeliveryMethodChanged" and first["shop_id"] == shop_id
    assert first["payload"]["price"] == {"amount": "300", "currency": "RUB"}
    assert second["payload"]["price"]["amount"] == "350.00"
    assert second["payload"]["free_from"] == {"amount": "5000", "currency": "RUB"}

    duplicate = await client.post("/delivery-methods", json=body, headers=admin)
    assert duplicate.status_code == 409 and duplicate.json()["errors"][0]["field"] == "code"
    wrong = await client.post(
        "/delivery-methods", json=body | {"code": "x", "price": {"amount": "3", "currency": "UAH"}}, headers=admin
    )
    assert wrong.status_code == 422 and wrong.json()["errors"][0]["field"] == "price.currency"
    forbidden = await client.post("/delivery-methods", json=body, headers=internal_headers(shop_id, role="warehouse"))
    assert forbidden.status_code == 403
    stale = await client.patch(
        f"/delivery-methods/{method['delivery_method_id']}", json={"active": False}, headers={**admin, "If-Match": "1"}
    )
    assert stale.status_code == 409

    page = await client.get("/delivery-methods", params={"limit": 1}, headers=admin)
    assert len(page.json()["items"]) == 1 and page.json()["next_cursor"]
    rub = await client.get("/delivery-methods", params={"currency": "UAH"}, headers=admin)
    assert [m["currency"] for m in rub.json()["items"]] == ["UAH"]
    other_shop = await client.get(
        f"/delivery-methods/{method['delivery_method_id']}", headers=internal_headers(new_id())
    )
    assert other_shop.status_code == 404


async def test_a_wave_is_picked_scanned_packed_handed_over_and_returned_to_sender(
    client: Client, infra: Infra, topic_prefix: str, shop_id: str, events: TopicReader
) -> None:
    await sku_barcodes(infra, topic_prefix, shop_id, {"MUG-RED": ["4600000000011"], "TEA": ["4600000000028"]})
    order_id, shipments = await order_with_shipments(
        client, infra, topic_prefix, shop_id, {"wh-a": [("MUG-RED", 2), ("TEA", 1)], "wh-b": [("SPOON", 1)]}
    )
    _, more = await order_with_shipments(client, infra, topic_prefix, shop_id, {"wh-a": [("MUG-RED", 1)]})
    staff = internal_headers(shop_id, role="warehouse")

    created = await client.post("/waves", json={"warehouse_id": "wh-a"}, headers=staff)
    assert created.status_code == 201, created.text
    wave = created.json()
    assert set(wave["shipment_ids"]) == {shipments["wh-a"]["shipment_id"], more["wh-a"]["shipment_id"]}
    assert {(i["sku"], i["quantity"]) for i in wave["items"]} == {("MUG-RED", 3), ("TEA", 1)}
    empty = await client.post("/waves", json={"warehouse_id": "wh-a"}, headers=staff)
    assert empty.status_code == 409 and empty.json()["errors"][0]["field"] == "warehouse_id"

    picked = await client.post(f"/waves/{wave['wave_id']}/pick", headers=staff)
    assert picked.status_code == 200, picked.text
    assert picked.json()["status"] == "picked"
    assert {s["status"] for s in picked.json()["shipments"]} == {"picked"}
    listed = await client.get("/waves", params={"warehouse_id": "wh-a"}, headers=staff)
    assert [w["wave_id"] for w in listed.json()["items"]] == [wave["wave_id"]]

    url = f"/shipments/{shipments['wh-a']['shipment_id']}"

    async def scan(code: str) -> Any:
        return await client.post(f"{url}/scans", json={"barcode": code}, headers=staff)

    # The barcode projection arrives through Kafka: wait until the first scan is recognised.
    async def first_scan() -> Any:
        r = await scan("4600000000011")
        assert r.status_code == 200, r.text
        return r

    assert (await eventually(first_scan, what="barcodes projected")).json()["scanned_sku"] == "MUG-RED"
    unknown = await scan("999")
    assert unknown.status_code == 422 and unknown.json()["reason"] == "unknown_barcode"
    assert unknown.json()["errors"][0]["field"] == "barcode"
    early = await client.post(f"{url}/pack", headers=staff)
    assert early.status_code == 422 and early.json()["errors"][0]["field"] == "scans"
    assert (await scan("4600000000028")).status_code == 200
    over = await scan("4600000000028")
    assert over.status_code == 409 and "already scanned" in over.json()["detail"]
    done = await scan("4600000000011")
    assert done.json()["scanned"] == {"MUG-RED": 2, "TEA": 1}

    packed = await client.post(f"{url}/pack", headers=staff)
    assert packed.status_code == 200 and packed.json()["status"] == "packed", packed.text
    shipped = await client.post(f"{url}/ship", json={"carrier": "cdek", "tracking_number": "CDEK-1"}, headers=staff)
    assert shipped.json()["label_url"] == f"{url}/label.pdf"

    manager = internal_headers(shop_id, role="manager")
    for code, status in [
        ("in_transit", "shipped"),
        ("failed", "failed_delivery"),
        ("returning", "returning_to_sender"),
    ]:
        r = await client.post(f"{url}/tracking", json={"code": code, "detail": "nobody home"}, headers=manager)
        assert (r.status_code, r.json()["status"]) == (200, status), r.text
    back = await client.post(f"{url}/tracking", json={"code": "returned"}, headers=staff)
    assert back.json()["status"] == "returned_to_sender"
    assert [t["code"] for t in back.json()["tracking"]] == ["in_transit", "failed", "returning", "returned"]
    late = await client.post(f"{url}/tracking", json={"code": "delivered"}, headers=staff)
    assert late.status_code == 409

    [failed] = await wait_typed(events, order_id, "ShipmentDeliveryFailed")
    assert failed["payload"] | {"lines": None} == failed["payload"] | {
        "carrier": "cdek",
        "tracking_number": "CDEK-1",
        "reason": "nobody home",
        "lines": None,
    }
    [returned] = await wait_typed(events, order_id, "ShipmentReturnedToSender")
    assert returned["payload"]["shipment_id"] == shipments["wh-a"]["shipment_id"]


async def test_the_carrier_webhook_is_signed_fresh_and_applied_once(
    client: Client, infra: Infra, topic_prefix: str, shop_id: str, events: TopicReader
) -> None:
    order_id, shipments = await order_with_shipments(client, infra, topic_prefix, shop_id, {"wh-c": [("CUP", 1)]})
    url = f"/shipments/{shipments['wh-c']['shipment_id']}"
    staff = internal_headers(shop_id, role="warehouse")
    await client.post(f"{url}/pick", headers=staff)
    await client.post(f"{url}/pack", json={"scans": [{"sku": "CUP", "quantity": 1}]}, headers=staff)
    number = f"CDEK-{new_id()[-8:]}"
    await client.post(f"{url}/ship", json={"carrier": "cdek", "tracking_number": number}, headers=staff)

    report = {"event_id": "ev-1", "shop_id": shop_id, "tracking_number": number, "code": "delivered"}
    raw = json.dumps(report).encode()
    now = int(time.time())

    async def post(body: bytes, signature: str) -> Any:
        headers = {
            "X-Carrier-Signature": signature,
            "X-OMS-Internal-Token": INTERNAL,
            "Content-Type": "application/json",
        }
        return await client.post("/webhooks/carriers/cdek", content=body, headers=headers)

    forged = await post(raw, signature_header("guess", now, raw))
    assert forged.status_code == 401 and "does not match" in forged.json()["detail"]
    stale = await post(raw, signature_header(SECRET, now - 3600, raw))
    assert stale.status_code == 401 and "tolerance" in stale.json()["detail"]

    accepted = await post(raw, signature_header(SECRET, now, raw))
    assert accepted.status_code == 200, accepted.text
    assert accepted.json() == {
        "shipment_id": shipments["wh-c"]["shipment_id"],
        "status": "delivered",
        "duplicate": False,
    }
    replayed = await post(raw, signature_header(SECRET, now + 1, raw))
    assert replayed.json()["duplicate"] is True

    await wait_typed(events, order_id, "ShipmentDelivered")
    got = await client.get(url, headers=staff)
    assert [t["source"] for t in got.json()["tracking"]] == ["cdek"]
    assert typed(events, order_id, "ShipmentDelivered").__len__() == 1
