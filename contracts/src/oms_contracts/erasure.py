"""What a customer's personal data becomes when it is erased (`CustomerErased`): one rule for every
service that keeps a copy, so an erased order reads the same everywhere."""

from __future__ import annotations

from oms_contracts.messages.common import Address, Customer

ERASED = "[erased]"
ERASED_DOMAIN = "erased.example"


def erased_email(order_id: str) -> str:
    """A syntactically valid address that reaches nobody (the `.example` domain is reserved)."""
    return f"erased-{order_id}@{ERASED_DOMAIN}"


def erased_customer(customer: Customer, order_id: str) -> Customer:
    return customer.model_copy(update={"name": ERASED, "email": erased_email(order_id), "phone": None})


def erased_address(address: Address | None) -> Address | None:
    if address is None:
        return None
    return address.model_copy(update={"city": ERASED, "line1": ERASED, "postcode": None})


__all__ = ["ERASED", "ERASED_DOMAIN", "erased_address", "erased_customer", "erased_email"]
