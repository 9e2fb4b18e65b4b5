"""The life of one order's reservation: pending → reserved | rejected, then released."""

from __future__ import annotations

import re
from enum import StrEnum

# Order ids become field names in the stock documents' `reservations` map: no dots, no `$`.
ORDER_ID_PATTERN = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


class ReservationStatus(StrEnum):
    PENDING = "pending"
    RESERVED = "reserved"
    REJECTED = "rejected"
    RELEASED = "released"

    @property
    def settled(self) -> bool:
        """A reserve command has nothing left to do."""
        return self is not ReservationStatus.PENDING


class InvalidOrderId(ValueError):
    pass


def check_order_id(order_id: str) -> str:
    if not ORDER_ID_PATTERN.match(order_id):
        raise InvalidOrderId(f"order id {order_id!r} must be 1-64 letters, digits, _ or -")
    return order_id


def ledger_ref(order_id: str, attempt: int) -> str:
    """Ledger reference of one reservation attempt: a retried plan reserves (and releases) again."""
    return f"{order_id}#{attempt}"
