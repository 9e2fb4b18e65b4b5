"""A shop's payment setup for one currency: methods, card provider, prepayment, bank requisites, reminders."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from oms_payment.domain.account import PrepaymentRule

METHODS = ("cash_on_delivery", "card", "bank_transfer", "gift_card")
CardProviderName = Literal["sandbox", "stripe"]


class ConfigInvalid(Exception):
    def __init__(self, field_name: str, message: str) -> None:
        super().__init__(message)
        self.field = field_name


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

    def __post_init__(self) -> None:
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
