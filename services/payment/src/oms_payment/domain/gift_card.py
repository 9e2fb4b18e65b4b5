"""A gift card: a balance in one currency and every movement of it, each applied once. Plain Python, no I/O.

The balance is changed only by a movement with a key (`issue:<code>`, `redeem:<order>:<reference>`,
`refund:<request>`): the store applies a movement at most once and never takes the balance below
zero, in one conditional update, so concurrent redemptions cannot overspend a card.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from oms_contracts import Money
from oms_contracts.money import round_amount
from oms_runtime.errors import FieldError

MovementKind = Literal["issue", "redeem", "refund"]


class InvalidGiftCardAmount(FieldError):
    def __init__(self, message: str) -> None:
        super().__init__("amount.amount", message)


@dataclass(frozen=True)
class GiftCardMovement:
    """Money onto (positive) or off (negative) a card, applied once per `key`."""

    key: str
    kind: MovementKind
    amount: Money
    at: datetime
    actor: str | None = None
    order_id: str | None = None


@dataclass(frozen=True)
class GiftCard:
    code: str
    shop_id: str
    balance: Money
    created_at: datetime
    movements: tuple[GiftCardMovement, ...] = ()

    @property
    def currency(self) -> str:
        return self.balance.currency

    def movement(self, key: str) -> GiftCardMovement | None:
        return next((m for m in self.movements if m.key == key), None)

    @classmethod
    def issue(cls, *, shop_id: str, code: str, amount: Money, at: datetime, actor: str | None = None) -> GiftCard:
        """A new card holding `amount`; refuses a non-positive amount or one finer than the currency's units."""
        if amount.amount <= 0:
            raise InvalidGiftCardAmount("a gift card needs a positive amount")
        if round_amount(amount.amount, amount.currency) != amount.amount:
            raise InvalidGiftCardAmount(f"more decimals than {amount.currency} has")
        first = GiftCardMovement(key=f"issue:{code}", kind="issue", amount=amount, at=at, actor=actor)
        return cls(code=code, shop_id=shop_id, balance=amount, created_at=at, movements=(first,))

    def redeemable(self, wanted: Money) -> Money | None:
        """How much of `wanted` this card can pay: its whole balance at most; None in another
        currency or when empty."""
        if self.currency != wanted.currency:
            return None
        take = min(self.balance.amount, wanted.amount)
        return Money(amount=take, currency=self.currency) if take > 0 else None


def gift_card_code_for(shop_id: str, key: str) -> str:
    """A card made for a request (a refund, an Idempotency-Key) gets a code derived from it: a retry
    finds the same card."""
    digest = hashlib.sha256(f"{shop_id}:{key}".encode()).hexdigest()[:16].upper()
    return f"GC-{digest}"
