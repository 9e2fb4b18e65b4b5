"""The joint purchase: offers, size rows, participants and their items, through its lifecycle.

One purchase is one aggregate (ADR "groupbuy boundary"). Every command is a pure function
`(purchase, ..., now) -> Decision`: the new purchase and the events it causes, or `None` for "no
change" (a replayed payment reference). Money is `Decimal` in the participant's currency, exact
to the currency's minor unit: prices are checked when stated, fees and discounts rounded half up,
transport shared by largest remainder.

Size rows: a row spec is an ordered list of positions (SKUs, a SKU may repeat). An item of a row
SKU always has quantity 1 (a request for three becomes three items) and takes the first free
position of its SKU in the lowest-numbered row of its spec, or opens a new row. Its status is
`waiting` until the row's last position is taken, then every item of the row is `active`. On stop
the items of unfilled rows become `queued`: the purchase's waiting queue, in arrival order
(`seq`). An unpaid participant's released item frees its position, and the first queued item of
the same SKU moves into it (`taken_from_queue`). What is still queued when the purchase is
ordered is `dropped`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Literal

from oms_contracts import Money, Payload
from oms_contracts.messages.groupbuy import (
    CancelGroupBuyOrder,
    ChangeGroupBuyOrderCharges,
    ConsolidatedLine,
    GroupBuyOrderLine,
    ItemsChange,
    ItemStatus,
    JointPurchaseItemsChanged,
    JointPurchaseNewsPublished,
    JointPurchaseOpened,
    JointPurchaseOrdered,
    JointPurchasePaymentRecorded,
    JointPurchaseStateChanged,
    NewsRecipient,
    ParticipantItem,
    PlaceGroupBuyOrder,
    PurchaseState,
)

from oms_groupbuy.domain.errors import (
    InvalidInput,
    LimitReached,
    MinimumNotReached,
    NotAllPaid,
    NotFound,
    WrongState,
)
from oms_groupbuy.domain.money import allocate, check_amount, check_percent, discounted, percent_of

MAX_OFFERS = 200
MAX_ROW_SPECS = 50
MAX_ROW_POSITIONS = 30
MAX_OPTIONS = 40
MAX_PARTICIPANTS = 1000
MAX_ITEMS = 2000
MAX_NEWS = 50
MAX_PAYMENT_REFS = 50
MAX_CURRENCIES = 5

PartnerKind = Literal["agent", "dealer"]
ShareRule = Literal["sum", "weight"]
OptionKind = Literal["delivery", "payment"]

# The lifecycle, in order; `advance` moves one step along it (cancel is its own command).
LIFECYCLE: tuple[PurchaseState, ...] = (
    "collecting",
    "stopped",
    "awaiting_payment",
    "ordered",
    "received",
    "distributed",
    "closed",
)
CANCELLABLE: frozenset[PurchaseState] = frozenset({"collecting", "stopped", "awaiting_payment"})
PAYABLE_STATES: frozenset[PurchaseState] = frozenset(
    {"collecting", "stopped", "awaiting_payment", "ordered", "received"}
)
COUNTED: frozenset[ItemStatus] = frozenset({"waiting", "active"})


@dataclass(frozen=True)
class Offer:
    """A SKU the purchase offers, at the purchase's own price in each of its currencies."""

    sku: str
    name: str
    prices: Mapping[str, Decimal]
    weight_grams: int = 0
    min_quantity: int = 0  # the supplier's minimum for this SKU (0: none); not for row SKUs
    unit_cost: Money | None = None  # the supplier's price: the consolidated purchase order's unit cost


@dataclass(frozen=True)
class RowSpec:
    """A pack bought only whole: one position per size/colour (SKUs may repeat)."""

    spec_id: str
    name: str
    positions: tuple[str, ...]


@dataclass(frozen=True)
class Row:
    spec_id: str
    number: int
    slots: tuple[str | None, ...]  # item id per position

    @property
    def filled(self) -> bool:
        return all(s is not None for s in self.slots)

    @property
    def taken(self) -> int:
        return sum(1 for s in self.slots if s is not None)


@dataclass(frozen=True)
class Option:
    """A delivery or payment option of this purchase, in one currency, with its price."""

    option_id: str
    kind: OptionKind
    currency: str
    name: str
    price: Decimal


@dataclass(frozen=True)
class PartnerRef:
    """The partner who brings a participant, with the percent in force for this purchase."""

    partner_id: str
    kind: PartnerKind
    percent: Decimal  # agent: commission; dealer: discount
    name: str = ""


@dataclass(frozen=True)
class Participant:
    participant_id: str
    name: str
    contact: str | None
    currency: str
    added_at: datetime
    partner: PartnerRef | None = None
    delivery_option: str | None = None
    payment_option: str | None = None
    payment_deadline: datetime | None = None
    paid: Decimal = Decimal(0)
    payment_refs: tuple[str, ...] = ()
    released: bool = False
    external_ref: str | None = None  # e.g. "vk:<group>:<order id>": the intake's natural key
    email: str | None = None  # where news and notices are mailed (checked at the HTTP edge)
    fingerprint: str | None = None  # of the request that added them, when it came with an Idempotency-Key
    order_id: str | None = None  # their order in the order service, asked for once (PlaceGroupBuyOrder)
    reminders_sent: int = 0  # payment reminders sent for the current deadline (domain/reminders.py)
    handed_out_at: datetime | None = None  # collected at the pickup point (domain/distribution.py)
    # The charges (fee + transport share + options) last sent to their order, and that revision
    # (0: with PlaceGroupBuyOrder; then ChangeGroupBuyOrderCharges 1, 2, …). None: an order placed
    # before the charges were tracked.
    charges_sent: Decimal | None = None
    charges_revision: int = 0

    @property
    def partner_id(self) -> str | None:
        return self.partner.partner_id if self.partner else None


@dataclass(frozen=True)
class Item:
    item_id: str
    participant_id: str
    sku: str
    quantity: int
    unit_price: Decimal  # in the participant's currency, discount applied
    seq: int  # arrival order in the purchase: the waiting queue's order
    status: ItemStatus
    added_at: datetime
    row: tuple[str, int] | None = None  # (spec_id, number) for row SKUs


@dataclass(frozen=True)
class News:
    news_id: str
    text: str
    pinned: bool
    published_at: datetime
    expires_at: datetime | None = None

    def shown(self, now: datetime) -> bool:
        return self.pinned and (self.expires_at is None or self.expires_at > now)


ResaleStatus = Literal["offered", "sold", "returned"]


@dataclass(frozen=True)
class ResaleOffer:
    """An item nobody collected by the close, offered for resale (domain/distribution.py)."""

    item_id: str
    sku: str
    quantity: int
    from_participant_id: str
    currency: str
    price: Decimal  # what the participant paid per unit: the default asking price
    status: ResaleStatus = "offered"
    buyer_name: str | None = None
    buyer_contact: str | None = None
    sold_price: Decimal | None = None
    decided_at: datetime | None = None


@dataclass(frozen=True)
class JointPurchase:
    purchase_id: str
    shop_id: str
    title: str
    supplier: str | None
    closes_at: datetime
    currencies: tuple[str, ...]
    offers: tuple[Offer, ...]
    created_at: datetime
    state: PurchaseState = "collecting"
    row_specs: tuple[RowSpec, ...] = ()
    options: tuple[Option, ...] = ()
    fee_percent: Decimal = Decimal(0)
    minimum_totals: Mapping[str, Decimal] = field(default_factory=dict)
    transport: Mapping[str, Decimal] = field(default_factory=dict)  # cost to share, per currency
    transport_share: ShareRule = "sum"
    payment_days: int = 3
    partner_percents: Mapping[str, Decimal] = field(default_factory=dict)  # per-purchase override by partner id
    participants: tuple[Participant, ...] = ()
    items: tuple[Item, ...] = ()
    rows: tuple[Row, ...] = ()
    news: tuple[News, ...] = ()
    next_seq: int = 1
    state_changed_at: datetime | None = None
    # The catalog's supplier and warehouse: with both, catalog's purchasing makes the consolidated
    # purchase order (id = purchase_id) from JointPurchaseOrdered, and its receipt moves us to received.
    supplier_id: str | None = None
    warehouse_id: str | None = None
    # Hours before a participant's payment deadline at which they are reminded: the shop's cadence
    # when the purchase was opened (domain/reminders.py), largest first.
    reminder_hours: tuple[int, ...] = ()
    resale: tuple[ResaleOffer, ...] = ()  # offered at the close: items nobody collected

    # --- lookups -------------------------------------------------------------------------

    def offer(self, sku: str) -> Offer | None:
        return next((o for o in self.offers if o.sku == sku), None)

    def participant(self, participant_id: str) -> Participant:
        found = next((p for p in self.participants if p.participant_id == participant_id), None)
        if found is None:
            raise NotFound(f"no participant {participant_id} in this purchase", "participant_id")
        return found

    def item(self, item_id: str) -> Item:
        found = next((i for i in self.items if i.item_id == item_id), None)
        if found is None:
            raise NotFound(f"no item {item_id} in this purchase", "item_id")
        return found

    def option(self, option_id: str) -> Option | None:
        return next((o for o in self.options if o.option_id == option_id), None)

    def spec_of(self, sku: str) -> RowSpec | None:
        return next((s for s in self.row_specs if sku in s.positions), None)

    def items_of(self, participant_id: str) -> list[Item]:
        return [i for i in self.items if i.participant_id == participant_id]

    def by_external_ref(self, ref: str) -> Participant | None:
        return next((p for p in self.participants if p.external_ref == ref), None)

    def by_order(self, order_id: str) -> Participant | None:
        return next((p for p in self.participants if p.order_id == order_id), None)


@dataclass(frozen=True)
class Decision:
    purchase: JointPurchase
    events: list[Payload]


# --- opening -----------------------------------------------------------------------------


def open_purchase(
    *,
    purchase_id: str,
    shop_id: str,
    title: str,
    supplier: str | None,
    closes_at: datetime,
    currencies: Sequence[str],
    offers: Sequence[Offer],
    row_specs: Sequence[RowSpec] = (),
    options: Sequence[Option] = (),
    fee_percent: Decimal = Decimal(0),
    minimum_totals: Mapping[str, Decimal] | None = None,
    transport_share: ShareRule = "sum",
    payment_days: int = 3,
    partner_percents: Mapping[str, Decimal] | None = None,
    supplier_id: str | None = None,
    warehouse_id: str | None = None,
    reminder_hours: Sequence[int] = (),
    now: datetime,
) -> Decision:
    title = title.strip()
    if not title:
        raise InvalidInput("must not be empty", "title")
    if closes_at <= now:
        raise InvalidInput("must be in the future", "closes_at")
    if not currencies or len(set(currencies)) != len(currencies) or len(currencies) > MAX_CURRENCIES:
        raise InvalidInput(f"1 to {MAX_CURRENCIES} distinct currencies", "currencies")
    if not offers or len(offers) > MAX_OFFERS:
        raise InvalidInput(f"1 to {MAX_OFFERS} offers", "offers")
    if len({o.sku for o in offers}) != len(offers):
        raise InvalidInput("each SKU once", "offers")
    checked_offers = tuple(_check_offer(o, i, currencies) for i, o in enumerate(offers))
    skus = {o.sku for o in checked_offers}
    if len(row_specs) > MAX_ROW_SPECS or len({s.spec_id for s in row_specs}) != len(row_specs):
        raise InvalidInput(f"at most {MAX_ROW_SPECS} rows, each id once", "rows")
    in_rows: set[str] = set()
    for i, spec in enumerate(row_specs):
        if not 2 <= len(spec.positions) <= MAX_ROW_POSITIONS:
            raise InvalidInput(f"2 to {MAX_ROW_POSITIONS} positions", f"rows[{i}].positions")
        unknown = set(spec.positions) - skus
        if unknown:
            raise InvalidInput(f"not offered: {', '.join(sorted(unknown))}", f"rows[{i}].positions")
        if set(spec.positions) & in_rows:
            raise InvalidInput("a SKU belongs to one row spec only", f"rows[{i}].positions")
        in_rows |= set(spec.positions)
    for i, o in enumerate(checked_offers):
        if o.min_quantity and o.sku in in_rows:
            raise InvalidInput("a row SKU is bought by the row: no minimum of its own", f"offers[{i}].min_quantity")
    if len(options) > MAX_OPTIONS or len({o.option_id for o in options}) != len(options):
        raise InvalidInput(f"at most {MAX_OPTIONS} options, each id once", "options")
    for i, opt in enumerate(options):
        if opt.currency not in currencies:
            raise InvalidInput("not a currency of this purchase", f"options[{i}].currency")
        if not opt.name.strip():
            raise InvalidInput("must not be empty", f"options[{i}].name")
        check_amount(opt.price, opt.currency, f"options[{i}].price")
    minimums = dict(minimum_totals or {})
    for cur, amount in minimums.items():
        if cur not in currencies:
            raise InvalidInput(f"{cur} is not a currency of this purchase", "minimum_totals")
        check_amount(amount, cur, "minimum_totals")
    if not 1 <= payment_days <= 60:
        raise InvalidInput("1 to 60 days", "payment_days")
    percents = {k: check_percent(v, "partner_percents") for k, v in (partner_percents or {}).items()}
    _check_catalog_ties(supplier_id, warehouse_id, checked_offers)
    purchase = JointPurchase(
        purchase_id=purchase_id,
        shop_id=shop_id,
        title=title,
        supplier=supplier.strip() if supplier and supplier.strip() else None,
        closes_at=closes_at,
        currencies=tuple(currencies),
        offers=checked_offers,
        created_at=now,
        row_specs=tuple(row_specs),
        options=tuple(options),
        fee_percent=check_percent(fee_percent, "fee_percent"),
        minimum_totals=minimums,
        transport_share=transport_share,
        payment_days=payment_days,
        partner_percents=percents,
        state_changed_at=now,
        supplier_id=supplier_id,
        warehouse_id=warehouse_id,
        reminder_hours=tuple(sorted(set(reminder_hours), reverse=True)),
    )
    event = JointPurchaseOpened(
        purchase_id=purchase_id,
        title=title,
        supplier=purchase.supplier,
        currencies=list(currencies),
        closes_at=closes_at,
    )
    return Decision(purchase, [event])


def _check_catalog_ties(supplier_id: str | None, warehouse_id: str | None, offers: Sequence[Offer]) -> None:
    """The consolidated purchase order needs the catalog's supplier and warehouse, and a unit cost
    for every offer, all in one currency (a purchase order's lines share one)."""
    if (supplier_id is None) != (warehouse_id is None):
        raise InvalidInput("supplier_id and warehouse_id go together", "warehouse_id" if supplier_id else "supplier_id")
    costs = [(i, o.unit_cost) for i, o in enumerate(offers) if o.unit_cost is not None]
    for i, cost in costs:
        check_amount(cost.amount, cost.currency, f"offers[{i}].unit_cost.amount")
        if cost.amount < 0:
            raise InvalidInput("must not be negative", f"offers[{i}].unit_cost.amount")
        if cost.currency != costs[0][1].currency:
            raise InvalidInput(f"every unit cost is in {costs[0][1].currency}", f"offers[{i}].unit_cost.currency")
    if supplier_id is not None:
        missing = next((i for i, o in enumerate(offers) if o.unit_cost is None), None)
        if missing is not None:
            raise InvalidInput("needed for the purchase order (supplier_id is set)", f"offers[{missing}].unit_cost")


def _check_offer(offer: Offer, index: int, currencies: Sequence[str]) -> Offer:
    if not offer.name.strip():
        raise InvalidInput("must not be empty", f"offers[{index}].name")
    if set(offer.prices) != set(currencies):
        raise InvalidInput("one price in each currency of the purchase", f"offers[{index}].prices")
    for cur, price in offer.prices.items():
        check_amount(price, cur, f"offers[{index}].prices.{cur}")
    if offer.weight_grams < 0 or offer.min_quantity < 0:
        raise InvalidInput("must not be negative", f"offers[{index}]")
    return offer


# --- participants and items --------------------------------------------------------------


def _require(purchase: JointPurchase, *states: PurchaseState) -> None:
    if purchase.state not in states:
        raise WrongState(f"the purchase is {purchase.state}; this needs it {' or '.join(states)}", "state")


def add_participant(
    purchase: JointPurchase,
    *,
    participant_id: str,
    name: str,
    contact: str | None,
    currency: str,
    partner: PartnerRef | None,
    delivery_option: str | None = None,
    payment_option: str | None = None,
    external_ref: str | None = None,
    email: str | None = None,
    fingerprint: str | None = None,
    now: datetime,
) -> Decision:
    _require(purchase, "collecting")
    if email is not None and (len(email) > 254 or "@" not in email.strip("@")):
        raise InvalidInput("an e-mail address", "email")
    if not name.strip():
        raise InvalidInput("must not be empty", "name")
    if currency not in purchase.currencies:
        raise InvalidInput(f"one of {', '.join(purchase.currencies)}", "currency")
    if len(purchase.participants) >= MAX_PARTICIPANTS:
        raise LimitReached(f"a purchase holds at most {MAX_PARTICIPANTS} participants", "participants")
    if any(p.participant_id == participant_id for p in purchase.participants):
        raise InvalidInput("already a participant", "participant_id")
    for kind, option_id in (("delivery", delivery_option), ("payment", payment_option)):
        if option_id is None:
            continue
        opt = purchase.option(option_id)
        if opt is None or opt.kind != kind or opt.currency != currency:
            raise InvalidInput(f"no {kind} option {option_id} in {currency}", f"{kind}_option")
    if partner is not None:
        partner = replace(partner, percent=purchase.partner_percents.get(partner.partner_id, partner.percent))
    participant = Participant(
        participant_id=participant_id,
        name=name.strip(),
        contact=contact.strip() if contact and contact.strip() else None,
        currency=currency,
        added_at=now,
        partner=partner,
        delivery_option=delivery_option,
        payment_option=payment_option,
        external_ref=external_ref,
        email=email.strip().lower() if email else None,
        fingerprint=fingerprint,
    )
    return Decision(replace(purchase, participants=(*purchase.participants, participant)), [])


def unit_price(purchase: JointPurchase, participant: Participant, sku: str) -> Decimal:
    offer = purchase.offer(sku)
    if offer is None:
        raise InvalidInput(f"{sku} is not offered in this purchase", "sku")
    price = offer.prices[participant.currency]
    if participant.partner is not None and participant.partner.kind == "dealer":
        return discounted(price, participant.partner.percent, participant.currency)
    return price


def add_items(
    purchase: JointPurchase,
    participant_id: str,
    lines: Sequence[tuple[str, int]],
    *,
    new_id: Callable[[], str],
    now: datetime,
) -> Decision:
    """Claim `lines` (sku, quantity) for a participant; row SKUs take row positions one unit each."""
    _require(purchase, "collecting")
    participant = purchase.participant(participant_id)
    if participant.released:
        raise WrongState("this participant's items were released", "participant_id")
    if not lines:
        raise InvalidInput("at least one line", "lines")
    new_count = sum(q if purchase.spec_of(s) else 1 for s, q in lines)
    if len(purchase.items) + new_count > MAX_ITEMS:
        raise LimitReached(f"a purchase holds at most {MAX_ITEMS} items", "lines")
    items = list(purchase.items)
    rows = list(purchase.rows)
    seq = purchase.next_seq
    added: list[Item] = []
    filled_rows: list[Row] = []
    for index, (sku, quantity) in enumerate(lines):
        if quantity <= 0:
            raise InvalidInput("must be positive", f"lines[{index}].quantity")
        if purchase.offer(sku) is None:
            raise InvalidInput(f"{sku} is not offered in this purchase", f"lines[{index}].sku")
        price = unit_price(purchase, participant, sku)
        spec = purchase.spec_of(sku)
        if spec is None:
            item = Item(new_id(), participant_id, sku, quantity, price, seq, "active", now)
            seq += 1
            items.append(item)
            added.append(item)
            continue
        for _ in range(quantity):
            item_id = new_id()
            placed = _place_in_row(rows, spec, sku, item_id, open_new=True)
            assert placed is not None  # open_new always finds a place
            rows, row = placed
            item = Item(item_id, participant_id, sku, 1, price, seq, "waiting", now, (row.spec_id, row.number))
            seq += 1
            items.append(item)
            added.append(item)
            if row.filled:
                filled_rows.append(row)
    updated = replace(purchase, items=tuple(items), rows=tuple(rows), next_seq=seq)
    updated, activated = _activate_rows(updated, filled_rows)
    added_now = [updated.item(i.item_id) for i in added]
    events: list[Payload] = [_items_event(updated, participant_id, "added", added_now)]
    events += _per_participant(updated, "row_filled", [i for i in activated if i.participant_id != participant_id])
    return Decision(updated, events)


def _place_in_row(
    rows: Sequence[Row], spec: RowSpec, sku: str, item_id: str, *, open_new: bool, only_unfilled: bool = False
) -> tuple[list[Row], Row] | None:
    """Put `item_id` in the first free position of `sku` in the lowest row of its spec.

    Rows that are full are skipped by nature; `only_unfilled` also skips rows with no free `sku`
    position (after stop, no new row opens: `open_new=False`). Returns the rows and the row taken.
    """
    rows = list(rows)
    for ri, row in sorted(
        ((i, r) for i, r in enumerate(rows) if r.spec_id == spec.spec_id), key=lambda pair: pair[1].number
    ):
        if only_unfilled and row.filled:
            continue
        for pi, pos in enumerate(spec.positions):
            if pos == sku and row.slots[pi] is None:
                return _take(rows, (ri, pi), item_id)
    if not open_new:
        return None
    number = 1 + max((r.number for r in rows if r.spec_id == spec.spec_id), default=0)
    rows.append(Row(spec.spec_id, number, (None,) * len(spec.positions)))
    return _take(rows, (len(rows) - 1, spec.positions.index(sku)), item_id)


def _take(rows: Sequence[Row], place: tuple[int, int], item_id: str) -> tuple[list[Row], Row]:
    ri, pi = place
    rows = list(rows)
    row = rows[ri]
    slots = list(row.slots)
    slots[pi] = item_id
    rows[ri] = replace(row, slots=tuple(slots))
    return rows, rows[ri]


def _activate_rows(purchase: JointPurchase, rows: Iterable[Row]) -> tuple[JointPurchase, list[Item]]:
    """Every waiting or queued item of the given (filled) rows becomes active."""
    ids = {s for r in rows for s in r.slots if s is not None}
    changed: list[Item] = []
    items = []
    for item in purchase.items:
        if item.item_id in ids and item.status in ("waiting", "queued"):
            item = replace(item, status="active")
            changed.append(item)
        items.append(item)
    return replace(purchase, items=tuple(items)), changed


def _items_event(
    purchase: JointPurchase, participant_id: str, change: ItemsChange, items: Sequence[Item]
) -> JointPurchaseItemsChanged:
    participant = purchase.participant(participant_id)
    return JointPurchaseItemsChanged(
        purchase_id=purchase.purchase_id,
        participant_id=participant_id,
        partner_id=participant.partner_id,
        change=change,
        items=[
            ParticipantItem(
                item_id=i.item_id,
                sku=i.sku,
                quantity=i.quantity,
                unit_price=Money(amount=i.unit_price, currency=participant.currency),
                status=i.status,
            )
            for i in items
        ],
    )


def _per_participant(purchase: JointPurchase, change: ItemsChange, items: Sequence[Item]) -> list[Payload]:
    by: dict[str, list[Item]] = {}
    for item in items:
        by.setdefault(item.participant_id, []).append(item)
    return [_items_event(purchase, pid, change, its) for pid, its in by.items()]


def _set_items(purchase: JointPurchase, changed: Iterable[Item]) -> JointPurchase:
    by_id = {i.item_id: i for i in changed}
    return replace(purchase, items=tuple(by_id.get(i.item_id, i) for i in purchase.items))


# --- lifecycle -----------------------------------------------------------------------------


def _moved(
    purchase: JointPurchase, to: PurchaseState, now: datetime, reason: str | None = None
) -> tuple[JointPurchase, Payload]:
    event = JointPurchaseStateChanged(
        purchase_id=purchase.purchase_id, from_state=purchase.state, to_state=to, reason=reason
    )
    return replace(purchase, state=to, state_changed_at=now), event


def due_to_stop(purchase: JointPurchase, now: datetime) -> bool:
    return purchase.state == "collecting" and purchase.closes_at <= now


def stop(purchase: JointPurchase, *, now: datetime, reason: str = "stopped by the organiser") -> Decision:
    """collecting → stopped: unfilled rows' items join the waiting queue; SKUs under their minimum are dropped."""
    _require(purchase, "collecting")
    queued = [replace(i, status="queued") for i in purchase.items if i.status == "waiting"]
    totals: dict[str, int] = {}
    for i in purchase.items:
        if i.status in COUNTED:
            totals[i.sku] = totals.get(i.sku, 0) + i.quantity
    short = {o.sku for o in purchase.offers if o.min_quantity and totals.get(o.sku, 0) < o.min_quantity}
    dropped = [replace(i, status="dropped") for i in purchase.items if i.sku in short and i.status == "active"]
    updated = _set_items(purchase, [*queued, *dropped])
    updated, moved = _moved(updated, "stopped", now, reason)
    events: list[Payload] = [moved]
    events += _per_participant(updated, "queued", queued)
    events += _per_participant(updated, "dropped", dropped)
    return Decision(updated, events)


def swap(purchase: JointPurchase, item_id: str, sku: str, *, now: datetime) -> Decision:
    """A queued item changes to another SKU: a free position of an unfilled row, or a SKU without rows."""
    _require(purchase, "stopped", "awaiting_payment")
    item = purchase.item(item_id)
    if item.status != "queued":
        raise WrongState("only a queued item can be swapped", "item_id")
    if sku == item.sku:
        raise InvalidInput(f"the item is {sku} already", "sku")
    participant = purchase.participant(item.participant_id)
    price = unit_price(purchase, participant, sku)
    rows = list(purchase.rows)
    if item.row is not None:  # leave the old position
        rows = [_without(r, item_id) for r in rows]
    spec = purchase.spec_of(sku)
    filled: list[Row] = []
    if spec is None:
        moved = replace(item, sku=sku, unit_price=price, status="active", row=None)
    else:
        placed = _place_in_row(rows, spec, sku, item_id, open_new=False, only_unfilled=True)
        if placed is None:
            raise InvalidInput(f"no free position of {sku} in an unfilled row", "sku")
        rows, row = placed
        moved = replace(item, sku=sku, unit_price=price, row=(row.spec_id, row.number))
        if row.filled:
            filled.append(row)
    updated = replace(_set_items(purchase, [moved]), rows=tuple(rows))
    updated, activated = _activate_rows(updated, filled)
    final = updated.item(item_id)
    events: list[Payload] = [_items_event(updated, item.participant_id, "swapped", [final])]
    events += _per_participant(updated, "row_filled", [i for i in activated if i.item_id != item_id])
    return Decision(_deadlines_for_new_debtors(updated, now), events)


def _deadlines_for_new_debtors(purchase: JointPurchase, now: datetime) -> JointPurchase:
    """While awaiting payment, whoever has active items and no deadline yet gets one from now."""
    if purchase.state != "awaiting_payment":
        return purchase
    for p in purchase.participants:
        if p.payment_deadline is None and any(i.status == "active" for i in purchase.items_of(p.participant_id)):
            purchase = _with_deadline(purchase, p.participant_id, now)
    return purchase


def drop_row(purchase: JointPurchase, spec_id: str, number: int, *, now: datetime) -> Decision:
    """The organiser gives up a row that cannot be made whole: every item in it is dropped."""
    _require(purchase, "stopped", "awaiting_payment")
    row = next((r for r in purchase.rows if (r.spec_id, r.number) == (spec_id, number)), None)
    if row is None:
        raise NotFound(f"no row {spec_id} #{number}", "row")
    ids = {s for s in row.slots if s is not None}
    dropped = [replace(i, status="dropped") for i in purchase.items if i.item_id in ids]
    updated = replace(
        _set_items(purchase, dropped),
        rows=tuple(replace(r, slots=(None,) * len(r.slots)) if r is row else r for r in purchase.rows),
    )
    return Decision(updated, _per_participant(updated, "dropped", dropped))


def _without(row: Row, item_id: str) -> Row:
    return replace(row, slots=tuple(None if s == item_id else s for s in row.slots))


def _with_deadline(purchase: JointPurchase, participant_id: str, now: datetime) -> JointPurchase:
    deadline = now + timedelta(days=purchase.payment_days)
    return replace(
        purchase,
        participants=tuple(
            replace(p, payment_deadline=deadline, reminders_sent=0) if p.participant_id == participant_id else p
            for p in purchase.participants
        ),
    )


def goods_totals(purchase: JointPurchase) -> dict[str, Decimal]:
    """The sum of the counted items' goods per currency."""
    totals = {c: Decimal(0) for c in purchase.currencies}
    currency = {p.participant_id: p.currency for p in purchase.participants}
    for i in purchase.items:
        if i.status in COUNTED:
            totals[currency[i.participant_id]] += i.unit_price * i.quantity
    return totals


def open_payment(purchase: JointPurchase, *, now: datetime) -> Decision:
    """stopped → awaiting_payment: every participant with active items gets a payment deadline."""
    _require(purchase, "stopped")
    totals = goods_totals(purchase)
    short = [f"{totals[c]} of {m} {c}" for c, m in purchase.minimum_totals.items() if totals[c] < m]
    if short:
        raise MinimumNotReached("minimum total not reached: " + "; ".join(short), "minimum_totals")
    updated = purchase
    for p in purchase.participants:
        if any(i.status == "active" for i in purchase.items_of(p.participant_id)):
            updated = _with_deadline(updated, p.participant_id, now)
    updated, moved = _moved(updated, "awaiting_payment", now)
    return Decision(updated, [moved])


def record_payment(
    purchase: JointPurchase, participant_id: str, amount: Money, reference: str, *, now: datetime
) -> Decision | None:
    """Money a participant paid (cash, transfer, a captured payment); once per reference."""
    if purchase.state not in PAYABLE_STATES:
        raise WrongState(f"the purchase is {purchase.state}: no payments any more", "state")
    participant = purchase.participant(participant_id)
    if reference in participant.payment_refs:
        return None
    if not reference.strip() or len(reference) > 100:
        raise InvalidInput("1 to 100 characters", "reference")
    if amount.currency != participant.currency:
        raise InvalidInput(f"this participant pays in {participant.currency}", "amount.currency")
    check_amount(amount.amount, amount.currency, "amount.amount")
    if amount.amount <= 0:
        raise InvalidInput("must be positive", "amount.amount")
    if len(participant.payment_refs) >= MAX_PAYMENT_REFS:
        raise LimitReached(f"at most {MAX_PAYMENT_REFS} payments per participant", "reference")
    paid = replace(
        participant, paid=participant.paid + amount.amount, payment_refs=(*participant.payment_refs, reference)
    )
    updated = replace(
        purchase,
        participants=tuple(paid if p.participant_id == participant_id else p for p in purchase.participants),
    )
    account = accounts(updated)[participant_id]
    event = JointPurchasePaymentRecorded(
        purchase_id=purchase.purchase_id,
        participant_id=participant_id,
        amount=amount,
        reference=reference,
        paid_in_full=account.owed == 0,
    )
    return Decision(updated, [event])


def record_refund(
    purchase: JointPurchase, participant_id: str, amount: Money, reference: str, *, order_id: str | None = None
) -> Decision | None:
    """Money given back to a participant (a refund of their order): `paid` goes down; once per reference."""
    participant = purchase.participant(participant_id)
    if reference in participant.payment_refs:
        return None
    if amount.currency != participant.currency:
        raise InvalidInput(f"this participant pays in {participant.currency}", "amount.currency")
    if amount.amount <= 0:
        raise InvalidInput("must be positive", "amount.amount")
    if len(participant.payment_refs) >= MAX_PAYMENT_REFS:
        raise LimitReached(f"at most {MAX_PAYMENT_REFS} payments per participant", "reference")
    refunded = replace(
        participant, paid=participant.paid - amount.amount, payment_refs=(*participant.payment_refs, reference)
    )
    updated = replace(
        purchase,
        participants=tuple(refunded if p.participant_id == participant_id else p for p in purchase.participants),
    )
    account = accounts(updated)[participant_id]
    event = JointPurchasePaymentRecorded(
        purchase_id=purchase.purchase_id,
        participant_id=participant_id,
        amount=amount,
        reference=reference,
        paid_in_full=account.owed == 0,
        refund=True,
        order_id=order_id,
    )
    return Decision(updated, [event])


# --- participants' orders in the order service ----------------------------------------------


def ask_for_orders(purchase: JointPurchase, *, new_id: Callable[[], str]) -> Decision | None:
    """While the purchase awaits payment, every participant with active (confirmed) items and no
    order yet gets one: an order id, stored on them, and `PlaceGroupBuyOrder` in the same update.

    The moment is the move to awaiting payment (the participant's items are confirmed: their rows
    are whole, the SKU minimums met) or, later, a queued item of theirs taking a released position.
    Lines at the purchase's prices (a dealer's discount applied), one per SKU and price; the fee,
    transport share and options are the order's `charges`, so its total is the participant's due.
    """
    if purchase.state != "awaiting_payment":
        return None
    needing = [
        p
        for p in purchase.participants
        if p.order_id is None
        and not p.released
        and any(i.status == "active" for i in purchase.items_of(p.participant_id))
    ]
    if not needing:
        return None
    books = accounts(purchase)
    commands: list[Payload] = []
    asked: dict[str, str] = {}
    for p in needing:
        grouped: dict[tuple[str, Decimal], int] = {}
        for i in purchase.items_of(p.participant_id):
            if i.status == "active":
                grouped[(i.sku, i.unit_price)] = grouped.get((i.sku, i.unit_price), 0) + i.quantity
        order_id = new_id()
        asked[p.participant_id] = order_id
        account = books[p.participant_id]
        commands.append(
            PlaceGroupBuyOrder(
                order_id=order_id,
                purchase_id=purchase.purchase_id,
                participant_id=p.participant_id,
                title=purchase.title,
                name=p.name,
                email=p.email,
                contact=p.contact,
                currency=p.currency,
                lines=[
                    GroupBuyOrderLine(
                        sku=sku,
                        name=(offer.name if (offer := purchase.offer(sku)) else sku),
                        quantity=quantity,
                        unit_price=Money(amount=price, currency=p.currency),
                    )
                    for (sku, price), quantity in sorted(grouped.items())
                ],
                charges=Money(amount=charges_of(account), currency=p.currency),
            )
        )
    updated = replace(
        purchase,
        participants=tuple(
            replace(p, order_id=asked[p.participant_id], charges_sent=charges_of(books[p.participant_id]))
            if p.participant_id in asked
            else p
            for p in purchase.participants
        ),
    )
    return Decision(updated, commands)


def charges_of(account: Account) -> Decimal:
    """What a participant's order carries besides the goods: fee, transport share, options."""
    return account.due - account.goods


# Purchase states in which a participant's order may still take new charges (before the hand-out).
CHARGES_FOLLOW_IN: tuple[PurchaseState, ...] = ("awaiting_payment", "ordered", "received", "distributed")


def follow_charges(purchase: JointPurchase) -> Decision | None:
    """Every placed participant order whose charges differ from what it was last sent gets
    `ChangeGroupBuyOrderCharges` with the next revision, recorded on the participant in the same
    update: a transport cost set later, or shares moved by a release, reach the orders' totals.

    Not for a released participant (their order is cancelled), one who collected their goods (the
    order is handed out), nor once the purchase is closed or cancelled. A participant whose order was
    placed before the charges were tracked (`charges_sent` None) is sent them once.
    """
    if purchase.state not in CHARGES_FOLLOW_IN:
        return None
    books = accounts(purchase)
    commands: list[Payload] = []
    changed: dict[str, Participant] = {}
    for p in purchase.participants:
        if p.order_id is None or p.released or p.handed_out_at is not None:
            continue
        charges = charges_of(books[p.participant_id])
        if charges == p.charges_sent:
            continue
        revision = p.charges_revision + 1
        changed[p.participant_id] = replace(p, charges_sent=charges, charges_revision=revision)
        commands.append(
            ChangeGroupBuyOrderCharges(
                order_id=p.order_id,
                purchase_id=purchase.purchase_id,
                participant_id=p.participant_id,
                charges=Money(amount=charges, currency=p.currency),
                revision=revision,
            )
        )
    if not commands:
        return None
    updated = replace(purchase, participants=tuple(changed.get(p.participant_id, p) for p in purchase.participants))
    return Decision(updated, commands)


def with_charges(decision: Decision | None) -> Decision | None:
    """A decision, and the charges its new state changes on participants' orders (`follow_charges`)."""
    if decision is None:
        return None
    followed = follow_charges(decision.purchase)
    if followed is None:
        return decision
    return Decision(followed.purchase, [*decision.events, *followed.events])


def with_orders(decision: Decision | None, *, new_id: Callable[[], str]) -> Decision | None:
    """A decision, and the participants' orders its new state asks for (`ask_for_orders`)."""
    if decision is None:
        return None
    asked = ask_for_orders(decision.purchase, new_id=new_id)
    if asked is None:
        return decision
    return Decision(asked.purchase, [*decision.events, *asked.events])


def with_cancellations(before: JointPurchase, decision: Decision | None) -> Decision | None:
    """A decision, and the cancellation of every participant's order it makes pointless: a
    participant it releases, or all of them when it cancels the purchase (once: only on the change)."""
    if decision is None:
        return None
    after = decision.purchase
    was = {p.participant_id: p for p in before.participants}
    cancelled_now = after.state == "cancelled" and before.state != "cancelled"
    commands: list[Payload] = []
    for p in after.participants:
        if p.order_id is None or was.get(p.participant_id) is None:
            continue
        released_now = p.released and not was[p.participant_id].released
        if released_now or (cancelled_now and not p.released):
            reason = "the joint purchase was cancelled" if cancelled_now else "released from the joint purchase"
            commands.append(
                CancelGroupBuyOrder(
                    order_id=p.order_id,
                    purchase_id=after.purchase_id,
                    participant_id=p.participant_id,
                    reason=f"{reason}: {after.title}"[:500],
                )
            )
    return decision if not commands else Decision(after, [*decision.events, *commands])


def release_unpaid(purchase: JointPurchase, *, now: datetime) -> Decision | None:
    """Participants past their deadline who paid nothing lose their items to the waiting queue.

    A partly paid participant keeps the items (the organiser settles with them); they show as
    overdue in the table.
    """
    if purchase.state != "awaiting_payment":
        return None
    overdue = [
        p
        for p in purchase.participants
        if not p.released
        and p.paid == 0
        and p.payment_deadline is not None
        and p.payment_deadline <= now
        and any(i.status == "active" for i in purchase.items_of(p.participant_id))
    ]
    if not overdue:
        return None
    updated = purchase
    events: list[Payload] = []
    for p in overdue:
        updated, released = _release(updated, p.participant_id, now)
        events += released
    return Decision(updated, events)


def release_participant(purchase: JointPurchase, participant_id: str, *, now: datetime) -> Decision:
    """The organiser gives a participant who paid nothing up before their deadline (they backed out)."""
    _require(purchase, "stopped", "awaiting_payment")
    participant = purchase.participant(participant_id)
    if participant.released:
        raise WrongState("released already", "participant_id")
    if participant.paid != 0:
        raise WrongState("has paid: settle with them first", "participant_id")
    if not any(i.status in ("active", "queued") for i in purchase.items_of(participant_id)):
        raise WrongState("has no items to release", "participant_id")
    updated, events = _release(purchase, participant_id, now)
    return Decision(updated, events)


def _release(purchase: JointPurchase, participant_id: str, now: datetime) -> tuple[JointPurchase, list[Payload]]:
    """The participant's items go; the first queued item of each freed row position's SKU takes it."""
    updated = purchase
    mine = [i for i in updated.items_of(participant_id) if i.status in ("active", "queued")]
    released = [replace(i, status="released") for i in mine]
    rows = list(updated.rows)
    taken: list[Item] = []
    for item in mine:
        if item.row is None:
            continue
        ri = next(k for k, r in enumerate(rows) if (r.spec_id, r.number) == item.row)
        pi = rows[ri].slots.index(item.item_id)
        rows[ri] = _without(rows[ri], item.item_id)
        if item.status != "active":
            continue  # a queued item held a position of an unfilled row: nobody waits for it
        heir = _first_queued(updated, item.sku, exclude=participant_id, already=taken)
        if heir is None:
            continue
        rows = [_without(r, heir.item_id) for r in rows]
        rows, row = _take(rows, (ri, pi), heir.item_id)
        taken.append(replace(heir, status="active", row=(row.spec_id, row.number)))
    updated = replace(
        _set_items(updated, [*released, *taken]),
        rows=tuple(rows),
        participants=tuple(
            replace(x, released=True) if x.participant_id == participant_id else x for x in updated.participants
        ),
    )
    events: list[Payload] = [_items_event(updated, participant_id, "released", released)] if released else []
    for heir in taken:
        owner = updated.participant(heir.participant_id)
        if owner.payment_deadline is not None and owner.payment_deadline <= now:
            updated = _with_deadline(updated, owner.participant_id, now)  # a fresh window for the new items
    updated = _deadlines_for_new_debtors(updated, now)
    events += _per_participant(updated, "taken_from_queue", taken)
    return updated, events


def _first_queued(purchase: JointPurchase, sku: str, *, exclude: str, already: Sequence[Item]) -> Item | None:
    taken = {i.item_id for i in already}
    candidates = [
        i
        for i in purchase.items
        if i.status == "queued" and i.sku == sku and i.participant_id != exclude and i.item_id not in taken
    ]
    return min(candidates, key=lambda i: i.seq, default=None)


def order_from_supplier(purchase: JointPurchase, *, now: datetime) -> Decision:
    """awaiting_payment → ordered: everybody with active items has paid; the queue is dropped."""
    _require(purchase, "awaiting_payment")
    owing = [a for a in accounts(purchase).values() if a.owed > 0]
    if owing:
        raise NotAllPaid(f"{len(owing)} participant(s) still owe money", "participants")
    active = [i for i in purchase.items if i.status == "active"]
    if not active:
        raise WrongState("no paid items to order", "items")
    broken = [
        r
        for r in purchase.rows
        if not r.filled and any(s is not None and purchase.item(s).status == "active" for s in r.slots)
    ]
    if broken:
        names = ", ".join(f"{r.spec_id} #{r.number}" for r in broken)
        raise WrongState(f"rows not whole: {names}; swap queued items into them or drop them", "rows")
    dropped = [replace(i, status="dropped") for i in purchase.items if i.status == "queued"]
    lines: dict[str, int] = {}
    for i in active:
        lines[i.sku] = lines.get(i.sku, 0) + i.quantity
    updated = _set_items(purchase, dropped)
    updated, moved = _moved(updated, "ordered", now)
    events: list[Payload] = [moved, *_per_participant(updated, "dropped", dropped)]
    events.append(
        JointPurchaseOrdered(
            purchase_id=purchase.purchase_id,
            supplier=purchase.supplier,
            lines=[
                ConsolidatedLine(sku=s, quantity=q, unit_cost=(o.unit_cost if (o := purchase.offer(s)) else None))
                for s, q in sorted(lines.items())
            ],
            supplier_id=purchase.supplier_id,
            warehouse_id=purchase.warehouse_id,
        )
    )
    return Decision(updated, events)


def advance(purchase: JointPurchase, *, now: datetime, to: PurchaseState | None = None) -> Decision | None:
    """One step along the lifecycle, by the organiser.

    With `to` (the state the organiser means to reach) a repeated request changes nothing: already
    there is no change, a step to anywhere else is refused (a double click never moves two steps).
    """
    if to is not None:
        if purchase.state == to:
            return None
        following = LIFECYCLE[LIFECYCLE.index(purchase.state) + 1] if purchase.state in LIFECYCLE[:-1] else None
        if following != to:
            raise WrongState(f"the purchase is {purchase.state}: the next step is not {to}", "to")
    match purchase.state:
        case "collecting":
            return stop(purchase, now=now)
        case "stopped":
            return open_payment(purchase, now=now)
        case "awaiting_payment":
            return order_from_supplier(purchase, now=now)
        case "ordered" | "received":
            to = LIFECYCLE[LIFECYCLE.index(purchase.state) + 1]
            updated, moved = _moved(purchase, to, now)
            return Decision(updated, [moved])
        case "distributed":
            return close(purchase, now=now)
        case _:
            raise WrongState(f"the purchase is {purchase.state}: nothing follows", "state")


def close(purchase: JointPurchase, *, now: datetime) -> Decision:
    """distributed → closed: the active items of participants who did not collect them (the
    hand-out list's unmarked rows) are offered for resale."""
    _require(purchase, "distributed")
    offers = tuple(
        ResaleOffer(i.item_id, i.sku, i.quantity, p.participant_id, p.currency, i.unit_price)
        for p in purchase.participants
        if not p.released and p.handed_out_at is None
        for i in purchase.items_of(p.participant_id)
        if i.status == "active"
    )
    reason = f"{sum(o.quantity for o in offers)} unclaimed offered for resale" if offers else None
    updated, moved = _moved(replace(purchase, resale=offers), "closed", now, reason)
    return Decision(updated, [moved])


def goods_received(purchase: JointPurchase, *, now: datetime) -> Decision | None:
    """The consolidated purchase order was received in full (catalog's `PurchaseOrderReceived`):
    ordered → received. Later states change nothing (a replay, or the organiser was faster)."""
    if purchase.state in ("received", "distributed", "closed"):
        return None
    _require(purchase, "ordered")
    updated, moved = _moved(purchase, "received", now, "the purchase order was received")
    return Decision(updated, [moved])


def cancel(purchase: JointPurchase, *, now: datetime, reason: str) -> Decision:
    if purchase.state not in CANCELLABLE:
        raise WrongState(f"the purchase is {purchase.state}: it was ordered from the supplier already", "state")
    updated, moved = _moved(purchase, "cancelled", now, reason)
    return Decision(updated, [moved])


def set_transport(purchase: JointPurchase, currency: str, amount: Decimal, *, now: datetime) -> Decision:
    """The transport cost to share among the participants paying in `currency`, once it is known."""
    if purchase.state in ("closed", "cancelled"):
        raise WrongState(f"the purchase is {purchase.state}", "state")
    if currency not in purchase.currencies:
        raise InvalidInput(f"one of {', '.join(purchase.currencies)}", "currency")
    check_amount(amount, currency, "amount")
    return Decision(replace(purchase, transport={**purchase.transport, currency: amount}), [])


# --- news ----------------------------------------------------------------------------------


def checked_news(*, news_id: str, text: str, pinned: bool, expires_at: datetime | None, now: datetime) -> News:
    """A notice as published (a purchase's or the shop's): its text trimmed and not empty, expiring later."""
    text = text.strip()
    if not text:
        raise InvalidInput("must not be empty", "text")
    if expires_at is not None and expires_at <= now:
        raise InvalidInput("must be in the future", "expires_at")
    return News(news_id, text, pinned, now, expires_at)


def publish_news(
    purchase: JointPurchase, *, news_id: str, text: str, pinned: bool, expires_at: datetime | None, now: datetime
) -> Decision:
    news = checked_news(news_id=news_id, text=text, pinned=pinned, expires_at=expires_at, now=now)
    if len(purchase.news) >= MAX_NEWS:
        raise LimitReached(f"at most {MAX_NEWS} news per purchase", "news")
    text = news.text
    receivers = [p for p in purchase.participants if not p.released]
    event = JointPurchaseNewsPublished(
        purchase_id=purchase.purchase_id,
        title=purchase.title,
        news_id=news_id,
        text=text,
        pinned=pinned,
        expires_at=expires_at,
        participant_ids=[p.participant_id for p in receivers],
        partner_ids=sorted({p.partner_id for p in receivers if p.partner_id}),
        recipients=[NewsRecipient(participant_id=p.participant_id, name=p.name, email=p.email) for p in receivers],
    )
    return Decision(replace(purchase, news=(*purchase.news, news)), [event])


def unpin_news(purchase: JointPurchase, news_id: str) -> Decision | None:
    news = next((n for n in purchase.news if n.news_id == news_id), None)
    if news is None:
        raise NotFound(f"no news {news_id}", "news_id")
    if not news.pinned:
        return None
    return Decision(
        replace(purchase, news=tuple(replace(n, pinned=False) if n is news else n for n in purchase.news)), []
    )


def visible_news(purchase: JointPurchase, now: datetime) -> list[News]:
    """Pinned and unexpired first, then the rest; newest first within each."""
    return sorted(purchase.news, key=lambda n: (not n.shown(now), -n.published_at.timestamp()))


# --- accounts ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Account:
    """What one participant owes: goods, the organiser's fee, their transport share, options."""

    participant_id: str
    currency: str
    quantity: int
    goods: Decimal
    fee: Decimal
    transport: Decimal
    options: Decimal
    due: Decimal
    paid: Decimal
    owed: Decimal
    weight_grams: int

    @property
    def payment_status(self) -> str:
        if self.due == 0:
            return "nothing_due" if self.paid == 0 else "overpaid"
        if self.paid == 0:
            return "unpaid"
        if self.paid < self.due:
            return "partly_paid"
        return "paid" if self.paid == self.due else "overpaid"


def accounts(purchase: JointPurchase) -> dict[str, Account]:
    """Every participant's account; transport shared per currency by the purchase's rule."""
    goods: dict[str, Decimal] = {p.participant_id: Decimal(0) for p in purchase.participants}
    weight: dict[str, int] = dict.fromkeys(goods, 0)
    quantity: dict[str, int] = dict.fromkeys(goods, 0)
    for item in purchase.items:
        if item.status in COUNTED:
            goods[item.participant_id] += item.unit_price * item.quantity
            quantity[item.participant_id] += item.quantity
            offer = purchase.offer(item.sku)
            weight[item.participant_id] += (offer.weight_grams if offer else 0) * item.quantity
    shares: dict[str, Decimal] = {}
    for currency in purchase.currencies:
        members = [p for p in purchase.participants if p.currency == currency]
        basis = {
            p.participant_id: goods[p.participant_id]
            if purchase.transport_share == "sum"
            else Decimal(weight[p.participant_id])
            for p in members
        }
        shares.update(allocate(purchase.transport.get(currency, Decimal(0)), basis, currency))
    result: dict[str, Account] = {}
    for p in purchase.participants:
        pid = p.participant_id
        g = goods[pid]
        fee = percent_of(g, purchase.fee_percent, p.currency)
        options = Decimal(0)
        if g > 0:
            for option_id in (p.delivery_option, p.payment_option):
                opt = purchase.option(option_id) if option_id else None
                options += opt.price if opt else Decimal(0)
        due = g + fee + shares.get(pid, Decimal(0)) + options
        result[pid] = Account(
            participant_id=pid,
            currency=p.currency,
            quantity=quantity[pid],
            goods=g,
            fee=fee,
            transport=shares.get(pid, Decimal(0)),
            options=options,
            due=due,
            paid=p.paid,
            owed=max(due - p.paid, Decimal(0)),
            weight_grams=weight[pid],
        )
    return result
