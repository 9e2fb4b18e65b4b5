"""The operations team's order list: the row kept per order, text-search terms, sort keys and cursors.

Pure: the row is built from the stored order document (a plain dict, read defensively because the
order gains fields while it evolves), and everything here is unit-tested without I/O.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any, Literal

from oms_contracts.money import minor_units
from oms_runtime.paging import decode_cursor, encode_cursor

CustomerKind = Literal["first", "repeat"]
FINAL_STAGES_FALLBACK = frozenset({"completed", "cancelled", "out_of_stock", "returned"})
MAX_TERMS = 24


class SortField(StrEnum):
    PLACED_AT = "placed_at"
    CUSTOMER_NAME = "customer_name"
    ITEM_COUNT = "item_count"
    TOTAL = "total"
    PAYMENT_STATUS = "payment_status"


# The stored field each sort reads; every one is never null in a row, so keyset comparisons hold.
SORT_COLUMN: dict[SortField, str] = {
    SortField.PLACED_AT: "placed_at",
    SortField.CUSTOMER_NAME: "name_key",
    SortField.ITEM_COUNT: "item_count",
    SortField.TOTAL: "total_minor",
    SortField.PAYMENT_STATUS: "payment_status",
}


class GroupBy(StrEnum):
    DATE = "date"
    STAGE = "stage"
    DELIVERY_METHOD = "delivery_method"
    REGION = "region"
    CUSTOMER_KIND = "customer_kind"
    CLOSING_DATE = "closing_date"
    CHANNEL = "channel"
    CURRENCY = "currency"
    CANCEL_REASON = "cancel_reason"


# The row field (or day of a date field) each grouping uses.
GROUP_COLUMN: dict[GroupBy, str] = {
    GroupBy.DATE: "placed_at",
    GroupBy.STAGE: "stage",
    GroupBy.DELIVERY_METHOD: "delivery_type",
    GroupBy.REGION: "region",
    GroupBy.CUSTOMER_KIND: "customer_kind",
    GroupBy.CLOSING_DATE: "closed_at",
    GroupBy.CHANNEL: "channel",
    GroupBy.CURRENCY: "currency",
    GroupBy.CANCEL_REASON: "cancel_reason",
}


def fold(text: str) -> str:
    """Lower case without accents or extra spaces: 'Ёлка  Müller' -> 'елка muller'."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    plain = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(plain.split())


def digits(text: str | None) -> str:
    return re.sub(r"\D", "", text or "")


def search_terms(*, name: str, email: str, phone: str | None, number: int | None) -> list[str]:
    """Tokens a text query matches by prefix: name words and the whole name, email and its local
    part, phone digits (also without a country prefix: the last 10), the order number."""
    terms: list[str] = []
    folded = fold(name)
    if folded:
        terms.append(folded)
        terms += folded.split(" ")
    mail = email.strip().lower()
    if mail:
        terms += [mail, mail.split("@", 1)[0]]
    phone_digits = digits(phone)
    if phone_digits:
        terms += [phone_digits, phone_digits[-10:]]
    if number is not None:
        terms.append(str(number))
    unique = list(dict.fromkeys(t for t in terms if t))
    return unique[:MAX_TERMS]


def query_words(text: str) -> list[str]:
    """What a search box's text is split into; each word must prefix-match some term of the row.
    A query that looks like a phone number ('+7 (999) 12') is one word of its digits."""
    stripped = text.strip()
    if stripped and re.fullmatch(r"[\d\s()+\-.]+", stripped) and len(digits(stripped)) >= 5:
        return [digits(stripped)]
    if "@" in stripped:
        return [stripped.lower()]
    return [w for w in fold(stripped).split(" ") if w][:5]


def minor_amount(amount: Decimal | str, currency: str) -> int:
    """A money amount as an integer of the currency's minor unit (sortable, exact)."""
    return int((Decimal(amount) * (10 ** minor_units(currency))).to_integral_value())


def _get(doc: dict[str, Any], *path: str, default: Any = None) -> Any:
    value: Any = doc
    for key in path:
        if not isinstance(value, dict):
            return default
        value = value.get(key)
    return default if value is None else value


def list_row(
    doc: dict[str, Any],
    *,
    status: str | None = None,
    final: bool | None = None,
) -> dict[str, Any]:
    """The list row of one stored order document (without `_id`/`shop_id` handling by the caller).

    `status`/`final` come from the order's pipeline when the caller could resolve it; otherwise the
    document's own fields or the default final stages decide.
    """
    stage = str(_get(doc, "stage", default=""))
    is_final = final if final is not None else bool(doc.get("final", stage in FINAL_STAGES_FALLBACK))
    customer = _get(doc, "customer", default={})
    name = str(customer.get("name") or "")
    email = str(customer.get("email") or "")
    phone = customer.get("phone")
    grand_total = _get(doc, "totals", "grand_total", default={}) or {}
    currency = str(grand_total.get("currency") or "XXX")
    amount = str(grand_total.get("amount") or "0")
    lines = doc.get("lines") or []
    problem = doc.get("problem")
    number = doc.get("number")
    return {
        "number": number,
        "stage": stage,
        "status": str(status or doc.get("status") or stage),
        "payment_status": str(doc.get("payment_status") or _get(doc, "payment", "status", default="unpaid")),
        "placed_at": doc.get("placed_at"),
        "closed_at": doc.get("stage_entered_at") if is_final else None,
        # Time in stage against its limit, for the console's stage board.
        "stage_entered_at": doc.get("stage_entered_at"),
        "stage_deadline": doc.get("stage_deadline"),
        "delivery_type": doc.get("delivery_type"),
        "payment_method": doc.get("payment_method"),
        "region": _get(doc, "address", "region"),
        "channel": doc.get("channel"),
        # Why it was cancelled (a manager's words, "reservation expired", …): the analytics group by it.
        "cancel_reason": doc.get("cancel_reason"),
        "customer_kind": doc.get("customer_kind"),
        "manager_id": doc.get("manager_id"),
        "problem": bool(problem),
        "customer_name": name,
        "name_key": fold(name),
        "email": email.lower(),
        "phone": phone,
        "terms": search_terms(name=name, email=email, phone=phone, number=number),
        "item_count": sum(int(line.get("quantity", 0)) for line in lines if isinstance(line, dict)),
        "total_amount": amount,
        "total_minor": minor_amount(amount, currency),
        "currency": currency,
        "version": int(doc.get("version", 0)),
    }


@dataclass(frozen=True)
class ListRow:
    """An order as the list shows it: the stored row (a read model of the order), read back."""

    order_id: str
    number: int | None
    stage: str | None
    status: str | None
    payment_status: str | None
    placed_at: datetime | None
    closed_at: datetime | None
    # Time in stage against its limit (the console's stage board); absent on rows of older code.
    stage_entered_at: datetime | None
    stage_deadline: datetime | None
    delivery_type: str | None
    payment_method: str | None
    region: str | None
    channel: str | None
    customer_kind: CustomerKind | None
    manager_id: str | None
    problem: bool
    customer_name: str | None
    email: str | None
    phone: str | None
    item_count: int | None
    total_amount: str | None
    total_minor: int | None
    currency: str | None
    name_key: str | None
    version: int | None

    def sort_value(self, field: SortField) -> Any:
        """The row's value of the column a sort reads (what a cursor remembers)."""
        return getattr(self, SORT_COLUMN[field])


# ---- cursors --------------------------------------------------------------------------------


class BadCursor(ValueError):
    pass


@dataclass(frozen=True)
class Cursor:
    """Where a page ends: the sort it belongs to, the last row's sort value and its order id."""

    sort: SortField
    descending: bool
    value: Any
    order_id: str

    def encode(self) -> str:
        value = self.value
        kind = "s"
        if isinstance(value, datetime):
            value, kind = value.isoformat(), "t"
        elif isinstance(value, int):
            kind = "i"
        return encode_cursor([self.sort.value, int(self.descending), kind, value, self.order_id])

    @classmethod
    def decode(cls, token: str, *, sort: SortField, descending: bool) -> Cursor:
        try:
            sort_name, desc, kind, value, order_id = decode_cursor(token)
            if kind == "t":
                value = datetime.fromisoformat(value)
                if value.tzinfo is None:
                    raise ValueError("naive time")
            elif kind == "i":
                value = int(value)
            elif kind != "s" or not isinstance(value, str):
                raise ValueError("bad value")
            if not isinstance(order_id, str):
                raise ValueError("bad id")
            cursor = cls(SortField(sort_name), bool(desc), value, order_id)
        except (ValueError, TypeError) as exc:
            raise BadCursor("not a cursor of this list") from exc
        if cursor.sort != sort or cursor.descending != descending:
            raise BadCursor("the cursor belongs to another sort order")
        return cursor
