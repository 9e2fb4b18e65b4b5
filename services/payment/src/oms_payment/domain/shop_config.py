"""A shop's payment setup for one currency: methods, card provider, prepayment, bank requisites, reminders."""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal
from typing import Literal

from oms_contracts import Money
from oms_contracts.money import round_amount
from oms_runtime.errors import FieldError

from oms_payment.domain.account import PrepaymentRule

METHODS = ("cash_on_delivery", "card", "bank_transfer", "gift_card")
CardProviderName = Literal["sandbox", "stripe"]


class ConfigInvalid(FieldError):
    """A payment setup the rules refuse; `field` names the part of the request at fault."""


@dataclass(frozen=True)
class BankRequisites:
    """What a bank-transfer invoice and the PD-4 slip print: the shop's account in a Russian bank."""

    recipient: str
    inn: str
    kpp: str
    account: str
    bank: str
    bic: str
    correspondent_account: str

    def __post_init__(self) -> None:
        checks = {
            "inn": r"^(\d{10}|\d{12})$",
            "kpp": r"^\d{9}$",
            "account": r"^\d{20}$",
            "bic": r"^\d{9}$",
            "correspondent_account": r"^\d{20}$",
        }
        for name, pattern in checks.items():
            if not re.match(pattern, getattr(self, name)):
                raise ConfigInvalid(f"bank.{name}", f"{name} has the wrong format")
        for name in ("recipient", "bank"):
            if not getattr(self, name).strip():
                raise ConfigInvalid(f"bank.{name}", f"{name} is required")


@dataclass(frozen=True)
class ShopPaymentConfig:
    shop_id: str
    currency: str
    methods: tuple[str, ...]
    card_provider: CardProviderName = "sandbox"
    prepayment: PrepaymentRule | None = None
    # The online method that takes a prepayment when the customer chose cash on delivery.
    prepayment_method: str = "card"
    bank: BankRequisites | None = None
    reminder_cadence_hours: tuple[float, ...] = (1, 24, 72)
    # VAT included in the prices, in percent (20 for 20 %): the general tax system. None: the shop
    # sells without VAT (the simplified system), its invoice says it is without VAT.
    vat_rate: Decimal | None = None

    def __post_init__(self) -> None:
        if not (len(self.currency) == 3 and self.currency.isalpha() and self.currency.isupper()):
            raise ConfigInvalid("currency", "an ISO 4217 code such as RUB")
        if self.vat_rate is not None:
            object.__setattr__(self, "vat_rate", checked_vat_rate(self.vat_rate))
        if not self.methods:
            raise ConfigInvalid("methods", "at least one payment method")
        for i, m in enumerate(self.methods):
            if m not in METHODS:
                raise ConfigInvalid(f"methods[{i}]", f"unknown method {m}")
        if "bank_transfer" in self.methods and self.bank is None:
            raise ConfigInvalid("bank", "bank transfer needs the shop's bank requisites")
        if self.prepayment is not None:
            if "cash_on_delivery" not in self.methods:
                raise ConfigInvalid("prepayment", "a prepayment rule splits cash on delivery, which is not enabled")
            if self.prepayment_method not in ("card", "bank_transfer") or self.prepayment_method not in self.methods:
                raise ConfigInvalid("prepayment_method", "the prepayment is taken by an enabled online method")
        cadence = self.reminder_cadence_hours
        if any(h <= 0 for h in cadence) or list(cadence) != sorted(cadence) or len(cadence) > 10:
            raise ConfigInvalid("reminder_cadence_hours", "positive, ascending, at most 10 steps")

    def accepts(self, method: str) -> bool:
        return method in self.methods

    def vat_in(self, amount: Money) -> Money | None:
        """The VAT contained in `amount` at this currency's rate; None when the shop sells without VAT."""
        return vat_included(amount, self.vat_rate) if self.vat_rate is not None else None


def checked_vat_rate(rate: Decimal) -> Decimal:
    """A percent from 0 to 100 with at most 2 decimals, in its plain form (Decimal("20.00") -> Decimal("20"))."""
    if not isinstance(rate, Decimal) or not rate.is_finite():
        raise ConfigInvalid("vat_rate", "a number of percent, e.g. 20")
    if not Decimal(0) <= rate <= Decimal(100):
        raise ConfigInvalid("vat_rate", "from 0 to 100 percent")
    if rate != rate.quantize(Decimal("0.01")):
        raise ConfigInvalid("vat_rate", "at most 2 decimals")
    return Decimal(format(rate.normalize(), "f"))


def vat_included(amount: Money, rate: Decimal) -> Money:
    """VAT contained in a price that includes it: amount * rate / (100 + rate), rounded to the currency
    (the same rule as oms_documents.Invoice.vat, so the slip and the invoice agree)."""
    vat = round_amount(amount.amount * rate / (100 + rate), amount.currency)
    return Money(amount=vat, currency=amount.currency)
