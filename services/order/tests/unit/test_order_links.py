"""The customer's order-status link over fakes: a signed token that opens one order of one shop, expires,
and lets the customer cancel only before picking."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from oms_contracts import Actor, Money
from oms_contracts.messages.common import Customer, SkuQuantity
from oms_order.adapters.inbound.order_links_http import status_page
from oms_order.adapters.outbound.order_link_jwt import JwtOrderLinks
from oms_order.application.errors import OrderNotFound
from oms_order.application.link_issuer import LinkIssuer
from oms_order.application.order_links import OrderLinks
from oms_order.application.orders import PlaceOrder
from oms_order.application.ports import LinkInvalid
from oms_order.domain import order as domain
from oms_order.domain.order import Acting, CannotCancel
from oms_order.domain.pricing import SkuPrice
from oms_runtime.clock import FixedClock

from .fakes import FakePrices, Wired, wire

SHOP = "shop-1"
SECRET = "a-test-secret-of-at-least-32-bytes!!"
NOW = datetime(2026, 3, 1, 12, tzinfo=UTC)


def links_over(wired: Wired, clock: FixedClock, secret: str = SECRET) -> OrderLinks:
    signer = JwtOrderLinks(secret)
    issuer = LinkIssuer(signer, clock, lifetime=timedelta(days=30), base_url="https://shop.example/")
    return OrderLinks(wired.service, issuer, signer, clock)


async def placed(wired: Wired) -> str:
    body = PlaceOrder(
        customer=Customer(name="Ann", email="ann@example.com"),
        lines=[SkuQuantity(sku="TEA-1", quantity=1)],
        delivery_type="pickup",
        payment_method="card",
    )
    result = await wired.service.place(
        SHOP, body, idempotency_key=None, actor=Actor(kind="storefront", id="web"), channel="web"
    )
    return result.stored.order.id


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(NOW)


@pytest.fixture
def wired(clock: FixedClock) -> Wired:
    return wire(clock, prices=FakePrices({"TEA-1": SkuPrice("TEA-1", "Tea", Money.of("2.50", "EUR"), True)}))


async def test_a_link_opens_its_order_until_it_expires(wired: Wired, clock: FixedClock) -> None:
    order_id = await placed(wired)
    links = links_over(wired, clock)
    link = await links.issue(SHOP, order_id)
    assert link.url == f"https://shop.example/api/v1/order-status/{link.token}"
    assert (await links.open(link.token)).order.id == order_id
    clock.advance(timedelta(days=30))
    with pytest.raises(LinkInvalid, match="expired"):
        await links.open(link.token)


async def test_a_forged_or_foreign_token_opens_nothing(wired: Wired, clock: FixedClock) -> None:
    order_id = await placed(wired)
    token = (await links_over(wired, clock, "another-secret-of-at-least-32-bytes!").issue(SHOP, order_id)).token
    with pytest.raises(LinkInvalid):
        await links_over(wired, clock).open(token)
    with pytest.raises(LinkInvalid):
        await links_over(wired, clock).open(token[:-2] + "xx")
    with pytest.raises(OrderNotFound):
        await links_over(wired, clock).issue("another-shop", order_id)


async def test_the_customer_cancels_before_picking_only(wired: Wired, clock: FixedClock) -> None:
    links = links_over(wired, clock)
    order_id = await placed(wired)
    link = await links.issue(SHOP, order_id)
    cancelled = await links.cancel(link.token, "changed my mind")
    assert cancelled.order.stage == "cancelled" and cancelled.order.audit[-1].actor.kind == "customer"
    with pytest.raises(CannotCancel):
        await links.cancel(link.token, "again")


async def test_the_order_placed_event_carries_the_customers_link(wired: Wired) -> None:
    order_id = await placed(wired)
    [placed_event] = [e for e in wired.orders.events if e.type == "OrderPlaced"]
    assert placed_event.payload.status_url == f"https://shop.example/api/v1/order-status/{SHOP}.{order_id}"


async def test_pay_now_is_offered_from_the_payment_request_until_paid(wired: Wired, clock: FixedClock) -> None:
    """The link appears as soon as the request does, before the payment service reports the money."""
    order_id = await placed(wired)
    stored = await wired.service.get(SHOP, order_id)
    acting = Acting(at=NOW, actor=Actor.system("test"), channel="kafka")
    requested = domain.payment_requested(stored.order, "p1", "https://pay.example/p1", acting).order
    assert requested.payment.status == "awaiting"
    page = status_page(replace(stored, order=requested), "https://shop.example/s")
    assert page.pay_now_url == "https://pay.example/p1"
    paid = requested.model_copy(deep=True)
    paid.payment.status = "paid"
    assert status_page(replace(stored, order=paid), "https://shop.example/s").pay_now_url is None
