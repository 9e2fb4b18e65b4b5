"""Erasing a customer's personal data on request (issue 13): pure rules for what an anonymised order
and an anonymised customer record keep.

Kept: everything about money and the goods (lines, totals, discounts, payment state, refunds,
returns' quantities and amounts), the stages and times, the region and country of the address (for
delivery reports), ratings (for the feedback report). Erased: the customer's name, email and phone,
the address lines, the customer's and the staff's free texts about them (order notes, delivery
wishes, staff notes, the rating's comment, return reasons), and the customer as an actor of the
audit trail. An order erased already is not changed again (idempotent).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from oms_contracts import Actor
from oms_contracts.messages.common import Address, Customer

from oms_order.domain.customers import CustomerRecord
from oms_order.domain.order import Acting, AuditEntry, Decision, Order

ERASED = "[erased]"
ERASED_DOMAIN = "erased.example"
ERASED_ACTOR_ID = "erased"
ERASED_ACTION = "personal_data_erased"
# What of an audit entry's changes can hold personal data, whoever acted: an address or delivery wishes
# changed by staff, a staff note's text, a comment.
PERSONAL_CHANGES = frozenset({"address", "wishes", "note", "comment"})


def erased_email(order_id: str) -> str:
    """A syntactically valid address that reaches nobody (the `.example` domain is reserved)."""
    return f"erased-{order_id}@{ERASED_DOMAIN}"


def erased_customer(customer: Customer, order_id: str) -> Customer:
    return customer.model_copy(update={"name": ERASED, "email": erased_email(order_id), "phone": None})


def erased_address(address: Address | None) -> Address | None:
    if address is None:
        return None
    return address.model_copy(update={"city": ERASED, "line1": ERASED, "postcode": None})


def _erased_actor(actor: Actor) -> Actor:
    if actor.kind != "customer":
        return actor
    return actor.model_copy(update={"id": ERASED_ACTOR_ID, "name": None})


def _erased_entry(entry: AuditEntry) -> AuditEntry:
    """Personal changes (addresses, wishes, notes, comments) go from every entry; the customer as an
    actor loses their identity and every free text (a cancel reason); numbers stay."""
    by_customer = entry.actor.kind == "customer"
    changes = {
        k: ERASED if (k in PERSONAL_CHANGES and v is not None) or (by_customer and isinstance(v, str)) else v
        for k, v in entry.changes.items()
    }
    if changes == entry.changes and not by_customer:
        return entry
    return entry.model_copy(update={"actor": _erased_actor(entry.actor), "changes": changes})


def erase_order(order: Order, customer_id: str, acting: Acting) -> Decision:
    """Anonymise the order's personal fields; its money and goods stay as they are. Once only."""
    if order.erased_at is not None:
        return Decision(order=order, ignored=f"order {order.number} was erased already")
    new = order.model_copy(deep=True)
    new.customer = erased_customer(order.customer, order.id)
    new.address = erased_address(order.address)
    new.notes = None
    if new.wishes is not None:
        new.wishes = new.wishes.model_copy(update={"comment": None})
    new.staff_notes = [note.model_copy(update={"text": ERASED}) for note in new.staff_notes]
    if new.feedback is not None:
        new.feedback = new.feedback.model_copy(update={"comment": None})
    for returned in new.returns.values():
        returned.lines = [line.model_copy(update={"reason": None}) for line in returned.lines]
        returned.rejection_reason = None
    if new.cancel_reason is not None and new.cancel_reason.startswith("cancelled by the customer"):
        new.cancel_reason = "cancelled by the customer"
    new.audit = [_erased_entry(entry) for entry in new.audit]
    new.erased_at = acting.at
    changes: dict[str, Any] = {"customer_id": customer_id}
    new.audit.append(
        AuditEntry(at=acting.at, actor=acting.actor, channel=acting.channel, action=ERASED_ACTION, changes=changes)
    )
    return Decision(order=new)


def erased_archive_entry(entry: dict[str, Any]) -> dict[str, Any]:
    """An archived audit entry (as stored), erased like `erase_order` erases the entries it holds."""
    return _erased_entry(AuditEntry.model_validate(entry)).model_dump(mode="python")


def erase_record(record: CustomerRecord, at: datetime) -> CustomerRecord:
    """The record keeps its id, shop, group, order count, lifetime value and dates; nothing personal."""
    if record.erased_at is not None:
        return record
    new = record.model_copy(deep=True)
    new.name = ERASED
    new.emails, new.phones, new.addresses, new.tags = [], [], [], []
    new.notes = None
    new.marketing_consent = False
    new.erased_at = at
    return new
