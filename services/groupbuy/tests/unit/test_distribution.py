"""Distribution at a pickup point: the hand-out list and marking goods collected."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from oms_contracts import Money
from oms_groupbuy.domain import distribution
from oms_groupbuy.domain import purchase as gb
from oms_groupbuy.domain.errors import InvalidInput, NotFound, WrongState
from oms_groupbuy.domain.purchase import JointPurchase, accounts

from .builders import NOW, claim, join, opened

LATER = NOW + timedelta(days=5)


def received() -> JointPurchase:
    """Ann (two scarves) and Bob (one) paid, the goods received; Cat backed out before paying."""
    p = opened()
    for pid, qty in (("ann", 2), ("bob", 1), ("cat", 1)):
        p = join(p, pid)
        p = claim(p, pid, ("SCARF", qty)).purchase
    p = gb.stop(p, now=NOW).purchase
    p = gb.open_payment(p, now=NOW).purchase
    p = gb.release_participant(p, "cat", now=NOW).purchase
    for pid, account in accounts(p).items():
        if account.owed > 0:
            p = gb.record_payment(p, pid, Money.of(account.owed, "RUB"), f"cash-{pid}", now=NOW).purchase  # type: ignore[union-attr]
    p = gb.order_from_supplier(p, now=NOW).purchase
    return gb.goods_received(p, now=NOW).purchase  # type: ignore[union-attr]


def test_the_list_names_each_participant_with_goods_what_they_collect_and_paid() -> None:
    p = received()
    rows = distribution.hand_out_list(p)
    assert [(r.name, [(x.sku, x.quantity) for x in r.lines], r.owed, r.handed_out) for r in rows] == [
        ("Participant ann", [("SCARF", 2)], 0, False),
        ("Participant bob", [("SCARF", 1)], 0, False),
    ]
    assert rows[0].paid == accounts(p)["ann"].paid > 0  # cat (released) is not on the list


def test_marking_is_once_and_the_last_collection_distributes_the_purchase() -> None:
    p = received()
    first = distribution.hand_out(p, "ann", now=LATER)
    assert first is not None and first.purchase.state == "received"
    [event] = first.events
    assert event.participant_id == "ann" and [(x.sku, x.quantity) for x in event.lines] == [("SCARF", 2)]  # type: ignore[attr-defined]
    p = first.purchase
    assert distribution.hand_out(p, "ann", now=LATER) is None  # again: nothing changes
    assert [r.name for r in distribution.hand_out_list(p, handed_out=False)] == ["Participant bob"]
    last = distribution.hand_out(p, "bob", now=LATER)
    assert last is not None and last.purchase.state == "distributed"
    assert [e.TYPE for e in last.events] == ["JointPurchaseHandedOut", "JointPurchaseStateChanged"]  # type: ignore[attr-defined]
    assert all(r.handed_out_at == LATER for r in distribution.hand_out_list(last.purchase))


def test_only_received_goods_of_a_participant_on_the_list_are_handed_out() -> None:
    p = received()
    with pytest.raises(InvalidInput) as released:
        distribution.hand_out(p, "cat", now=LATER)
    assert released.value.field == "participant_id"
    with pytest.raises(NotFound):
        distribution.hand_out(p, "nobody", now=LATER)
    with pytest.raises(WrongState):
        distribution.hand_out(opened(), "ann", now=LATER)


def test_at_the_close_what_nobody_collected_is_offered_then_sold_or_returned() -> None:
    p = distribution.hand_out(received(), "ann", now=LATER).purchase  # type: ignore[union-attr]
    p = gb.advance(p, now=LATER, to="distributed").purchase  # type: ignore[union-attr]  # Bob never came
    closed = gb.advance(p, now=LATER, to="closed")
    assert closed is not None and closed.purchase.state == "closed"
    assert closed.events[0].reason == "1 unclaimed offered for resale"  # type: ignore[attr-defined]
    [offer] = closed.purchase.resale
    assert (offer.sku, offer.quantity, offer.from_participant_id, offer.status) == ("SCARF", 1, "bob", "offered")
    assert offer.price == Decimal("333.33") and offer.currency == "RUB"

    sold = distribution.sell(
        closed.purchase, offer.item_id, buyer_name=" Zoe ", buyer_contact=None, price=None, now=LATER
    ).purchase
    assert (sold.resale[0].status, sold.resale[0].buyer_name, sold.resale[0].sold_price) == (
        "sold",
        "Zoe",
        Decimal("333.33"),
    )
    assert accounts(sold) == accounts(closed.purchase)  # beside the accounts: nobody's due moves
    with pytest.raises(WrongState):  # decided once
        distribution.return_to_stock(sold, offer.item_id, now=LATER)
    returned = distribution.return_to_stock(closed.purchase, offer.item_id, now=LATER).purchase
    assert returned.resale[0].status == "returned"
    for bad, field in (
        ({"buyer_name": "  ", "price": None}, "name"),
        ({"buyer_name": "Zoe", "price": Money.of("100", "UAH")}, "price"),
        ({"buyer_name": "Zoe", "price": Money.of("1.001", "RUB")}, "price"),
    ):
        with pytest.raises(InvalidInput) as refused:
            distribution.sell(closed.purchase, offer.item_id, buyer_contact=None, now=LATER, **bad)  # type: ignore[arg-type]
        assert refused.value.field == field
    with pytest.raises(NotFound):
        distribution.sell(closed.purchase, "nope", buyer_name="Zoe", buyer_contact=None, price=None, now=LATER)
    with pytest.raises(WrongState):  # before the close nothing is for resale
        distribution.sell(p, offer.item_id, buyer_name="Zoe", buyer_contact=None, price=None, now=LATER)


def test_a_close_after_everybody_collected_offers_nothing() -> None:
    p = received()
    for pid in ("ann", "bob"):
        p = distribution.hand_out(p, pid, now=LATER).purchase  # type: ignore[union-attr]
    closed = gb.advance(p, now=LATER, to="closed")
    assert closed is not None and closed.purchase.resale == () and closed.events[0].reason is None  # type: ignore[attr-defined]
