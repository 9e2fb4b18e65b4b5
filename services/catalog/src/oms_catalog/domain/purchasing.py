"""Suppliers and purchase orders (pure): draft → sent → partly_received → received.

A receipt names the purchase order's lines it brings; it is recorded first as pending (so two
receipts racing can never together exceed what was ordered: pending quantities count), then the
stock comes in through the ledger, then the receipt is completed. Receiving more than ordered
(what was received plus what is pending included) is refused, naming the receipt's line.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from decimal import Decimal
from enum import StrEnum

from oms_contracts import Money
from oms_runtime.errors import FieldError

ID_PATTERN = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


class PurchaseOrderStatus(StrEnum):
    DRAFT = "draft"
    SENT = "sent"
    PARTLY_RECEIVED = "partly_received"
    RECEIVED = "received"


class PurchasingError(FieldError):
    """A rule of purchasing is broken; `field` names the request field."""

    def __init__(self, message: str, field: str) -> None:
        super().__init__(field, message)


class WrongStatus(ValueError):
    """The purchase order's status does not allow this (the state is wrong, not a field)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class Supplier:
    id: str
    name: str
    email: str | None = None

    def __post_init__(self) -> None:
        if not ID_PATTERN.match(self.id):
            raise PurchasingError("1-64 characters of letters, digits, _ and -", "id")
        if not self.name.strip():
            raise PurchasingError("must not be empty", "name")


@dataclass(frozen=True)
class PoLine:
    sku: str
    quantity: int
    unit_cost: Money
    received: int = 0


@dataclass(frozen=True)
class Receipt:
    receipt_id: str
    lines: tuple[tuple[str, int], ...]
    """(sku, quantity), one per SKU."""


@dataclass(frozen=True)
class PurchaseOrder:
    id: str
    supplier_id: str
    warehouse_id: str
    lines: tuple[PoLine, ...]
    status: PurchaseOrderStatus = PurchaseOrderStatus.DRAFT
    receipts: tuple[str, ...] = ()
    """Completed receipt ids."""
    pending: tuple[Receipt, ...] = ()

    # --- building ----------------------------------------------------------------------------

    @staticmethod
    def draft(id: str, supplier_id: str, warehouse_id: str, lines: Sequence[PoLine]) -> PurchaseOrder:
        if not lines:
            raise PurchasingError("a purchase order has at least one line", "lines")
        seen: set[str] = set()
        currency = lines[0].unit_cost.currency
        for i, line in enumerate(lines):
            if line.sku in seen:
                raise PurchasingError(f"{line.sku} is listed twice", f"lines[{i}].sku")
            seen.add(line.sku)
            if line.quantity <= 0:
                raise PurchasingError("must be positive", f"lines[{i}].quantity")
            if line.unit_cost.amount < Decimal(0):
                raise PurchasingError("must not be negative", f"lines[{i}].unit_cost.amount")
            if line.unit_cost.currency != currency:
                raise PurchasingError(f"every line is in {currency}", f"lines[{i}].unit_cost.currency")
        return PurchaseOrder(id, supplier_id, warehouse_id, tuple(lines))

    @property
    def total(self) -> Money:
        currency = self.lines[0].unit_cost.currency
        amount = sum((ln.unit_cost.amount * ln.quantity for ln in self.lines), Decimal(0))
        return Money(amount=amount, currency=currency)

    # --- transitions ---------------------------------------------------------------------------

    def send(self) -> PurchaseOrder:
        if self.status is not PurchaseOrderStatus.DRAFT:
            raise WrongStatus(f"only a draft can be sent; this one is {self.status}")
        return replace(self, status=PurchaseOrderStatus.SENT)

    def has_receipt(self, receipt_id: str) -> bool:
        return receipt_id in self.receipts

    def pending_receipt(self, receipt_id: str) -> Receipt | None:
        return next((r for r in self.pending if r.receipt_id == receipt_id), None)

    def begin_receipt(self, receipt_id: str, lines: Sequence[tuple[str, int]]) -> PurchaseOrder:
        """Record a receipt as pending; refuses over-receipt and SKUs not on the order."""
        if self.status not in (PurchaseOrderStatus.SENT, PurchaseOrderStatus.PARTLY_RECEIVED):
            raise WrongStatus(f"goods are received on a sent purchase order; this one is {self.status}")
        if self.has_receipt(receipt_id) or self.pending_receipt(receipt_id):
            raise PurchasingError(f"receipt {receipt_id} is recorded already", "receipt_id")
        if not lines:
            raise PurchasingError("a receipt brings at least one line", "lines")
        by_sku = {ln.sku: ln for ln in self.lines}
        pending = self._pending_by_sku()
        merged: dict[str, int] = {}
        for i, (sku, quantity) in enumerate(lines):
            if sku not in by_sku:
                raise PurchasingError(f"{sku} is not on this purchase order", f"lines[{i}].sku")
            if quantity <= 0:
                raise PurchasingError("must be positive", f"lines[{i}].quantity")
            merged[sku] = merged.get(sku, 0) + quantity
            line = by_sku[sku]
            open_quantity = line.quantity - line.received - pending.get(sku, 0)
            if merged[sku] > open_quantity:
                raise PurchasingError(
                    f"over-receipt of {sku}: ordered {line.quantity}, received {line.received}, "
                    f"in other receipts {pending.get(sku, 0)}, so at most {max(open_quantity, 0)} more",
                    f"lines[{i}].quantity",
                )
        receipt = Receipt(receipt_id, tuple(merged.items()))
        return replace(self, pending=(*self.pending, receipt))

    def complete_receipt(self, receipt_id: str) -> PurchaseOrder:
        receipt = self.pending_receipt(receipt_id)
        if receipt is None:
            raise PurchasingError(f"receipt {receipt_id} is not pending", "receipt_id")
        got = dict(receipt.lines)
        lines = tuple(replace(ln, received=ln.received + got.get(ln.sku, 0)) for ln in self.lines)
        done = all(ln.received >= ln.quantity for ln in lines)
        return replace(
            self,
            lines=lines,
            status=PurchaseOrderStatus.RECEIVED if done else PurchaseOrderStatus.PARTLY_RECEIVED,
            receipts=(*self.receipts, receipt_id),
            pending=tuple(r for r in self.pending if r.receipt_id != receipt_id),
        )

    def _pending_by_sku(self) -> dict[str, int]:
        totals: dict[str, int] = {}
        for receipt in self.pending:
            for sku, quantity in receipt.lines:
                totals[sku] = totals.get(sku, 0) + quantity
        return totals
