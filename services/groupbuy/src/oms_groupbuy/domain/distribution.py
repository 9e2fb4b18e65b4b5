"""Distribution at a pickup point: the hand-out list of a received purchase and marking a
participant's goods handed out; then the resale of what nobody collected. Plain rules, no I/O.

Who is on the list: every participant who has goods (active items) and was not released. At
`received` everyone on it has paid in full (ordering needs it), so "paid" is shown, not checked.
Marking is once per participant (a second mark changes nothing); when the last participant on the
list has collected, the purchase moves to `distributed` by itself (the organiser may still advance
by hand earlier, e.g. when the rest is shipped). A participant may still collect after that.

At the close (`purchase.close`) every active item of a participant who did not collect is offered
for resale (`JointPurchase.resale`). The organiser sells each to a new buyer (name, contact, price:
by default what the participant paid) or returns it to stock. A resale is recorded beside the
purchase's accounts, not in them: the participant who paid keeps their payment (the organiser
settles with them), the buyer pays the organiser, and nobody's transport share moves.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from decimal import Decimal

from oms_contracts import Money, Payload
from oms_contracts.messages.groupbuy import HandedOutLine, JointPurchaseHandedOut

from oms_groupbuy.domain.errors import InvalidInput, NotFound, WrongState
from oms_groupbuy.domain.money import check_amount
from oms_groupbuy.domain.purchase import (
    Decision,
    JointPurchase,
    Participant,
    ResaleOffer,
    _moved,
    _require,
    accounts,
)

HAND_OUT_STATES = ("received", "distributed")


@dataclass(frozen=True)
class HandOutLine:
    sku: str
    name: str
    quantity: int


@dataclass(frozen=True)
class HandOutRow:
    participant_id: str
    name: str
    contact: str | None
    currency: str
    lines: list[HandOutLine]
    paid: Decimal
    owed: Decimal
    handed_out_at: datetime | None
    order_id: str | None
    partner_id: str | None

    @property
    def handed_out(self) -> bool:
        return self.handed_out_at is not None


def _lines(purchase: JointPurchase, participant_id: str) -> list[HandOutLine]:
    counts: dict[str, int] = {}
    for item in purchase.items_of(participant_id):
        if item.status == "active":
            counts[item.sku] = counts.get(item.sku, 0) + item.quantity
    lines = []
    for sku, quantity in sorted(counts.items()):
        offer = purchase.offer(sku)
        lines.append(HandOutLine(sku, offer.name if offer else sku, quantity))
    return lines


def on_the_list(purchase: JointPurchase) -> list[Participant]:
    return [p for p in purchase.participants if not p.released and _lines(purchase, p.participant_id)]


def hand_out_list(purchase: JointPurchase, *, handed_out: bool | None = None) -> list[HandOutRow]:
    """The pickup point's list, by name; `handed_out` filters (False: who is still to come)."""
    acc = accounts(purchase)
    rows = [
        HandOutRow(
            participant_id=p.participant_id,
            name=p.name,
            contact=p.contact,
            currency=p.currency,
            lines=_lines(purchase, p.participant_id),
            paid=acc[p.participant_id].paid,
            owed=acc[p.participant_id].owed,
            handed_out_at=p.handed_out_at,
            order_id=p.order_id,
            partner_id=p.partner_id,
        )
        for p in on_the_list(purchase)
    ]
    if handed_out is not None:
        rows = [r for r in rows if r.handed_out is handed_out]
    return sorted(rows, key=lambda r: (r.name.casefold(), r.participant_id))


def hand_out(purchase: JointPurchase, participant_id: str, *, now: datetime) -> Decision | None:
    """The participant collected their goods; None when they had already."""
    if purchase.state not in HAND_OUT_STATES:
        raise WrongState(f"the purchase is {purchase.state}; goods are handed out once received", "state")
    participant = purchase.participant(participant_id)
    lines = _lines(purchase, participant_id)
    if participant.released or not lines:
        raise InvalidInput("has no goods to collect", "participant_id")
    if participant.handed_out_at is not None:
        return None
    updated = replace(
        purchase,
        participants=tuple(
            replace(p, handed_out_at=now) if p.participant_id == participant_id else p for p in purchase.participants
        ),
    )
    events: list[Payload] = [
        JointPurchaseHandedOut(
            purchase_id=purchase.purchase_id,
            participant_id=participant_id,
            order_id=participant.order_id,
            lines=[HandedOutLine(sku=line.sku, quantity=line.quantity) for line in lines],
        )
    ]
    if updated.state == "received" and all(p.handed_out_at is not None for p in on_the_list(updated)):
        updated, moved = _moved(updated, "distributed", now, "every participant collected their goods")
        events.append(moved)
    return Decision(updated, events)


# --- resale of what nobody collected (offered at the close, `purchase.close`) ---------------


def _offer(purchase: JointPurchase, item_id: str) -> ResaleOffer:
    _require(purchase, "closed")
    found = next((o for o in purchase.resale if o.item_id == item_id), None)
    if found is None:
        raise NotFound(f"no item {item_id} offered for resale", "item_id")
    if found.status != "offered":
        raise WrongState(f"the item was {found.status} already", "item_id")
    return found


def _decided(purchase: JointPurchase, decided: ResaleOffer) -> Decision:
    resale = tuple(decided if o.item_id == decided.item_id else o for o in purchase.resale)
    return Decision(replace(purchase, resale=resale), [])


def sell(
    purchase: JointPurchase,
    item_id: str,
    *,
    buyer_name: str,
    buyer_contact: str | None,
    price: Money | None,
    now: datetime,
) -> Decision:
    """A new buyer takes an unclaimed item (at the price its participant paid, unless stated)."""
    offer = _offer(purchase, item_id)
    name = buyer_name.strip()
    if not name:
        raise InvalidInput("must not be empty", "name")
    if price is not None and price.currency != offer.currency:
        raise InvalidInput(f"the item was paid in {offer.currency}", "price")
    amount = offer.price if price is None else check_amount(price.amount, offer.currency, "price")
    return _decided(
        purchase,
        replace(
            offer,
            status="sold",
            buyer_name=name,
            buyer_contact=buyer_contact.strip() if buyer_contact else None,
            sold_price=amount,
            decided_at=now,
        ),
    )


def return_to_stock(purchase: JointPurchase, item_id: str, *, now: datetime) -> Decision:
    """The item stays in the shop's warehouse as ordinary stock (it came in through the ledger)."""
    return _decided(purchase, replace(_offer(purchase, item_id), status="returned", decided_at=now))
