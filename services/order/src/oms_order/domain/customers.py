"""Customer records (CRM) of a shop: built from its orders, matched by normalised phone and email,
edited by managers, merged when one person has two records.

Pure: phone numbers are normalised with Google's libphonenumber (the `phonenumbers` package) to
E.164, so "8 (999) 000-11-22" and "+7 999 000 1122" are one key.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from functools import lru_cache

import phonenumbers
from oms_contracts import Money
from oms_contracts.messages.common import Address
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from oms_order.domain.pricing import FieldError, InvalidOrder

MAX_CONTACTS = 10
MAX_ADDRESSES = 10
MAX_TAGS = 30
DEFAULT_REGION = "RU"  # how a number without a country code is read (the shops are Russian first)


class CustomerConflict(ValueError):
    """A merge or an edit that cannot be (merging a record into itself, into a merged one)."""


def normalise_email(email: str) -> str:
    return email.strip().lower()


# Phones whose normal form is remembered: one order's phone is normalised by its placement, by the
# customer records' consumer and by the record itself (libphonenumber's parse, ~20 µs each).
PHONES_REMEMBERED = 4096


@lru_cache(maxsize=PHONES_REMEMBERED)
def normalise_phone(raw: str | None, region: str = DEFAULT_REGION) -> str | None:
    """E.164 ("+79990001122"), or None when it is not a possible phone number."""
    if not raw or not raw.strip():
        return None
    try:
        parsed = phonenumbers.parse(raw, region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_possible_number(parsed):
        return None
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def contact_keys(email: str | None, phone: str | None) -> list[str]:
    """The keys a person is matched by: `email:<normalised>`, `phone:<E.164>`."""
    keys = [f"email:{normalise_email(email)}"] if email else []
    normal = normalise_phone(phone)
    if normal:
        keys.append(f"phone:{normal}")
    return keys


def _add(items: list[str], item: str | None, limit: int) -> list[str]:
    if item is None or item in items:
        return items
    return [*items, item][-limit:]


class CustomerRecord(BaseModel):
    model_config = ConfigDict(extra="ignore")

    customer_id: str
    shop_id: str
    name: str
    emails: list[str] = Field(default_factory=list)
    phones: list[str] = Field(default_factory=list, description="E.164")
    addresses: list[Address] = Field(default_factory=list)
    group: str = "retail"
    tags: list[str] = Field(default_factory=list)
    notes: str | None = None
    marketing_consent: bool = False
    orders: int = 0
    lifetime_value: dict[str, Decimal] = Field(default_factory=dict, description="Per currency")
    first_order_at: AwareDatetime | None = None
    last_order_at: AwareDatetime | None = None
    merged_into: str | None = None
    created_at: AwareDatetime
    # Personal data erased on request (domain/erasure.py): the record keeps its counts and totals only.
    erased_at: AwareDatetime | None = None

    def keys(self) -> list[str]:
        return [f"email:{e}" for e in self.emails] + [f"phone:{p}" for p in self.phones]

    def search_terms(self) -> list[str]:
        """What search matches by prefix: words of the name, emails, phones (with and without '+');
        nothing for an erased record (it can no longer be found)."""
        if self.erased_at is not None:
            return []
        words = [w.casefold() for w in self.name.split() if w]
        return sorted({*words, *self.emails, *self.phones, *(p.lstrip("+") for p in self.phones)})

    def lifetime(self) -> list[Money]:
        return [Money(amount=v, currency=c) for c, v in sorted(self.lifetime_value.items())]


def new_record(customer_id: str, shop_id: str, name: str, at: datetime) -> CustomerRecord:
    return CustomerRecord(customer_id=customer_id, shop_id=shop_id, name=name, created_at=at)


def record_order(
    record: CustomerRecord,
    *,
    name: str,
    email: str,
    phone: str | None,
    address: Address | None,
    group: str,
    total: Money,
    at: datetime,
) -> CustomerRecord:
    """One more order of this customer: contacts and address kept (bounded), totals counted."""
    new = record.model_copy(deep=True)
    new.emails = _add(new.emails, normalise_email(email), MAX_CONTACTS)
    new.phones = _add(new.phones, normalise_phone(phone), MAX_CONTACTS)
    if address is not None and address not in new.addresses:
        new.addresses = [*new.addresses, address][-MAX_ADDRESSES:]
    if new.orders == 0:
        new.name, new.group = name, group
    new.orders += 1
    new.lifetime_value[total.currency] = new.lifetime_value.get(total.currency, Decimal(0)) + total.amount
    new.first_order_at = min(new.first_order_at, at) if new.first_order_at else at
    new.last_order_at = max(new.last_order_at, at) if new.last_order_at else at
    return new


class CustomerEdit(BaseModel):
    """What a manager may change (each field optional: absent is unchanged)."""

    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(default=None, min_length=1, max_length=200)
    emails: list[str] | None = Field(default=None, max_length=MAX_CONTACTS)
    phones: list[str] | None = Field(default=None, max_length=MAX_CONTACTS)
    addresses: list[Address] | None = Field(default=None, max_length=MAX_ADDRESSES)
    group: str | None = Field(default=None, min_length=1, max_length=40)
    tags: list[str] | None = Field(default=None, max_length=MAX_TAGS)
    notes: str | None = Field(default=None, max_length=5000)
    marketing_consent: bool | None = None


def edit(record: CustomerRecord, change: CustomerEdit) -> CustomerRecord:
    """Apply a manager's edit; phone numbers are normalised (an impossible one is refused)."""
    if record.erased_at is not None:
        raise CustomerConflict(f"customer {record.customer_id} was erased")
    if record.merged_into is not None:
        raise CustomerConflict(f"customer {record.customer_id} was merged into {record.merged_into}")
    new = record.model_copy(deep=True)
    fields = change.model_dump(exclude_unset=True)
    if "phones" in fields and change.phones is not None:
        phones: list[str] = []
        for raw in change.phones:
            normal = normalise_phone(raw)
            if normal is None:
                raise InvalidOrder([FieldError("phones", f"{raw!r} is not a phone number")])
            phones = _add(phones, normal, MAX_CONTACTS)
        new.phones = phones
    if "emails" in fields and change.emails is not None:
        new.emails = [normalise_email(e) for e in dict.fromkeys(change.emails)]
    for name in ("name", "addresses", "group", "tags", "notes", "marketing_consent"):
        if name in fields:
            setattr(new, name, getattr(change, name))
    return new


def merge(into: CustomerRecord, other: CustomerRecord) -> CustomerRecord:
    """`into` takes `other`'s contacts, addresses, tags and totals (its own fields win)."""
    if into.customer_id == other.customer_id:
        raise CustomerConflict("a customer cannot be merged into itself")
    if into.erased_at is not None or other.erased_at is not None:
        raise CustomerConflict("an erased customer cannot be merged")
    if into.merged_into is not None:
        raise CustomerConflict(f"customer {into.customer_id} was merged into {into.merged_into}")
    new = into.model_copy(deep=True)
    for e in other.emails:
        new.emails = _add(new.emails, e, MAX_CONTACTS * 2)
    for p in other.phones:
        new.phones = _add(new.phones, p, MAX_CONTACTS * 2)
    for a in other.addresses:
        if a not in new.addresses:
            new.addresses = [*new.addresses, a][-MAX_ADDRESSES:]
    new.tags = list(dict.fromkeys([*new.tags, *other.tags]))[:MAX_TAGS]
    new.marketing_consent = new.marketing_consent and other.marketing_consent
    if other.notes:
        new.notes = f"{new.notes}\n{other.notes}" if new.notes else other.notes
    new.orders += other.orders
    for currency, amount in other.lifetime_value.items():
        new.lifetime_value[currency] = new.lifetime_value.get(currency, Decimal(0)) + amount
    firsts = [t for t in (new.first_order_at, other.first_order_at) if t]
    lasts = [t for t in (new.last_order_at, other.last_order_at) if t]
    new.first_order_at = min(firsts) if firsts else None
    new.last_order_at = max(lasts) if lasts else None
    return new


def merged(other: CustomerRecord, into: str) -> CustomerRecord:
    if other.merged_into is not None and other.merged_into != into:
        raise CustomerConflict(f"customer {other.customer_id} was merged into {other.merged_into}")
    new = other.model_copy(deep=True)
    new.merged_into = into
    return new
