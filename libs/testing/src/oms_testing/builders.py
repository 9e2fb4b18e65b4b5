"""Contract messages with everything a test does not care about filled in, the rest named.

placed = order_placed(number=7)                                            # one green tea, pickup, cash
placed = order_placed(quantity=2, unit_price="600", delivery="300",        # a courier order paid by card
                      delivery_type="courier", payment_method="card", locale="ru")
"""

from __future__ import annotations

from decimal import Decimal

from oms_contracts import Money, new_id
from oms_contracts.messages.common import Customer, DeliveryType, Locale, PaymentMethod
from oms_contracts.messages.order import OrderLine, OrderPlaced, Totals


def order_placed(
    *,
    number: int = 1,
    name: str = "Ann Lee",
    email: str = "ann@example.com",
    locale: Locale = "en",
    quantity: int = 1,
    unit_price: str = "100",
    delivery: str = "0",
    delivery_type: DeliveryType = "pickup",
    payment_method: PaymentMethod = "cash_on_delivery",
    currency: str = "RUB",
) -> OrderPlaced:
    """A new web order of `quantity` green tea (TEA-1) at `unit_price`, totals that add up, a new order id."""
    unit = Money.of(unit_price, currency)
    subtotal = Money.of(Decimal(unit_price) * quantity, currency)
    shipping = Money.of(delivery, currency)
    return OrderPlaced(
        order_id=new_id(),
        number=number,
        channel="web",
        customer=Customer(name=name, email=email, locale=locale),
        address=None,
        lines=[OrderLine(sku="TEA-1", name="Green tea", quantity=quantity, unit_price=unit, total=subtotal)],
        totals=Totals(
            subtotal=subtotal, delivery=shipping, grand_total=Money.of(subtotal.amount + shipping.amount, currency)
        ),
        delivery_type=delivery_type,
        payment_method=payment_method,
        stage="new",
        status="New",
    )
