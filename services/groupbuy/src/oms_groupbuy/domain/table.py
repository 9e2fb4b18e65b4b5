"""The organiser's table of a joint purchase, and what a partner may see of it.

A pure read of the one aggregate: one row per participant (name, items, quantity, sums, paid and
owed in the participant's currency, payment status, date added, the partner who brought them),
sorted by any column, filtered, paged by a keyset cursor, exported to CSV; totals per currency and
the fill state of the size rows. Sorting by a money column compares amounts across currencies as
numbers: filter by currency for a meaningful order.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Sequence
from dataclasses import dataclass, fields
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any, Literal

from oms_runtime.paging import decode_cursor, encode_cursor

from oms_groupbuy.domain.errors import InvalidInput
from oms_groupbuy.domain.money import percent_of
from oms_groupbuy.domain.purchase import COUNTED, JointPurchase, Participant, accounts

ViewerKind = Literal["organiser", "agent", "dealer"]
ORGANISER_ROLES = ("admin", "manager")
PARTNER_ROLES = ("agent", "dealer")
MAX_TABLE_PAGE = 200
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class Viewer:
    """Who reads: an organiser sees every participant, a partner only the ones they brought."""

    kind: ViewerKind
    staff_id: str

    @classmethod
    def of(cls, role: str | None, staff_id: str) -> Viewer:
        if role in PARTNER_ROLES:
            return cls(role, staff_id)  # type: ignore[arg-type]
        if role in ORGANISER_ROLES:
            return cls("organiser", staff_id)
        raise InvalidInput(f"no view of joint purchases for role {role}", "role")

    @property
    def is_partner(self) -> bool:
        return self.kind != "organiser"

    def sees(self, participant: Participant) -> bool:
        return not self.is_partner or participant.partner_id == self.staff_id


def visible(purchase: JointPurchase, viewer: Viewer) -> list[Participant]:
    return [p for p in purchase.participants if viewer.sees(p)]


def takes_part(purchase: JointPurchase, viewer: Viewer) -> bool:
    """Whether a partner has anybody in this purchase (else the purchase does not exist for them)."""
    return not viewer.is_partner or any(viewer.sees(p) for p in purchase.participants)


@dataclass(frozen=True)
class TableRow:
    participant_id: str
    name: str
    contact: str | None
    items: str  # "SKUx2, SKUx1" of the counted items
    quantity: int
    currency: str
    goods: Decimal
    fee: Decimal
    transport: Decimal
    options: Decimal
    due: Decimal
    paid: Decimal
    owed: Decimal
    payment_status: str
    status: str  # active | waiting | queued | released | empty
    added_at: datetime
    payment_deadline: datetime | None
    partner_id: str | None
    partner_kind: str | None
    partner_name: str | None
    order_id: str | None = None  # the participant's order in the order service, once asked for


def table(purchase: JointPurchase, viewer: Viewer) -> list[TableRow]:
    acc = accounts(purchase)
    rows: list[TableRow] = []
    for p in visible(purchase, viewer):
        a = acc[p.participant_id]
        mine = purchase.items_of(p.participant_id)
        counts: dict[str, int] = {}
        for i in mine:
            if i.status in COUNTED:
                counts[i.sku] = counts.get(i.sku, 0) + i.quantity
        rows.append(
            TableRow(
                participant_id=p.participant_id,
                name=p.name,
                contact=p.contact,
                items=", ".join(f"{sku}x{q}" for sku, q in counts.items()),
                quantity=a.quantity,
                currency=p.currency,
                goods=a.goods,
                fee=a.fee,
                transport=a.transport,
                options=a.options,
                due=a.due,
                paid=a.paid,
                owed=a.owed,
                payment_status=a.payment_status,
                status=_status(p, {i.status for i in mine}),
                added_at=p.added_at,
                payment_deadline=p.payment_deadline,
                partner_id=p.partner_id,
                partner_kind=p.partner.kind if p.partner else None,
                partner_name=p.partner.name if p.partner else None,
                order_id=p.order_id,
            )
        )
    return rows


def _status(participant: Participant, statuses: set[str]) -> str:
    if participant.released:
        return "released"
    for status in ("active", "waiting", "queued"):
        if status in statuses:
            return status
    return "empty"


# --- sort, filter, page --------------------------------------------------------------------

SortKey = Callable[[TableRow], Any]


def _micros(at: datetime) -> int:
    return (at - _EPOCH) // timedelta(microseconds=1)


# column -> (key of a row, parse of the key from a cursor)
SORTS: dict[str, tuple[SortKey, Callable[[Any], Any]]] = {
    "name": (lambda r: r.name.casefold(), str),
    "items": (lambda r: r.items, str),
    "quantity": (lambda r: r.quantity, int),
    "currency": (lambda r: r.currency, str),
    "goods": (lambda r: r.goods, Decimal),
    "due": (lambda r: r.due, Decimal),
    "paid": (lambda r: r.paid, Decimal),
    "owed": (lambda r: r.owed, Decimal),
    "payment_status": (lambda r: r.payment_status, str),
    "status": (lambda r: r.status, str),
    "added_at": (lambda r: _micros(r.added_at), int),
    "partner": (lambda r: r.partner_name or r.partner_id or "", str),
}


@dataclass(frozen=True)
class TableQuery:
    sort: str = "added_at"
    descending: bool = False
    currency: str | None = None
    payment_status: str | None = None
    status: str | None = None
    partner_id: str | None = None
    search: str | None = None  # in name or contact, case-insensitive

    def __post_init__(self) -> None:
        if self.sort not in SORTS:
            raise InvalidInput(f"one of {', '.join(SORTS)}", "sort")


def select(rows: Sequence[TableRow], q: TableQuery) -> list[TableRow]:
    """The rows the query filters in, in its order (ties by participant id)."""
    needle = q.search.casefold() if q.search else None
    kept = [
        r
        for r in rows
        if (q.currency is None or r.currency == q.currency)
        and (q.payment_status is None or r.payment_status == q.payment_status)
        and (q.status is None or r.status == q.status)
        and (q.partner_id is None or r.partner_id == q.partner_id)
        and (needle is None or needle in r.name.casefold() or needle in (r.contact or "").casefold())
    ]
    key = SORTS[q.sort][0]
    return sorted(kept, key=lambda r: (key(r), r.participant_id), reverse=q.descending)


def page(
    rows: Sequence[TableRow], q: TableQuery, *, cursor: str | None, limit: int
) -> tuple[list[TableRow], str | None]:
    """A page of the selected rows after `cursor` (the keyset of the last row seen)."""
    if not 1 <= limit <= MAX_TABLE_PAGE:
        raise InvalidInput(f"1 to {MAX_TABLE_PAGE}", "limit")
    ordered = select(rows, q)
    key = SORTS[q.sort][0]
    if cursor is not None:
        after = _decode(cursor, q)
        if q.descending:
            ordered = [r for r in ordered if (key(r), r.participant_id) < after]
        else:
            ordered = [r for r in ordered if (key(r), r.participant_id) > after]
    chunk = ordered[:limit]
    more = len(ordered) > limit
    return chunk, (_encode(q, key(chunk[-1]), chunk[-1].participant_id) if more else None)


def _encode(q: TableQuery, key: Any, participant_id: str) -> str:
    return encode_cursor([q.sort, q.descending, str(key), participant_id])


def _decode(cursor: str, q: TableQuery) -> tuple[Any, str]:
    try:
        sort, descending, key, participant_id = decode_cursor(cursor)
        if sort != q.sort or descending != q.descending or not isinstance(participant_id, str):
            raise ValueError("another order")
        return SORTS[q.sort][1](key), participant_id
    except (ValueError, TypeError, InvalidOperation) as exc:
        raise InvalidInput("not a cursor of this table in this order", "cursor") from exc


# --- totals, rows, CSV ---------------------------------------------------------------------


@dataclass(frozen=True)
class Totals:
    currency: str
    participants: int
    quantity: int
    goods: Decimal
    fee: Decimal
    transport: Decimal
    options: Decimal
    due: Decimal
    paid: Decimal
    owed: Decimal


def totals(rows: Sequence[TableRow], currencies: Sequence[str]) -> list[Totals]:
    result = []
    for cur in currencies:
        mine = [r for r in rows if r.currency == cur]
        zero = Decimal(0)
        result.append(
            Totals(
                currency=cur,
                participants=len(mine),
                quantity=sum(r.quantity for r in mine),
                goods=sum((r.goods for r in mine), zero),
                fee=sum((r.fee for r in mine), zero),
                transport=sum((r.transport for r in mine), zero),
                options=sum((r.options for r in mine), zero),
                due=sum((r.due for r in mine), zero),
                paid=sum((r.paid for r in mine), zero),
                owed=sum((r.owed for r in mine), zero),
            )
        )
    return result


@dataclass(frozen=True)
class RowFill:
    spec_id: str
    name: str
    number: int
    positions: int
    taken: int
    filled: bool
    free: list[str]  # SKUs of the free positions


def fill_state(purchase: JointPurchase, viewer: Viewer) -> list[RowFill]:
    """Each size row's fill; positions are SKUs, never who took them (a partner sees counts only)."""
    specs = {s.spec_id: s for s in purchase.row_specs}
    result = []
    for row in sorted(purchase.rows, key=lambda r: (r.spec_id, r.number)):
        spec = specs[row.spec_id]
        result.append(
            RowFill(
                spec_id=row.spec_id,
                name=spec.name,
                number=row.number,
                positions=len(row.slots),
                taken=row.taken,
                filled=row.filled,
                free=[spec.positions[i] for i, s in enumerate(row.slots) if s is None],
            )
        )
    return result


CSV_COLUMNS = [f.name for f in fields(TableRow)]


def to_csv(rows: Sequence[TableRow]) -> str:
    """The table as CSV (RFC 4180, header row); amounts as plain decimals, times in ISO 8601.

    A cell that a spreadsheet would run as a formula (=, +, -, @ first) is prefixed with a quote.
    """
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for r in rows:
        writer.writerow([_cell(getattr(r, c)) for c in CSV_COLUMNS])
    return out.getvalue()


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.isoformat()
    text = str(value)
    if not isinstance(value, Decimal | int) and text[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + text
    return text


# --- partners' earnings --------------------------------------------------------------------


@dataclass(frozen=True)
class Earning:
    """An agent's commission in one purchase and currency: accrued on fully paid participants."""

    partner_id: str
    currency: str
    participants: int
    paid_participants: int
    paid_goods: Decimal
    commission: Decimal
    status: str  # accrued | payable | void


@dataclass(frozen=True)
class EarningsTotal:
    currency: str
    paid_goods: Decimal
    accrued: Decimal  # not payable yet (the purchase is not distributed)
    payable: Decimal
    void: Decimal  # cancelled purchases


def earnings_totals(rows: Sequence[Earning]) -> list[EarningsTotal]:
    """Per currency, over many purchases: what is accrued, payable, void."""
    result: dict[str, EarningsTotal] = {}
    for e in rows:
        t = result.get(e.currency) or EarningsTotal(e.currency, Decimal(0), Decimal(0), Decimal(0), Decimal(0))
        result[e.currency] = EarningsTotal(
            e.currency,
            t.paid_goods + e.paid_goods,
            t.accrued + (e.commission if e.status == "accrued" else 0),
            t.payable + (e.commission if e.status == "payable" else 0),
            t.void + (e.commission if e.status == "void" else 0),
        )
    return [result[c] for c in sorted(result)]


def earnings(purchase: JointPurchase, partner_id: str) -> list[Earning]:
    acc = accounts(purchase)
    if purchase.state == "cancelled":
        status = "void"
    elif purchase.state in ("distributed", "closed"):
        status = "payable"
    else:
        status = "accrued"
    result = []
    for cur in purchase.currencies:
        mine = [
            p
            for p in purchase.participants
            if p.currency == cur and p.partner is not None and p.partner.partner_id == partner_id
        ]
        if not mine:
            continue
        paid = [p for p in mine if acc[p.participant_id].due > 0 and acc[p.participant_id].owed == 0]
        commission = sum(
            (
                percent_of(acc[p.participant_id].goods, p.partner.percent, cur)
                for p in paid
                if p.partner is not None and p.partner.kind == "agent"
            ),
            Decimal(0),
        )
        result.append(
            Earning(
                partner_id=partner_id,
                currency=cur,
                participants=len(mine),
                paid_participants=len(paid),
                paid_goods=sum((acc[p.participant_id].goods for p in paid), Decimal(0)),
                commission=commission,
                status=status,
            )
        )
    return result
