"""Erasing a customer's personal data from the pure Order and CustomerRecord: personal fields and texts
go (the customer's own audit entries included), money and goods stay, and a second erasure changes nothing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from oms_contracts import Actor
from oms_contracts.messages.common import DeliveryWishes
from oms_order.domain import edits
from oms_order.domain import order as domain
from oms_order.domain.customers import CustomerRecord, new_record, record_order
from oms_order.domain.erasure import ERASED, ERASED_ACTION, erase_order, erase_record, erased_archive_entry
from oms_order.domain.order import Acting, Feedback
from oms_order.domain.pipeline import STORE_PIPELINE

from .builders import placed_order

T0 = datetime(2026, 4, 1, 9, tzinfo=UTC)
ADMIN = Actor(kind="staff", id="a-1", role="admin", name="Admin")
CUSTOMER = Actor(kind="customer", id="ann@example.com", name="Ann")


def at(minutes: float, actor: Actor = ADMIN, channel: str = "console") -> Acting:
    return Acting(at=T0 + timedelta(minutes=minutes), actor=actor, channel=channel)


def test_an_erased_order_keeps_money_and_goods_and_loses_every_personal_field_once() -> None:
    order = placed_order(STORE_PIPELINE, "courier", "card", at(0, Actor(kind="storefront", id="web"), "web"))
    order = order.model_copy(
        update={"notes": "call Zelda at 8", "customer": order.customer.model_copy(update={"phone": "+7 916 000"})}
    )
    order = edits.add_note(order, "Zelda is rude", at(1)).order
    order = edits.set_wishes(order, DeliveryWishes(comment="leave at Zelda's door"), at(2)).order
    order = domain.cancel(
        order, "cancelled by the customer: Zelda found it cheaper", at(3, CUSTOMER, "order-link")
    ).order
    order.feedback = Feedback(rating=2, comment="Zelda hated it", at=T0)

    erased = erase_order(order, "cus-1", at(10)).order
    assert erased.customer.name == ERASED and erased.customer.phone is None
    assert erased.customer.email.endswith("@erased.example") and erased.customer.locale == order.customer.locale
    assert erased.address is not None and erased.address.line1 == ERASED and erased.address.country == "DE"
    assert (erased.totals, erased.lines, erased.payment) == (order.totals, order.lines, order.payment)
    assert erased.notes is None and erased.wishes is not None and erased.wishes.comment is None
    assert erased.feedback is not None and (erased.feedback.rating, erased.feedback.comment) == (2, None)
    assert erased.cancel_reason == "cancelled by the customer"
    assert "zelda" not in erased.model_dump_json().lower() and "ann@" not in erased.model_dump_json()
    last = erased.audit[-1]
    assert (last.action, last.actor, last.at, last.changes) == (
        ERASED_ACTION,
        ADMIN,
        T0 + timedelta(minutes=10),
        {"customer_id": "cus-1"},
    )
    cancelled = next(e for e in erased.audit if e.action == "cancelled")
    assert cancelled.actor.id == "erased" and cancelled.actor.name is None

    again = erase_order(erased, "cus-1", at(20))
    assert not again.changed and again.order.audit == erased.audit


def test_an_archived_entry_is_erased_like_the_ones_in_the_document() -> None:
    entry = {
        "at": T0,
        "actor": CUSTOMER.model_dump(),
        "channel": "order-link",
        "action": "cancelled",
        "changes": {"reason": "Ann moved", "stage": {"from": "new", "to": "cancelled"}},
    }
    erased = erased_archive_entry(entry)
    assert erased["actor"]["id"] == "erased" and erased["changes"]["reason"] == ERASED
    assert erased["changes"]["stage"] == {"from": "new", "to": "cancelled"}
    staff = {**entry, "actor": ADMIN.model_dump(), "action": "placed", "changes": {"stage": "new"}}
    assert (
        erased_archive_entry(staff)["changes"] == {"stage": "new"}
        and erased_archive_entry(staff)["actor"]["id"] == "a-1"
    )


def test_an_erased_record_keeps_its_counts_and_is_found_by_nothing() -> None:
    record: CustomerRecord = new_record("cus-1", "shop-1", "Ann", T0)
    record = record_order(
        record,
        name="Ann Lee",
        email="Ann@Example.com",
        phone="+7 916 555-44-33",
        address=None,
        group="dealer",
        total=placed_order(STORE_PIPELINE, "pickup", "card", at(0)).totals.grand_total,
        at=T0,
    )
    record = record.model_copy(update={"notes": "VIP", "tags": ["vip"], "marketing_consent": True})
    assert record.search_terms()
    erased = erase_record(record, T0)
    assert erased.search_terms() == [] and erased.keys() == []
    assert (erased.name, erased.notes, erased.tags, erased.marketing_consent) == (ERASED, None, [], False)
    assert (erased.orders, erased.lifetime_value, erased.group) == (1, record.lifetime_value, "dealer")
    assert erase_record(erased, T0 + timedelta(days=1)) == erased
