# ruff: noqa: RUF001  (Russian text in documents: Cyrillic letters that look Latin are meant)
"""Returns (RMA) and shipment documents against the real Kafka broker and MongoDB-protocol server."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from io import BytesIO
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from oms_contracts import Actor, Envelope, Money, new_id
from oms_contracts.messages.common import Customer, OrderLine, Totals
from oms_contracts.messages.order import OrderLinesChanged, OrderPlaced
from oms_contracts.messages.payment import RefundCompleted
from oms_contracts.messages.shop import ShopCreated
from oms_contracts.registry import (
    CATALOG_COMMANDS,
    DEADLETTER,
    FULFILMENT_RETURNS,
    ORDER_EVENTS,
    PAYMENT_COMMANDS,
    PAYMENT_EVENTS,
    SHOP_EVENTS,
)
from oms_fulfilment.adapters.inbound.returns_http import CustomerReturnView
from oms_fulfilment.adapters.outbound.shops_mongo import MongoShopNames
from oms_fulfilment.bootstrap import create_app
from oms_fulfilment.settings import FulfilmentSettings
from oms_runtime.mongo import Document
from oms_testing import eventually
from oms_testing.http import internal_headers
from oms_testing.infra import Infra, service_database
from oms_testing.kafka import TopicReader, produce_raw
from oms_testing.metrics import messages_consumed
from pymongo.asynchronous.database import AsyncDatabase
from pypdf import PdfReader

Client = AsyncTestClient[Litestar]


@pytest.fixture(scope="module")
def settings(infra: Infra, topic_prefix: str) -> FulfilmentSettings:
    return infra.settings(FulfilmentSettings, topic_prefix, "returns", consumer_attempts=1)


@pytest.fixture(scope="module")
async def client(settings: FulfilmentSettings) -> AsyncIterator[Client]:
    async with AsyncTestClient(create_app(settings)) as test_client:
        yield test_client


@pytest.fixture
async def db(settings: FulfilmentSettings) -> AsyncIterator[AsyncDatabase[Document]]:
    async with service_database(settings) as database:
        yield database


def rub(amount: str) -> Money:
    return Money.of(amount, "RUB")


async def delivered_order(
    db: AsyncDatabase[Document], infra: Infra, topic_prefix: str, shop_id: str, *, status: str = "delivered"
) -> str:
    """An order of 2 MUG (450.00 each) and 1 SPOON (99.90), delivered in one shipment from wh-north."""
    order_id = new_id()
    now = datetime.now(UTC)
    await db["shipments"].insert_one(
        {
            "_id": new_id(),
            "shop_id": shop_id,
            "order_id": order_id,
            "order_number": 42,
            "warehouse_id": "wh-north",
            "lines": [{"sku": "MUG", "quantity": 2}, {"sku": "SPOON", "quantity": 1}],
            "customer": {"name": "Анна Петрова", "email": "ann@example.com", "phone": "+79990001122"},
            "address": {"country": "RU", "city": "Казань", "line1": "ул. Баумана, 1", "postcode": "420111"},
            "delivery_type": "courier",
            "notes": "Позвонить за час",
            "shipments_in_order": 1,
            "status": status,
            "carrier": "cdek",
            "tracking_number": "OMS0000ABC123",
            "created_at": now,
            "updated_at": now,
            "history": [],
            "version": 5,
        }
    )
    placed = OrderPlaced(
        order_id=order_id,
        number=42,
        channel="web",
        customer=Customer(name="Анна Петрова", email="ann@example.com"),
        address=None,
        lines=[
            OrderLine(sku="MUG", name="Кружка красная", quantity=2, unit_price=rub("450.00"), total=rub("900.00")),
            OrderLine(sku="SPOON", name="Ложка", quantity=1, unit_price=rub("99.90"), total=rub("99.90")),
        ],
        totals=Totals(subtotal=rub("999.90"), delivery=rub("0"), grand_total=rub("999.90")),
        delivery_type="courier",
        payment_method="card",
        stage="new",
        status="new",
    )
    envelope = Envelope.new(placed, shop_id=shop_id, actor=Actor.system("order"))
    await produce_raw(
        infra.kafka_bootstrap, topic_prefix + ORDER_EVENTS.name, envelope.to_json(), key=order_id.encode()
    )
    await eventually(
        lambda: db["return_order_lines"].find_one({"_id": order_id, "shop_id": shop_id}), what="order lines projected"
    )
    return order_id


def headers(shop_id: str, role: str | None = "manager", kind: str = "staff") -> dict[str, str]:
    return internal_headers(shop_id, role=role, kind=kind)


def records_of(reader: TopicReader, type_: str, **fields: Any) -> list[dict[str, Any]]:
    found = []
    for record in reader.records:
        message = json.loads(record.value)
        if message["type"] == type_ and all(message["payload"].get(k) == v for k, v in fields.items()):
            found.append(message)
    return found


async def wait_record(reader: TopicReader, type_: str, **fields: Any) -> dict[str, Any]:
    async def probe() -> dict[str, Any] | None:
        await reader.poll()
        found = records_of(reader, type_, **fields)
        return found[0] if found else None

    result: dict[str, Any] = await eventually(probe, what=f"{type_} {fields}")
    return result


async def test_a_return_goes_from_request_to_restock_and_refund(
    client: Client, db: AsyncDatabase[Document], infra: Infra, topic_prefix: str, shop_id: str
) -> None:
    order_id = await delivered_order(db, infra, topic_prefix, shop_id)
    storefront = headers(shop_id, role=None, kind="storefront")
    asked = await client.post(
        "/returns",
        json={"order_id": order_id, "lines": [{"sku": "MUG", "quantity": 2, "reason": "разбита"}]},
        headers=storefront,
    )
    assert asked.status_code == 201, asked.text
    item = asked.json()
    assert item["status"] == "requested"
    assert item["rma_number"] == "R42-1"
    return_id = item["return_id"]

    refused = await client.post(f"/returns/{return_id}/approve", headers=headers(shop_id, "warehouse"))
    assert refused.status_code == 403
    approved = await client.post(f"/returns/{return_id}/approve", headers=headers(shop_id, "manager"))
    assert approved.json()["status"] == "approved"
    got = await client.post(
        f"/returns/{return_id}/receive", json={"warehouse_id": "wh-north"}, headers=headers(shop_id, "warehouse")
    )
    assert got.json()["status"] == "received"
    inspected = await client.post(
        f"/returns/{return_id}/inspect",
        json={"lines": [{"sku": "MUG", "restock": 1, "write_off": 1}]},
        headers=headers(shop_id, "warehouse"),
    )
    assert inspected.status_code == 200, inspected.text
    done = inspected.json()
    assert done["status"] == "completed"
    assert done["refund"] == {"amount": "900.00", "currency": "RUB"}
    assert done["fully_returned"] is False
    assert [h["to"] for h in done["history"]] == ["requested", "approved", "received", "completed"]
    # The storefront sees the customer view: no staff actors, warehouse or inspection details.
    assert set(item) == set(CustomerReturnView.model_fields)
    shown = await client.get(f"/returns/{return_id}", headers=storefront)
    assert shown.status_code == 200, shown.text
    assert set(shown.json()) == set(CustomerReturnView.model_fields)
    assert shown.json()["status"] == "completed" and shown.json()["refund"] == done["refund"]
    assert "wh-north" not in shown.text and "history" not in shown.json() and "inspection" not in shown.json()

    async with (
        TopicReader(infra.kafka_bootstrap, topic_prefix + FULFILMENT_RETURNS.name) as returns,
        TopicReader(infra.kafka_bootstrap, topic_prefix + CATALOG_COMMANDS.name) as catalog,
        TopicReader(infra.kafka_bootstrap, topic_prefix + PAYMENT_COMMANDS.name) as payment,
    ):
        completed = await wait_record(returns, "ReturnCompleted", return_id=return_id)
        assert completed["payload"]["lines"] == [
            {"sku": "MUG", "restocked": 1, "written_off": 1, "refund": {"amount": "900.00", "currency": "RUB"}}
        ]
        assert [m["type"] for m in records_of(returns, "ReturnRequested", return_id=return_id)] == ["ReturnRequested"]
        restock = await wait_record(catalog, "RestockReturn", return_id=return_id)
        assert restock["payload"]["warehouse_id"] == "wh-north"
        assert restock["payload"]["lines"] == [{"sku": "MUG", "restock": 1, "write_off": 1}]
        refund = await wait_record(payment, "RequestRefund", return_id=return_id)
        assert refund["payload"]["refund_request_id"] == f"return:{return_id}"
        assert refund["payload"]["amount"] == {"amount": "900.00", "currency": "RUB"}

    refunded = RefundCompleted(
        order_id=order_id,
        refund_id="rf-1",
        refund_request_id=f"return:{return_id}",
        amount=rub("900.00"),
        destination="original",
        return_id=return_id,
        reason="return R42-1",
    )
    envelope = Envelope.new(refunded, shop_id=shop_id, actor=Actor.system("payment"))
    await produce_raw(
        infra.kafka_bootstrap, topic_prefix + PAYMENT_EVENTS.name, envelope.to_json(), key=order_id.encode()
    )

    async def refund_noted() -> dict[str, Any] | None:
        body: dict[str, Any] = (await client.get(f"/returns/{return_id}", headers=headers(shop_id))).json()
        return body if body["refund_id"] == "rf-1" else None

    shown = await eventually(refund_noted, what="refund noted on the return")
    assert shown["refunded"] == {"amount": "900.00", "currency": "RUB"}


async def test_quantities_cannot_exceed_what_was_delivered_minus_returned(
    client: Client, db: AsyncDatabase[Document], infra: Infra, topic_prefix: str, shop_id: str
) -> None:
    order_id = await delivered_order(db, infra, topic_prefix, shop_id)
    too_many = await client.post(
        "/returns",
        json={"order_id": order_id, "lines": [{"sku": "MUG", "quantity": 3, "reason": "x"}]},
        headers=headers(shop_id),
    )
    assert too_many.status_code == 422
    assert too_many.json()["errors"][0]["field"] == "lines[0].quantity"
    first = await client.post(
        "/returns",
        json={"order_id": order_id, "lines": [{"sku": "MUG", "quantity": 2, "reason": "x"}]},
        headers=headers(shop_id),
    )
    assert first.status_code == 201
    again = await client.post(
        "/returns",
        json={"order_id": order_id, "lines": [{"sku": "MUG", "quantity": 1, "reason": "x"}]},
        headers=headers(shop_id),
    )
    assert again.status_code == 422
    assert "at most 0" in again.json()["errors"][0]["message"]
    rejected = await client.post(
        f"/returns/{first.json()['return_id']}/reject", json={"reason": "used"}, headers=headers(shop_id)
    )
    assert rejected.json()["status"] == "rejected"
    after_rejection = await client.post(
        "/returns",
        json={"order_id": order_id, "lines": [{"sku": "MUG", "quantity": 1, "reason": "x"}]},
        headers=headers(shop_id),
    )
    assert after_rejection.status_code == 201
    assert after_rejection.json()["rma_number"] == "R42-2"
    listed = await client.get(f"/returns?order_id={order_id}&limit=1", headers=headers(shop_id))
    page = listed.json()
    assert len(page["items"]) == 1 and page["next_cursor"]
    rest = await client.get(f"/returns?order_id={order_id}&cursor={page['next_cursor']}", headers=headers(shop_id))
    assert [r["rma_number"] for r in rest.json()["items"]] == ["R42-2"]


async def test_nothing_delivered_nothing_to_return_and_other_shops_see_nothing(
    client: Client, db: AsyncDatabase[Document], infra: Infra, topic_prefix: str, shop_id: str
) -> None:
    order_id = await delivered_order(db, infra, topic_prefix, shop_id, status="shipped")
    refused = await client.post(
        "/returns",
        json={"order_id": order_id, "lines": [{"sku": "MUG", "quantity": 1, "reason": "x"}]},
        headers=headers(shop_id),
    )
    assert refused.status_code == 422
    assert refused.json()["errors"][0]["field"] == "order_id"
    missing = await client.get(f"/returns/{new_id()}", headers=headers(shop_id))
    assert missing.status_code == 404
    other = await client.post(
        "/returns",
        json={"order_id": order_id, "lines": [{"sku": "MUG", "quantity": 1, "reason": "x"}]},
        headers=headers(new_id()),
    )
    assert other.status_code == 422


def pdf_text(content: bytes) -> str:
    assert content.startswith(b"%PDF-")
    return " ".join(" ".join(page.extract_text().split()) for page in PdfReader(BytesIO(content)).pages)


async def test_shipment_documents_are_pdfs_with_the_shipment_in_them(
    client: Client, db: AsyncDatabase[Document], infra: Infra, topic_prefix: str, shop_id: str
) -> None:
    order_id = await delivered_order(db, infra, topic_prefix, shop_id)
    shipment = await db["shipments"].find_one({"shop_id": shop_id, "order_id": order_id})
    assert shipment is not None
    sid = shipment["_id"]
    waybill = await client.get(f"/shipments/{sid}/waybill.pdf", headers=headers(shop_id, "warehouse"))
    assert waybill.status_code == 200
    assert waybill.headers["content-type"].startswith("application/pdf")
    text = pdf_text(waybill.content)
    for expected in ("Заказ (Order) № 42", "Кружка красная", "OMS0000ABC123", "Анна Петрова", "999,90 RUB"):
        assert expected in text, expected
    slip = pdf_text(
        (await client.get(f"/shipments/{sid}/packing-slip.pdf", headers=headers(shop_id, "warehouse"))).content
    )
    assert "Всего единиц (Units): 3" in slip and "Позвонить за час" in slip
    label = pdf_text((await client.get(f"/shipments/{sid}/label.pdf", headers=headers(shop_id, "courier"))).content)
    assert "OMS0000ABC123" in label and "Казань" in label
    storefront = await client.get(f"/shipments/{sid}/label.pdf", headers=headers(shop_id, None, "storefront"))
    assert storefront.status_code == 403
    elsewhere = await client.get(f"/shipments/{sid}/waybill.pdf", headers=headers(new_id(), "warehouse"))
    assert elsewhere.status_code == 404
    await db["shipments"].update_one({"_id": sid}, {"$set": {"tracking_number": None}})
    unshipped = await client.get(f"/shipments/{sid}/label.pdf", headers=headers(shop_id, "warehouse"))
    assert unshipped.status_code == 409


async def shop_created(
    infra: Infra, topic_prefix: str, shop_id: str, name: str, *, occurred_at: datetime | None = None
) -> Envelope[ShopCreated]:
    """The gateway announces a shop (as it does when an owner signs up)."""
    envelope = Envelope.new(
        ShopCreated(shop_id=shop_id, name=name, default_currency="RUB", locale="ru"),
        shop_id=shop_id,
        actor=Actor.system("gateway"),
        occurred_at=occurred_at,
    )
    await produce_raw(infra.kafka_bootstrap, topic_prefix + SHOP_EVENTS.name, envelope.to_json(), key=shop_id.encode())
    return envelope


async def shop_name_projected(db: AsyncDatabase[Document], shop_id: str, name: str) -> None:
    await eventually(
        lambda: db["shops"].find_one({"shop_id": shop_id, "_id": shop_id, "name": name}),
        what=f"shop {shop_id} projected as {name!r}",
    )


async def test_waybill_and_label_name_the_shop_once_its_shop_created_is_projected(
    client: Client, db: AsyncDatabase[Document], infra: Infra, topic_prefix: str, shop_id: str
) -> None:
    name = f"Чайная лавка {shop_id[-6:]}"
    await shop_created(infra, topic_prefix, shop_id, name)
    await shop_name_projected(db, shop_id, name)
    order_id = await delivered_order(db, infra, topic_prefix, shop_id)
    shipment = await db["shipments"].find_one({"shop_id": shop_id, "order_id": order_id})
    assert shipment is not None
    sid = shipment["_id"]
    waybill = pdf_text(
        (await client.get(f"/shipments/{sid}/waybill.pdf", headers=headers(shop_id, "warehouse"))).content
    )
    label = pdf_text((await client.get(f"/shipments/{sid}/label.pdf", headers=headers(shop_id, "courier"))).content)
    for text in (waybill, label):
        assert f"{name}, wh-north" in text
        assert "OMS, wh-north" not in text

    # A shop the gateway has not announced (here: not yet) keeps the configured sender name.
    unknown_shop = new_id()
    other_order = await delivered_order(db, infra, topic_prefix, unknown_shop)
    other = await db["shipments"].find_one({"shop_id": unknown_shop, "order_id": other_order})
    assert other is not None
    oid = other["_id"]
    other_waybill = await client.get(f"/shipments/{oid}/waybill.pdf", headers=headers(unknown_shop, "warehouse"))
    other_label = await client.get(f"/shipments/{oid}/label.pdf", headers=headers(unknown_shop, "warehouse"))
    for text in (pdf_text(other_waybill.content), pdf_text(other_label.content)):
        assert "OMS, wh-north" in text
        assert name not in text


async def test_order_lines_keep_the_newest_announcement_and_no_inbox(
    settings: FulfilmentSettings,
    client: Client,
    db: AsyncDatabase[Document],
    infra: Infra,
    topic_prefix: str,
    shop_id: str,
) -> None:
    """The order lines are a newest-wins projection: a replay and an older edit change nothing, and
    their consumer keeps no inbox records (ADR 0027)."""
    group = f"{topic_prefix}{settings.service_name}.order-lines"
    order_id = await delivered_order(db, infra, topic_prefix, shop_id)
    projected = await db["return_order_lines"].find_one({"_id": order_id})
    assert projected is not None
    handled_before = messages_consumed(group)
    older = OrderLinesChanged(
        order_id=order_id,
        number=42,
        change_id=new_id(),
        lines=[OrderLine(sku="MUG", name="Кружка", quantity=1, unit_price=rub("450.00"), total=rub("450.00"))],
        totals=Totals(subtotal=rub("450.00"), delivery=rub("0"), grand_total=rub("450.00")),
    )
    an_hour_ago = datetime.now(UTC) - timedelta(hours=1)  # before the OrderPlaced projected above
    edit = Envelope.new(older, shop_id=shop_id, actor=Actor.system("order"), occurred_at=an_hour_ago)
    topic = topic_prefix + ORDER_EVENTS.name
    for _ in range(2):  # the edit, and the same message delivered again
        await produce_raw(infra.kafka_bootstrap, topic, edit.to_json(), key=order_id.encode())

    await eventually(lambda: messages_consumed(group) >= handled_before + 2, what="the edit and its replay handled")
    assert await db["return_order_lines"].find_one({"_id": order_id}) == projected
    assert await db["inbox"].count_documents({"shop_id": shop_id}) == 0


async def test_the_newest_shop_created_wins_and_a_replay_or_an_older_one_changes_nothing(
    settings: FulfilmentSettings,
    client: Client,
    db: AsyncDatabase[Document],
    infra: Infra,
    topic_prefix: str,
    shop_id: str,
) -> None:
    first = await shop_created(infra, topic_prefix, shop_id, "Лавка 1")
    await shop_name_projected(db, shop_id, "Лавка 1")
    # An announcement older than the stored one arrives late: consumed (inbox), yet the name stays.
    late = await shop_created(
        infra, topic_prefix, shop_id, "Лавка 0", occurred_at=first.occurred_at - timedelta(hours=1)
    )
    group = f"{topic_prefix}{settings.service_name}.shops"
    await eventually(
        lambda: db["inbox"].find_one({"_id": f"{group}:{late.event_id}"}), what="older ShopCreated consumed"
    )
    names = MongoShopNames(db["shops"])
    assert await names.name_of(shop_id) == "Лавка 1"
    # The same event applied again (the process stopped before its inbox record) changes nothing.
    assert await names.remember(shop_id, "Лавка 1", first.occurred_at) is False
    # A newer one wins.
    await shop_created(infra, topic_prefix, shop_id, "Лавка 2", occurred_at=first.occurred_at + timedelta(hours=1))
    await shop_name_projected(db, shop_id, "Лавка 2")
    assert await db["shops"].count_documents({"shop_id": shop_id}) == 1


async def test_a_shop_created_sent_as_another_shop_is_dead_lettered_and_names_nobody(
    client: Client, db: AsyncDatabase[Document], infra: Infra, topic_prefix: str, shop_id: str
) -> None:
    victim = new_id()
    forged = Envelope.new(
        ShopCreated(shop_id=victim, name="Чужая лавка", default_currency="RUB"),
        shop_id=shop_id,
        actor=Actor.system("gateway"),
    )
    await produce_raw(infra.kafka_bootstrap, topic_prefix + SHOP_EVENTS.name, forged.to_json(), key=victim.encode())
    async with TopicReader(infra.kafka_bootstrap, topic_prefix + DEADLETTER.name) as dead:
        record = await dead.wait_for(lambda r: r.key == victim.encode())
    assert dict(record.headers)["x-dlq-reason"].startswith(b"PermanentError: ShopCreated for shop")
    assert await db["shops"].find_one({"shop_id": victim, "_id": victim}) is None


async def test_a_retried_request_with_its_idempotency_key_makes_one_return(
    client: Client, db: AsyncDatabase[Document], infra: Infra, topic_prefix: str, shop_id: str
) -> None:
    order_id = await delivered_order(db, infra, topic_prefix, shop_id)
    body = {"order_id": order_id, "lines": [{"sku": "SPOON", "quantity": 1, "reason": "bent"}]}
    keyed = {**headers(shop_id, role=None, kind="storefront"), "Idempotency-Key": "rma-1"}
    first = await client.post("/returns", json=body, headers=keyed)
    again = await client.post("/returns", json=body, headers=keyed)
    assert first.status_code == again.status_code == 201
    assert again.json()["return_id"] == first.json()["return_id"]
    assert again.headers["Idempotent-Replayed"] == "true"
    other = {**body, "lines": [{"sku": "MUG", "quantity": 1, "reason": "x"}]}
    reused = await client.post("/returns", json=other, headers=keyed)
    assert reused.status_code == 422
    assert reused.json()["errors"][0]["field"] == "Idempotency-Key"
    listed = await client.get(f"/returns?order_id={order_id}", headers=headers(shop_id))
    assert len(listed.json()["items"]) == 1


async def test_return_reasons_over_a_period_count_returns_lines_units_and_rejections(
    client: Client, db: AsyncDatabase[Document], infra: Infra, topic_prefix: str, shop_id: str
) -> None:
    first_order = await delivered_order(db, infra, topic_prefix, shop_id)
    second_order = await delivered_order(db, infra, topic_prefix, shop_id)
    asked = [
        (
            first_order,
            [{"sku": "MUG", "quantity": 2, "reason": "broken"}, {"sku": "SPOON", "quantity": 1, "reason": "too small"}],
        ),
        (second_order, [{"sku": "MUG", "quantity": 1, "reason": "broken"}]),
    ]
    made = []
    for order_id, lines in asked:
        answer = await client.post("/returns", json={"order_id": order_id, "lines": lines}, headers=headers(shop_id))
        assert answer.status_code == 201, answer.text
        made.append(answer.json()["return_id"])
    await client.post(f"/returns/{made[1]}/reject", json={"reason": "used"}, headers=headers(shop_id))
    now = datetime.now(UTC)
    period = {"since": (now - timedelta(hours=1)).isoformat(), "until": (now + timedelta(hours=1)).isoformat()}
    answer = await client.get("/returns/reasons", params=period, headers=headers(shop_id))
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["truncated"] is False
    assert [(r["reason"], r["returns"], r["lines"], r["units"], r["rejected"]) for r in body["reasons"]] == [
        ("broken", 2, 2, 3, 1),
        ("too small", 1, 1, 1, 0),
    ]
    earlier = {"since": "2020-01-01T00:00:00+00:00", "until": "2020-02-01T00:00:00+00:00"}
    assert (await client.get("/returns/reasons", params=earlier, headers=headers(shop_id))).json()["reasons"] == []
    other = await client.get("/returns/reasons", params=period, headers=headers(f"other-{shop_id}"))
    assert other.json()["reasons"] == []
    backwards = await client.get(
        "/returns/reasons", params={"since": period["until"], "until": period["since"]}, headers=headers(shop_id)
    )
    assert backwards.status_code == 422 and backwards.json()["errors"][0]["field"] == "since"
    missing = await client.get("/returns/reasons", params={"since": period["since"]}, headers=headers(shop_id))
    assert missing.status_code == 422 and missing.json()["errors"][0]["field"] == "until"
    warehouse = await client.get("/returns/reasons", params=period, headers=headers(shop_id, "warehouse"))
    assert warehouse.status_code == 403
