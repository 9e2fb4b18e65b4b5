"""Joint purchases (owned by the groupbuy service, ADR 'groupbuy boundary')."""

from __future__ import annotations

from typing import Literal

from pydantic import AwareDatetime, Field

from oms_contracts.envelope import Payload
from oms_contracts.messages.common import Email, Frozen, Sku
from oms_contracts.money import CurrencyCode, Money

PurchaseState = Literal[
    "collecting", "stopped", "awaiting_payment", "ordered", "received", "distributed", "closed", "cancelled"
]
ItemStatus = Literal["waiting", "active", "queued", "released", "dropped"]
ItemsChange = Literal["added", "row_filled", "queued", "swapped", "released", "taken_from_queue", "dropped"]


class JointPurchaseOpened(Payload):
    TYPE = "JointPurchaseOpened"
    KEY = "purchase_id"

    purchase_id: str
    title: str = Field(min_length=1, max_length=200)
    supplier: str | None = None
    currencies: list[CurrencyCode] = Field(min_length=1)
    closes_at: AwareDatetime


class JointPurchaseStateChanged(Payload):
    """The purchase moved through its lifecycle (collecting → stopped → … → closed, or cancelled)."""

    TYPE = "JointPurchaseStateChanged"
    KEY = "purchase_id"

    purchase_id: str
    from_state: PurchaseState
    to_state: PurchaseState
    reason: str | None = None


class ParticipantItem(Frozen):
    item_id: str
    sku: Sku
    quantity: int = Field(gt=0)
    unit_price: Money
    status: ItemStatus


class JointPurchaseItemsChanged(Payload):
    """Items of one participant were added or changed status (a row filled, queued, released, …).

    The notification service tells the participant when `change` is queued, released, dropped or
    taken_from_queue.
    """

    TYPE = "JointPurchaseItemsChanged"
    KEY = "purchase_id"

    purchase_id: str
    participant_id: str
    partner_id: str | None = None
    change: ItemsChange
    items: list[ParticipantItem] = Field(min_length=1)


class JointPurchasePaymentRecorded(Payload):
    TYPE = "JointPurchasePaymentRecorded"
    KEY = "purchase_id"

    purchase_id: str
    participant_id: str
    amount: Money
    reference: str
    paid_in_full: bool
    refund: bool = Field(default=False, description="Money given back (a refund of the participant's order)")
    order_id: str | None = Field(default=None, description="The participant's order, when the payment was for it")


class ConsolidatedLine(Frozen):
    sku: Sku
    quantity: int = Field(gt=0)
    unit_cost: Money | None = Field(default=None, description="The supplier's price (the purchase order's unit cost)")


class JointPurchaseOrdered(Payload):
    """The purchase is ordered from its supplier: exactly the paid items, one line per SKU.

    The catalog service's purchasing builds the consolidated purchase order from it.
    """

    TYPE = "JointPurchaseOrdered"
    KEY = "purchase_id"

    purchase_id: str
    supplier: str | None = None
    lines: list[ConsolidatedLine] = Field(min_length=1)
    supplier_id: str | None = Field(
        default=None,
        description="The catalog's supplier: with warehouse_id, catalog "
        "creates and sends the consolidated purchase order (its id is `purchase_id`)",
    )
    warehouse_id: str | None = Field(default=None, description="The catalog's warehouse the goods are received into")


class GroupBuyOrderLine(Frozen):
    """A line of a participant's order, at the joint purchase's price (dealer discount applied)."""

    sku: Sku
    name: str = Field(min_length=1, max_length=200)
    quantity: int = Field(gt=0)
    unit_price: Money


class PlaceGroupBuyOrder(Payload):
    """groupbuy asks the order service for a participant's order (ADR 'groupbuy boundary').

    Sent once per (purchase, participant) when the participant's items are confirmed (the purchase
    moves to awaiting payment, or a queued item of theirs becomes active later). `order_id` is chosen
    by groupbuy and stored on the participant in the same update; the order service places the order
    once per `order_id` (a replay changes nothing) on its built-in joint-purchase pipeline.
    """

    TYPE = "PlaceGroupBuyOrder"
    KEY = "order_id"

    order_id: str
    purchase_id: str
    participant_id: str
    title: str = Field(min_length=1, max_length=200, description="The joint purchase's title")
    name: str = Field(min_length=1, max_length=200, description="The participant's name")
    email: Email | None = None
    contact: str | None = Field(default=None, max_length=200)
    currency: CurrencyCode
    lines: list[GroupBuyOrderLine] = Field(min_length=1, max_length=200)
    charges: Money = Field(
        description="What the participant owes besides the goods: the organiser's fee, their transport share "
        "and the delivery/payment options' prices (the order's `totals.delivery`)"
    )


class CancelGroupBuyOrder(Payload):
    """groupbuy asks the order service to cancel a participant's order: the participant was released
    (they paid nothing by their deadline, or backed out) or the joint purchase was cancelled.

    Sent once, in the update that releases or cancels; keyed by `order_id` like `PlaceGroupBuyOrder`,
    so it never overtakes the placing. The order service cancels (a refund is asked for when money
    was taken); an order already cancelled changes nothing.
    """

    TYPE = "CancelGroupBuyOrder"
    KEY = "order_id"

    order_id: str
    purchase_id: str
    participant_id: str
    reason: str = Field(min_length=1, max_length=500)


class ChangeGroupBuyOrderCharges(Payload):
    """groupbuy asks the order service to set a participant's order's charges (its `totals.delivery`):
    the organiser's fee, their transport share and the options' prices changed after the order was
    placed (the transport cost was set later, a release moved the shares).

    Sent in the update that changes them, for every placed participant order whose charges changed;
    keyed by `order_id` like `PlaceGroupBuyOrder`, so it never overtakes the placing. `revision`
    grows by one with each change of that participant's charges: the order service applies a
    revision newer than the last it applied and ignores an older or equal one (a late or replayed
    command changes nothing). Refused (dead-lettered with the reason) once the order is handed out
    or final.
    """

    TYPE = "ChangeGroupBuyOrderCharges"
    KEY = "order_id"

    order_id: str
    purchase_id: str
    participant_id: str
    charges: Money = Field(
        description="What the participant now owes besides the goods: fee, transport share, options "
        "(the order's new `totals.delivery`)"
    )
    revision: int = Field(ge=1, description="Monotonic per participant's order: 1 for the first change")


class NewsRecipient(Frozen):
    """A participant the news is for; without an e-mail address the notification service cannot mail them."""

    participant_id: str
    name: str
    email: Email | None = None


class JointPurchaseNewsPublished(Payload):
    """A notice for the partners and participants of one purchase, sent once to each of them.

    The notification service mails each recipient with an address and each partner (by staff id,
    from its staff projection), once per address.
    """

    TYPE = "JointPurchaseNewsPublished"
    KEY = "purchase_id"

    purchase_id: str
    title: str = Field(default="", max_length=200, description="The purchase's title")
    news_id: str
    text: str = Field(min_length=1, max_length=2000)
    pinned: bool
    expires_at: AwareDatetime | None = None
    participant_ids: list[str]
    partner_ids: list[str]
    recipients: list[NewsRecipient] = Field(default_factory=list)


class ShopNewsPublished(Payload):
    """A notice of the shop's organisers for every partner (agent, dealer) of the shop, not one purchase.

    Shown pinned to every partner until unpinned or expired; the notification service mails each
    named partner once (the same template as a purchase's news). Keyed by `news_id`.
    """

    TYPE = "ShopNewsPublished"
    KEY = "news_id"

    news_id: str
    text: str = Field(min_length=1, max_length=2000)
    pinned: bool
    expires_at: AwareDatetime | None = None
    partner_ids: list[str] = Field(max_length=1000, description="The shop's partners when it was published")


class JointPurchasePaymentReminderDue(Payload):
    """A participant still owes money before their payment deadline: a step of the shop's reminder
    cadence is reached. Sent once per (participant, reminder number); the notification service mails
    the participant when they have an address."""

    TYPE = "JointPurchasePaymentReminderDue"
    KEY = "purchase_id"

    purchase_id: str
    title: str = Field(default="", max_length=200, description="The purchase's title")
    participant_id: str
    name: str
    email: Email | None = None
    order_id: str | None = Field(default=None, description="The participant's order, when it exists")
    reminder_number: int = Field(ge=1, description="1 for the first reminder of this participant, 2 for the second…")
    deadline: AwareDatetime = Field(description="When the participant's unpaid items are released")
    owed: Money = Field(description="What is still to pay")


class HandedOutLine(Frozen):
    sku: Sku
    quantity: int = Field(gt=0)


class JointPurchaseHandedOut(Payload):
    """A participant collected their goods at the pickup point (the organiser's hand-out list)."""

    TYPE = "JointPurchaseHandedOut"
    KEY = "purchase_id"

    purchase_id: str
    participant_id: str
    order_id: str | None = Field(default=None, description="The participant's order, when it exists")
    lines: list[HandedOutLine] = Field(min_length=1)


__all__ = [
    "CancelGroupBuyOrder",
    "ConsolidatedLine",
    "GroupBuyOrderLine",
    "HandedOutLine",
    "ItemStatus",
    "ItemsChange",
    "JointPurchaseHandedOut",
    "JointPurchaseItemsChanged",
    "JointPurchaseNewsPublished",
    "JointPurchaseOpened",
    "JointPurchaseOrdered",
    "JointPurchasePaymentRecorded",
    "JointPurchasePaymentReminderDue",
    "JointPurchaseStateChanged",
    "NewsRecipient",
    "ParticipantItem",
    "PlaceGroupBuyOrder",
    "PurchaseState",
    "ShopNewsPublished",
]
