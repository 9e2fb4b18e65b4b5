"""Orders as the domain tests need them: placed in a given pipeline, and paid in full."""

from __future__ import annotations

from oms_contracts import Money
from oms_contracts.messages.common import Address, Customer, SkuQuantity
from oms_order.domain import edits
from oms_order.domain import order as domain
from oms_order.domain.order import Acting, Decision, Order
from oms_order.domain.pipeline import Pipeline
from oms_order.domain.pricing import SkuPrice, price_lines, totals_for

PRICES = {"TEA-1": SkuPrice("TEA-1", "Green tea", Money.of("2.50", "EUR"), True)}


def placed_order(pipeline: Pipeline, delivery_type: str, payment_method: str, acting: Acting) -> Order:
    """Two teas, to Berlin unless picked up."""
    lines = price_lines([SkuQuantity(sku="TEA-1", quantity=2)], PRICES)
    return domain.place_order(
        order_id="o-1",
        shop_id="shop-1",
        number=1,
        pipeline=pipeline,
        customer=Customer(name="Ann", email="ann@example.com"),
        address=None if delivery_type == "pickup" else Address(country="DE", city="Berlin", line1="Main 1"),
        delivery_type=delivery_type,  # type: ignore[arg-type]
        payment_method=payment_method,  # type: ignore[arg-type]
        lines=lines,
        totals=totals_for(lines, delivery_type),
        notes=None,
        acting=acting,
    ).order


def paid_in_full(order: Order, acting: Acting) -> Decision:
    """What PaymentStatusChanged(paid) does to the order: the only way an order becomes paid."""
    total = order.totals.grand_total
    return edits.payment_status_changed(
        order,
        status="paid",
        paid=total,
        refunded=Money.zero(total.currency),
        due=Money.zero(total.currency),
        prepayment_met=True,
        acting=acting,
    )
