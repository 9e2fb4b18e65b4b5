"""Returned goods: what passed inspection comes back on hand through the ledger as a `return` movement."""

from __future__ import annotations

from oms_catalog.domain.stock import InvalidQuantity, StockChange, StockLevel, StockMovement


def restock_return(level: StockLevel, quantity: int) -> StockChange:
    """Units of a return back on the shelf: on hand (and so available) grows; reservations are untouched."""
    if quantity <= 0:
        raise InvalidQuantity("a restocked return brings a positive quantity")
    return StockChange(StockMovement.RETURN, on_hand=quantity)


def return_ref(return_id: str) -> str:
    """The ledger's `ref` of a return: with kind, SKU and warehouse it is the ledger entry's natural key."""
    return f"return:{return_id}"
