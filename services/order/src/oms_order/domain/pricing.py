"""Pricing an order from the SKU prices the order service projects from the catalog."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal

from oms_contracts import Money
from oms_contracts.messages.common import Address, OrderLine, SkuQuantity, Totals

MAX_LINES = 200

# Delivery fee per delivery type, as an amount in the order's own currency. A stand-in until
# fulfilment publishes delivery methods and rates per currency; pickup is always free.
DEFAULT_DELIVERY_FEES: Mapping[str, Decimal] = {
    "courier": Decimal("300"),
    "post": Decimal("250"),
    "pickup": Decimal("0"),
}


@dataclass(frozen=True)
class SkuPrice:
    sku: str
    name: str
    price: Money
    active: bool


@dataclass(frozen=True)
class FieldError:
    field: str
    message: str


class InvalidOrder(ValueError):
    """The order cannot be accepted as asked; `errors` names each field at fault."""

    def __init__(self, errors: Sequence[FieldError]) -> None:
        super().__init__("; ".join(f"{e.field}: {e.message}" for e in errors))
        self.errors = list(errors)


def price_lines(
    requested: Sequence[SkuQuantity], prices: Mapping[str, SkuPrice], unpriced: Mapping[str, str] | None = None
) -> list[OrderLine]:
    """Price each line; every SKU must be known and active, once per order, all in one currency.

    `unpriced`: SKUs without a price in the order's currency for the customer's group (sku -> why).
    """
    errors: list[FieldError] = []
    lines: list[OrderLine] = []
    seen: set[str] = set()
    currency: str | None = None
    for index, line in enumerate(requested):
        field = f"lines[{index}].sku"
        price = prices.get(line.sku)
        if line.sku in seen:
            errors.append(FieldError(field, f"SKU {line.sku} appears on more than one line"))
            continue
        seen.add(line.sku)
        if price is None:
            errors.append(FieldError(field, f"unknown SKU {line.sku}"))
            continue
        if not price.active:
            errors.append(FieldError(field, f"SKU {line.sku} is not on sale"))
            continue
        if unpriced and line.sku in unpriced:
            errors.append(FieldError(field, unpriced[line.sku]))
            continue
        if currency is None:
            currency = price.price.currency
        elif price.price.currency != currency:
            errors.append(
                FieldError(field, f"SKU {line.sku} is priced in {price.price.currency}, the order in {currency}")
            )
            continue
        lines.append(
            OrderLine(
                sku=line.sku,
                name=price.name,
                quantity=line.quantity,
                unit_price=price.price,
                total=price.price.times(line.quantity).rounded(),
            )
        )
    if errors:
        raise InvalidOrder(errors)
    return lines


def delivery_fee(delivery_type: str, currency: str, fees: Mapping[str, Decimal] = DEFAULT_DELIVERY_FEES) -> Money:
    return Money.of(fees.get(delivery_type, Decimal(0)), currency).rounded()


def totals_for(
    lines: Sequence[OrderLine], delivery_type: str, fees: Mapping[str, Decimal] = DEFAULT_DELIVERY_FEES
) -> Totals:
    currency = lines[0].total.currency
    subtotal = Money.zero(currency)
    for line in lines:
        subtotal = subtotal + line.total
    delivery = delivery_fee(delivery_type, currency, fees)
    return Totals(subtotal=subtotal.rounded(), delivery=delivery, grand_total=(subtotal + delivery).rounded())


def delivery_address(delivery_type: str, address: Address | None) -> Address | None:
    """The address to deliver to: required unless the customer picks the order up (then none is kept)."""
    if delivery_type == "pickup":
        return None
    if address is None:
        raise InvalidOrder([FieldError("address", f"required for {delivery_type} delivery")])
    return address
