"""StockReleased(reason="expired") cancels an order still before picking, without a second ReleaseStock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from oms_contracts import Actor, Money
from oms_contracts.messages.catalog import ReleaseStock
from oms_contracts.messages.common import Address, Customer, SkuQuantity, WarehouseAllocation
from oms_contracts.messages.order import OrderStageChanged
from oms_order.domain import order as domain
from oms_order.domain.order import Acting, Decision
from oms_order.domain.pipeline import DEFAULT_PIPELINE
from oms_order.domain.pricing import SkuPrice, price_lines, totals_for

T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
PRICES = {"TEA-1": SkuPrice("TEA-1", "Green tea", Money.of("2.50", "EUR"), True)}
TWO_WAREHOUSES = [WarehouseAllocation(warehouse_id="w1", lines=[SkuQuantity(sku="TEA-1", quantity=2)])]


def at(minutes: float) -> Acting:
    return Acting(at=T0 + timedelta(minutes=minutes), actor=Actor.system("catalog"), channel="kafka")


def place(payment_method: str = "card") -> Decision:
    lines = price_lines([SkuQuantity(sku="TEA-1", quantity=2)], PRICES)
    return domain.place_order(
        order_id="o-1",
        shop_id="shop-1",
        number=7,
        pipeline=DEFAULT_PIPELINE,
        customer=Customer(name="Ann", email="ann@example.com"),
        address=Address(country="DE", city="Berlin", line1="Main 1"),
        delivery_type="courier",
        payment_method=payment_method,  # type: ignore[arg-type]
        lines=lines,
        totals=totals_for(lines, "courier"),
        notes=None,
        acting=Acting(at=T0, actor=Actor(kind="storefront", id="web"), channel="web"),
    )


def test_an_unpaid_order_awaiting_payment_is_cancelled_without_releasing_again() -> None:
    order = place(payment_method="card").order
    order = domain.stock_reserved(order, TWO_WAREHOUSES, at(1)).order
    assert order.stage == "awaiting_payment"
    decision = domain.reservation_expired(order, at(61))
    assert decision.changed
    assert decision.order.stage == "cancelled"
    assert decision.order.cancel_reason == "reservation expired"
    assert not any(isinstance(p, ReleaseStock) for p in decision.emit)
    changed = [p for p in decision.emit if isinstance(p, OrderStageChanged)]
    assert [(c.from_stage, c.to_stage) for c in changed] == [("awaiting_payment", "cancelled")]
    assert decision.order.audit[-1].action == "cancelled"


def test_an_order_in_its_first_stage_is_cancelled_too() -> None:
    order = place().order
    decision = domain.reservation_expired(order, at(61))
    assert decision.order.stage == "cancelled"


def test_from_picking_on_and_in_final_stages_it_is_ignored() -> None:
    cash = place(payment_method="cash_on_delivery").order
    picking = domain.stock_reserved(cash, TWO_WAREHOUSES, at(1)).order
    assert picking.stage == "picking"
    assert not domain.reservation_expired(picking, at(61)).changed

    card = domain.stock_reserved(place().order, TWO_WAREHOUSES, at(1)).order
    cancelled = domain.cancel(card, "customer asked", at(2)).order
    ignored = domain.reservation_expired(cancelled, at(61))
    assert not ignored.changed and ignored.order.cancel_reason == "customer asked"
