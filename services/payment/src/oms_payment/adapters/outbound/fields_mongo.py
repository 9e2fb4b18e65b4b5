"""How shared fields are stored: money as `{"amount": "<decimal string>", "currency"}` (never a float),
and a line of an aggregate's `history`; and how concurrent look-ups share one read."""

from __future__ import annotations

from decimal import Decimal

from oms_contracts import Money
from oms_runtime.mongo import Document

from oms_payment.application.ports import AuditEntry


def money_doc(money: Money) -> Document:
    return money.model_dump(mode="json")


def optional_money_doc(money: Money | None) -> Document | None:
    return money.model_dump(mode="json") if money is not None else None


def money_of(doc: Document) -> Money:
    return Money(amount=Decimal(doc["amount"]), currency=doc["currency"])


def optional_money_of(doc: Document | None) -> Money | None:
    return money_of(doc) if doc else None


def audit_doc(entry: AuditEntry) -> Document:
    """One line of `history`, as stored since the first version (`actor` only when there is one)."""
    doc: Document = {"at": entry.at, "action": entry.action}
    if entry.actor is not None:
        doc["actor"] = entry.actor.model_dump(mode="json")
    return {**doc, **entry.details}
