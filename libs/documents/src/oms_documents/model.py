"""The typed data each document is drawn from. Plain frozen dataclasses: services fill them, nothing else."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from oms_contracts.money import Money, round_amount


@dataclass(frozen=True)
class BankRequisites:
    """A Russian bank account as printed on invoices and the PD-4 slip."""

    recipient: str
    inn: str
    kpp: str | None
    account: str
    bank_name: str
    bic: str
    correspondent_account: str


@dataclass(frozen=True)
class Party:
    name: str
    address: str | None = None
    phone: str | None = None
    email: str | None = None
    inn: str | None = None
    kpp: str | None = None


@dataclass(frozen=True)
class PricedLine:
    name: str
    quantity: int
    unit_price: Money
    sku: str | None = None

    @property
    def total(self) -> Money:
        return self.unit_price.times(self.quantity).rounded()


@dataclass(frozen=True)
class Invoice:
    """An invoice for payment by bank transfer (счёт на оплату)."""

    number: str
    issued_on: date
    seller: Party
    bank: BankRequisites
    buyer: Party
    lines: tuple[PricedLine, ...]
    currency: str
    delivery: Money | None = None
    vat_rate: Decimal | None = None
    """VAT percent included in the prices (20 for 20%); None: "without VAT"."""
    total_in_words: str | None = None
    purpose: str | None = None
    due_on: date | None = None

    @property
    def goods_total(self) -> Money:
        total = Money.zero(self.currency)
        for line in self.lines:
            total = total + line.total
        return total

    @property
    def total(self) -> Money:
        return (self.goods_total + self.delivery if self.delivery is not None else self.goods_total).rounded()

    @property
    def vat(self) -> Money | None:
        """VAT contained in the total: total * rate / (100 + rate), rounded to the currency."""
        if self.vat_rate is None:
            return None
        vat = round_amount(self.total.amount * self.vat_rate / (100 + self.vat_rate), self.currency)
        return Money(amount=vat, currency=self.currency)


@dataclass(frozen=True)
class Pd4:
    """The bank payment slip a customer takes to a Russian bank (form ПД-4)."""

    bank: BankRequisites
    payer_name: str
    payer_address: str | None
    purpose: str
    amount: Money


@dataclass(frozen=True)
class ItemLine:
    sku: str
    name: str
    quantity: int
    unit_price: Money | None = None


@dataclass(frozen=True)
class Waybill:
    """Waybill / delivery note (накладная) travelling with a shipment."""

    number: str
    issued_on: date
    order_number: int
    sender: Party
    recipient: Party
    lines: tuple[ItemLine, ...]
    carrier: str | None = None
    tracking_number: str | None = None
    warehouse: str | None = None
    parcels: int = 1
    currency: str | None = None

    @property
    def total(self) -> Money | None:
        if self.currency is None or any(line.unit_price is None for line in self.lines):
            return None
        total = Money.zero(self.currency)
        for line in self.lines:
            assert line.unit_price is not None
            total = total + line.unit_price.times(line.quantity)
        return total.rounded()


@dataclass(frozen=True)
class PackingSlip:
    """What the packer puts in the parcel, and the customer checks against."""

    order_number: int
    shipment_id: str
    warehouse: str
    recipient: Party
    lines: tuple[ItemLine, ...]
    notes: str | None = None
    shipment_index: str | None = None
    """e.g. "1/2" when the order is split into two parcels."""


@dataclass(frozen=True)
class ShippingLabel:
    tracking_number: str
    carrier: str
    sender: Party
    recipient: Party
    order_number: int
    parcel: str = "1/1"
    extra: tuple[str, ...] = field(default=())
