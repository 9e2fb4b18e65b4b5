"""Delivery methods of a shop, one per code and currency, with the price rule the order service charges."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from decimal import Decimal
from typing import Any

from oms_contracts import Actor, Money
from oms_runtime.errors import FieldError

from oms_fulfilment.domain.shipment import DomainError

DELIVERY_TYPES = ("pickup", "courier", "post", "carrier")


class InvalidDeliveryMethod(DomainError, FieldError):
    """A delivery method the rules refuse, naming the field at fault."""

    def __init__(self, field: str, message: str) -> None:
        FieldError.__init__(self, field, message)


@dataclass(frozen=True)
class DeliveryMethod:
    delivery_method_id: str
    shop_id: str
    code: str
    delivery_type: str
    name: str
    currency: str
    price: Money
    free_from: Money | None
    carrier: str | None
    active: bool
    created_at: datetime
    updated_at: datetime
    updated_by: Actor
    version: int = 0

    @classmethod
    def create(cls, **fields: Any) -> DeliveryMethod:
        method = cls(**fields)
        method.check()
        return method

    def change(self, *, at: datetime, actor: Actor, **changes: Any) -> DeliveryMethod:
        changed = replace(self, **changes, updated_at=at, updated_by=actor)
        changed.check()
        return changed

    def check(self) -> None:
        if self.delivery_type not in DELIVERY_TYPES:
            raise InvalidDeliveryMethod("delivery_type", f"must be one of {', '.join(DELIVERY_TYPES)}")
        if self.price is None:
            raise InvalidDeliveryMethod("price", "a method needs a price (0 for free)")
        for name, money in (("price", self.price), ("free_from", self.free_from)):
            if money is None:
                continue
            if money.currency != self.currency:
                raise InvalidDeliveryMethod(f"{name}.currency", f"must be {self.currency}, the method's currency")
            if money.amount < 0:
                raise InvalidDeliveryMethod(f"{name}.amount", "must not be negative")
            if money.rounded().amount != money.amount:
                raise InvalidDeliveryMethod(f"{name}.amount", f"has more decimals than {self.currency} allows")
        if self.delivery_type == "carrier" and not self.carrier:
            raise InvalidDeliveryMethod("carrier", "required for delivery by a carrier")

    def price_for(self, goods_total: Money) -> Money:
        """What delivery costs for an order of this goods total (the rule the order service applies)."""
        if goods_total.currency != self.currency:
            raise InvalidDeliveryMethod("currency", f"goods total in {goods_total.currency}, method in {self.currency}")
        if self.free_from is not None and goods_total.amount >= self.free_from.amount:
            return Money(amount=Decimal(0), currency=self.currency).rounded()
        return self.price.rounded()
