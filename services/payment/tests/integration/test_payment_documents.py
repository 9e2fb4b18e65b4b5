# ruff: noqa: RUF001  (Russian documents: Cyrillic letters that look Latin are meant)
"""Bank-transfer documents: invoice.pdf and pd4.pdf from the shop's requisites and the order's lines."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from io import BytesIO

import httpx
import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from oms_contracts import Actor, Envelope, Money, new_id
from oms_contracts.messages.common import Address, Customer, OrderLine, Totals
from oms_contracts.messages.order import CustomerErased, OrderPlaced
from oms_contracts.registry import ORDER_CUSTOMERS, ORDER_EVENTS
from oms_payment.adapters.outbound.configs_mongo import MongoPaymentConfigRepository
from oms_payment.application.ports import AuditEntry
from oms_payment.bootstrap import create_app
from oms_payment.domain.shop_config import BankRequisites, ShopPaymentConfig
from oms_payment.settings import PaymentSettings
from oms_runtime.mongo import Document
from oms_runtime.order_link import DEV_SECRET, OrderLinkClaims, OrderLinkCodec
from oms_testing import eventually
from oms_testing.http import internal_headers
from oms_testing.infra import Infra, service_database
from oms_testing.kafka import produce_raw
from pymongo.asynchronous.database import AsyncDatabase
from pypdf import PdfReader

Client = AsyncTestClient[Litestar]
BANK = BankRequisites(
    recipient="ООО «Ромашка»",
    inn="7701234567",
    kpp="770101001",
    account="40702810900000012345",
    bank="ПАО Сбербанк",
    bic="044525225",
    correspondent_account="30101810400000000225",
)


@pytest.fixture(scope="module")
def settings(infra: Infra, topic_prefix: str) -> PaymentSettings:
    return infra.settings(PaymentSettings, topic_prefix, "paydocs", consumer_attempts=1)


@pytest.fixture(scope="module")
async def client(settings: PaymentSettings) -> AsyncIterator[Client]:
    async with AsyncTestClient(create_app(settings)) as test_client:
        yield test_client


@pytest.fixture
async def db(settings: PaymentSettings) -> AsyncIterator[AsyncDatabase[Document]]:
    async with service_database(settings) as database:
        yield database


def rub(amount: str) -> Money:
    return Money.of(amount, "RUB")


async def bank_transfer_payment(
    db: AsyncDatabase[Document], infra: Infra, topic_prefix: str, shop_id: str, amount: str
) -> str:
    """An order of 2 MUG at 450.00 + 300.00 delivery (1 200.00), and its bank-transfer payment of `amount`."""
    order_id, payment_id = new_id(), new_id()
    placed = OrderPlaced(
        order_id=order_id,
        number=77,
        channel="web",
        customer=Customer(name="Иван Петров", email="ivan@example.com"),
        address=Address(country="RU", city="Казань", line1="ул. Баумана, 1", postcode="420111"),
        lines=[OrderLine(sku="MUG", name="Кружка красная", quantity=2, unit_price=rub("450.00"), total=rub("900.00"))],
        totals=Totals(subtotal=rub("900.00"), delivery=rub("300.00"), grand_total=rub("1200.00")),
        delivery_type="courier",
        payment_method="bank_transfer",
        stage="new",
        status="new",
    )
    envelope = Envelope.new(placed, shop_id=shop_id, actor=Actor.system("order"))
    await produce_raw(
        infra.kafka_bootstrap, topic_prefix + ORDER_EVENTS.name, envelope.to_json(), key=order_id.encode()
    )
    now = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
    await db["payments"].insert_one(
        {
            "_id": payment_id,
            "shop_id": shop_id,
            "order_id": order_id,
            "order_number": 77,
            "method": "bank_transfer",
            "amount": {"amount": amount, "currency": "RUB"},
            "status": "awaiting_transfer",
            "created_at": now,
            "updated_at": now,
            "version": 1,
        }
    )
    await eventually(lambda: db["document_orders"].find_one({"_id": order_id, "shop_id": shop_id}), what="order")
    return payment_id


def text_of(content: bytes) -> str:
    assert content.startswith(b"%PDF-")
    return " ".join(" ".join(page.extract_text().split()) for page in PdfReader(BytesIO(content)).pages)


async def test_invoice_and_pd4_carry_the_shop_requisites_and_the_order(
    client: Client, db: AsyncDatabase[Document], infra: Infra, topic_prefix: str, shop_id: str
) -> None:
    payment_id = await bank_transfer_payment(db, infra, topic_prefix, shop_id, "1200.00")
    headers = internal_headers(shop_id, role="manager")
    missing = await client.get(f"/payments/{payment_id}/invoice.pdf", headers=headers)
    assert missing.status_code == 409
    assert "requisites" in missing.json()["detail"]
    config = ShopPaymentConfig(shop_id=shop_id, currency="RUB", methods=("bank_transfer",), bank=BANK)
    await MongoPaymentConfigRepository(db).put(config, audit=AuditEntry(at=datetime.now(UTC), action="test"))

    invoice = await client.get(f"/payments/{payment_id}/invoice.pdf", headers=headers)
    assert invoice.status_code == 200
    assert invoice.headers["content-type"].startswith("application/pdf")
    text = text_of(invoice.content)
    for expected in (
        "Счёт на оплату № 77 от 23.11.2026",
        "ИНН 7701234567",
        "40702810900000012345",
        "044525225",
        "Иван Петров",
        "Кружка красная",
        "Доставка",
        "Всего к оплате (Amount due): 1 200,00 RUB",
        "Оплата заказа № 77",
    ):
        assert expected in text, expected

    storefront = internal_headers(shop_id, role=None, kind="storefront")
    pd4 = await client.get(f"/payments/{payment_id}/pd4.pdf", headers=storefront)
    assert pd4.status_code == 200
    slip = text_of(pd4.content)
    assert slip.count("Сумма платежа: 1 200,00 RUB") == 2
    assert slip.count("КПП 770101001") == 2 and "Иван Петров" in slip


async def test_a_prepayment_invoice_is_one_line_for_its_amount_and_other_shops_get_404(
    client: Client, db: AsyncDatabase[Document], infra: Infra, topic_prefix: str, shop_id: str
) -> None:
    payment_id = await bank_transfer_payment(db, infra, topic_prefix, shop_id, "360.00")
    config = ShopPaymentConfig(shop_id=shop_id, currency="RUB", methods=("bank_transfer",), bank=BANK)
    await MongoPaymentConfigRepository(db).put(config, audit=AuditEntry(at=datetime.now(UTC), action="test"))
    text = text_of((await client.get(f"/payments/{payment_id}/invoice.pdf", headers=internal_headers(shop_id))).content)
    assert "Оплата по заказу № 77" in text and "360,00 RUB" in text
    assert "Кружка красная" not in text
    other = await client.get(f"/payments/{payment_id}/pd4.pdf", headers=internal_headers(new_id()))
    assert other.status_code == 404
    warehouse = await client.get(f"/payments/{payment_id}/pd4.pdf", headers=internal_headers(shop_id, role="warehouse"))
    assert warehouse.status_code == 403


REQUISITES = {
    "recipient": BANK.recipient,
    "inn": BANK.inn,
    "kpp": BANK.kpp,
    "account": BANK.account,
    "bank": BANK.bank,
    "bic": BANK.bic,
    "correspondent_account": BANK.correspondent_account,
}


async def put_rub_settings(client: Client, shop_id: str, **extra: object) -> httpx.Response:
    body = {"methods": ["bank_transfer"], "bank": REQUISITES, **extra}
    return await client.put("/payment-settings/RUB", json=body, headers=internal_headers(shop_id))


async def test_settings_with_vat_20_print_the_vat_in_the_order_total_on_invoice_and_pd4(
    client: Client, db: AsyncDatabase[Document], infra: Infra, topic_prefix: str, shop_id: str
) -> None:
    payment_id = await bank_transfer_payment(db, infra, topic_prefix, shop_id, "1200.00")
    saved = await put_rub_settings(client, shop_id, vat_rate="20.00")
    assert saved.status_code == 200, saved.text
    assert saved.json()["vat_rate"] == "20"
    got = await client.get("/payment-settings/RUB", headers=internal_headers(shop_id, role="manager"))
    assert got.json()["vat_rate"] == "20"
    again = await put_rub_settings(client, shop_id, **{k: v for k, v in got.json().items() if k != "currency"})
    assert again.status_code == 200 and again.json()["vat_rate"] == "20"  # GET's body goes back unchanged

    text = text_of((await client.get(f"/payments/{payment_id}/invoice.pdf", headers=internal_headers(shop_id))).content)
    assert "В том числе НДС 20% (VAT included): 200,00 RUB" in text
    assert "Без налога" not in text
    assert "Всего к оплате (Amount due): 1 200,00 RUB" in text
    assert "Оплата заказа № 77, в т.ч. НДС 20% 200,00 RUB" in text
    slip = text_of((await client.get(f"/payments/{payment_id}/pd4.pdf", headers=internal_headers(shop_id))).content)
    assert slip.count("Оплата заказа № 77, в т.ч. НДС 20% 200,00 RUB") == 2
    assert slip.count("Сумма платежа: 1 200,00 RUB") == 2

    stored = await db["payment_configs"].find_one({"shop_id": shop_id, "currency": "RUB"})
    assert stored is not None and stored["vat_rate"] == "20"
    assert [entry["vat_rate"] for entry in stored["history"]] == ["20", "20"]


async def test_without_a_vat_rate_the_documents_say_without_vat_as_the_settings_are_when_made(
    client: Client, db: AsyncDatabase[Document], infra: Infra, topic_prefix: str, shop_id: str
) -> None:
    payment_id = await bank_transfer_payment(db, infra, topic_prefix, shop_id, "360.00")
    assert (await put_rub_settings(client, shop_id, vat_rate=10)).status_code == 200
    invoice_url = f"/payments/{payment_id}/invoice.pdf"
    with_vat = text_of((await client.get(invoice_url, headers=internal_headers(shop_id))).content)
    assert "В том числе НДС 10% (VAT included): 32,73 RUB" in with_vat  # 360.00 * 10 / 110

    cleared = await put_rub_settings(client, shop_id)  # the shop moved to the simplified tax system
    assert cleared.status_code == 200 and cleared.json()["vat_rate"] is None
    got = await client.get("/payment-settings/RUB", headers=internal_headers(shop_id))
    assert got.json()["vat_rate"] is None
    text = text_of((await client.get(invoice_url, headers=internal_headers(shop_id))).content)
    assert "Без налога (НДС)" in text and "В том числе НДС" not in text
    assert "Оплата заказа № 77, без налога (НДС)" in text
    slip = text_of((await client.get(f"/payments/{payment_id}/pd4.pdf", headers=internal_headers(shop_id))).content)
    assert slip.count("без налога (НДС)") == 2 and "в т.ч. НДС" not in slip

    stored = await db["payment_configs"].find_one({"shop_id": shop_id, "currency": "RUB"})
    assert stored is not None and [entry["vat_rate"] for entry in stored["history"]] == ["10", None]


@pytest.mark.parametrize("bad", [-1, 100.5, "20.125", "twenty", "NaN", True])
async def test_a_bad_vat_rate_is_refused_with_422_naming_vat_rate(client: Client, shop_id: str, bad: object) -> None:
    response = await put_rub_settings(client, shop_id, vat_rate=bad)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert [e["field"] for e in response.json()["errors"]] == ["vat_rate"]
    missing = await client.get("/payment-settings/RUB", headers=internal_headers(shop_id))
    assert missing.status_code == 404  # nothing stored


async def test_the_customers_link_opens_the_documents_and_an_erasure_takes_the_buyer_off(
    client: Client, db: AsyncDatabase[Document], infra: Infra, topic_prefix: str, shop_id: str
) -> None:
    """By the order-status link's token alone (issued by the order service), the order's invoice and
    PD-4; a forged or foreign token finds nothing. After CustomerErased the buyer is gone for good."""
    payment_id = await bank_transfer_payment(db, infra, topic_prefix, shop_id, "1200.00")
    config = ShopPaymentConfig(shop_id=shop_id, currency="RUB", methods=("bank_transfer",), bank=BANK)
    await MongoPaymentConfigRepository(db).put(config, audit=AuditEntry(at=datetime.now(UTC), action="test"))
    payment = await db["payments"].find_one({"_id": payment_id})
    assert payment is not None
    order_id = payment["order_id"]
    now = datetime.now(UTC)
    codec = OrderLinkCodec(DEV_SECRET)
    token = codec.sign(OrderLinkClaims(shop_id, order_id, now, now + timedelta(days=1)))

    invoice = await client.get(f"/order-documents/{token}/invoice.pdf")  # no identity: the token
    assert invoice.status_code == 200 and invoice.headers["content-type"].startswith("application/pdf")
    assert "Иван Петров" in text_of(invoice.content) and "1 200,00" in text_of(invoice.content)
    slip = await client.get(f"/order-documents/{token}/pd4.pdf")
    assert slip.status_code == 200 and BANK.account in text_of(slip.content)
    foreign = codec.sign(OrderLinkClaims("another-shop", order_id, now, now + timedelta(days=1)))
    expired = codec.sign(OrderLinkClaims(shop_id, order_id, now - timedelta(days=2), now - timedelta(days=1)))
    for bad in (token[:-3] + "abc", foreign, expired):
        answer = await client.get(f"/order-documents/{bad}/invoice.pdf")
        assert answer.status_code == 404 and answer.headers["content-type"].startswith("application/problem+json")

    erased = Envelope.new(
        CustomerErased(customer_id="cus-1", order_ids=[order_id]), shop_id=shop_id, actor=Actor.system("order")
    )
    await produce_raw(infra.kafka_bootstrap, topic_prefix + ORDER_CUSTOMERS.name, erased.to_json(), key=b"cus-1")

    async def buyer_gone() -> Document | None:
        return await db["document_orders"].find_one({"_id": order_id, "erased": True})

    await eventually(buyer_gone, what="the buyer erased from the invoices' orders")
    again = await client.get(f"/payments/{payment_id}/invoice.pdf", headers=internal_headers(shop_id, role="manager"))
    assert again.status_code == 200 and "Иван Петров" not in text_of(again.content)
    assert "Баумана" not in text_of(again.content) and "1 200,00" in text_of(again.content)
