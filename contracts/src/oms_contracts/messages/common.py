"""Value objects that several messages share."""

from __future__ import annotations

from functools import lru_cache
from typing import Annotated, Literal

from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints
from pydantic.networks import validate_email

from oms_contracts.money import Money

SKU_PATTERN = r"^[A-Za-z0-9._\-/]+$"
SKU_MAX_LENGTH = 64
Sku = Annotated[str, StringConstraints(min_length=1, max_length=SKU_MAX_LENGTH, pattern=SKU_PATTERN)]
Locale = Literal["en", "ru"]
PaymentMethod = Literal["cash_on_delivery", "card", "bank_transfer", "gift_card"]
DeliveryType = Literal["courier", "post", "pickup", "carrier"]
PaymentStatus = Literal["unpaid", "partly_paid", "paid", "partly_refunded", "refunded"]
"""An order's payment status, derived by the payment service from its payments and refunds."""


@lru_cache(maxsize=4096)
def _checked_email(value: str) -> str:
    # pydantic's EmailStr check (email-validator, no DNS), remembered per address: one order's
    # address is checked again by every model that carries it, in every service that decodes it,
    # at ~20 µs a time. Only valid addresses are kept (a refusal raises, and is not cached).
    return validate_email(value)[1]


Email = Annotated[str, AfterValidator(_checked_email), Field(json_schema_extra={"format": "email"})]
"""An e-mail address, normalised and checked as pydantic's `EmailStr`."""


class Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Customer(Frozen):
    name: str = Field(min_length=1, max_length=200)
    email: Email
    phone: str | None = Field(default=None, max_length=32)
    locale: Locale = "en"
    group: str = Field(
        default="retail", min_length=1, max_length=40, description="Customer group for price lists: retail, dealer, …"
    )


class Address(Frozen):
    country: str = Field(min_length=2, max_length=2, description="ISO 3166-1 alpha-2")
    region: str | None = Field(default=None, max_length=100)
    city: str = Field(min_length=1, max_length=100)
    line1: str = Field(min_length=1, max_length=200)
    postcode: str | None = Field(default=None, max_length=20)


class OrderLine(Frozen):
    sku: Sku
    name: str
    quantity: int = Field(gt=0)
    unit_price: Money
    total: Money


class Totals(Frozen):
    subtotal: Money
    delivery: Money
    grand_total: Money
    discount: Money | None = Field(
        default=None, description="Line and order discounts together; grand_total = subtotal - discount + delivery"
    )


class SkuQuantity(Frozen):
    sku: Sku
    quantity: int = Field(gt=0)


class WarehouseAllocation(Frozen):
    """The part of an order that one warehouse ships."""

    warehouse_id: str
    lines: list[SkuQuantity] = Field(min_length=1)


class DeliveryWishes(Frozen):
    """What the customer asked for about delivery: a preferred time window and a free-text wish."""

    preferred_from: AwareDatetime | None = None
    preferred_to: AwareDatetime | None = None
    comment: str | None = Field(default=None, max_length=1000)
