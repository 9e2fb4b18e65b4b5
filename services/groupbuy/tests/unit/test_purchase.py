"""The joint purchase: opening, size rows, the lifecycle, the waiting queue, money."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st
from oms_contracts import Money
from oms_contracts.messages.groupbuy import (
    JointPurchaseItemsChanged,
    JointPurchaseNewsPublished,
    JointPurchaseOpened,
    JointPurchaseOrdered,
    JointPurchasePaymentRecorded,
    JointPurchaseStateChanged,
)
from oms_groupbuy.domain import purchase as gb
from oms_groupbuy.domain.errors import InvalidInput, LimitReached, MinimumNotReached, NotAllPaid, NotFound, WrongState
from oms_groupbuy.domain.money import allocate
from oms_groupbuy.domain.purchase import Offer, PartnerRef, RowSpec

from .builders import NOW, OFFERS, D, claim, join, opened

AGENT = PartnerRef("agent-1", "agent", D("10"), "Olga")
DEALER = PartnerRef("dealer-1", "dealer", D("12.5"), "Dealer Dan")


def statuses(p: gb.JointPurchase, pid: str) -> list[str]:
    return [i.status for i in p.items_of(pid)]


# --- opening ---------------------------------------------------------------------------------


def test_open_announces_the_purchase() -> None:
    d = gb.open_purchase(
        purchase_id="jp-1",
        shop_id="s",
        title="  Dresses ",
        supplier=None,
        closes_at=NOW + timedelta(days=1),
        currencies=["RUB"],
        offers=[Offer("A", "A", {"RUB": D("1.00")})],
        now=NOW,
    )
    assert d.purchase.title == "Dresses" and d.purchase.state == "collecting"
    assert d.events == [
        JointPurchaseOpened(purchase_id="jp-1", title="Dresses", currencies=["RUB"], closes_at=NOW + timedelta(days=1))
    ]


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"title": " "}, "title"),
        ({"closes_at": NOW}, "closes_at"),
        ({"currencies": []}, "currencies"),
        ({"currencies": ["RUB", "RUB"]}, "currencies"),
        ({"offers": [Offer("A", "A", {"RUB": D("1.00")})]}, "offers[0].prices"),
        ({"offers": [Offer("A", "A", {"RUB": D("1.001"), "UAH": D("1")})]}, "offers[0].prices.RUB"),
        ({"offers": [*OFFERS, OFFERS[0]]}, "offers"),
        ({"row_specs": [RowSpec("r", "r", ("DRESS-S",))]}, "rows[0].positions"),
        ({"row_specs": [RowSpec("r", "r", ("DRESS-S", "NOPE"))]}, "rows[0].positions"),
        ({"row_specs": [RowSpec("r", "r", ("DRESS-S", "HAT"))]}, "offers[4].min_quantity"),
        ({"fee_percent": D("101")}, "fee_percent"),
        ({"fee_percent": D("1.005")}, "fee_percent"),
        ({"minimum_totals": {"EUR": D("1")}}, "minimum_totals"),
        ({"payment_days": 0}, "payment_days"),
        ({"options": [gb.Option("x", "delivery", "EUR", "X", D("1"))]}, "options[0].currency"),
        ({"options": [gb.Option("x", "delivery", "RUB", "X", D("-1"))]}, "options[0].price"),
    ],
)
def test_open_refuses_what_breaks_a_rule_and_names_the_field(overrides: dict[str, object], field: str) -> None:
    with pytest.raises(InvalidInput) as err:
        opened(**overrides)
    assert err.value.field == field


# --- participants and rows -------------------------------------------------------------------


def test_a_row_item_waits_until_the_next_participants_complete_the_row() -> None:
    p = join(join(join(opened(), "ann"), "bob"), "cat")
    d = claim(p, "ann", ("DRESS-M", 1), ("SCARF", 2))
    p = d.purchase
    assert statuses(p, "ann") == ["waiting", "active"]
    assert [(r.number, r.taken, r.filled) for r in p.rows] == [(1, 1, False)]
    p = claim(p, "bob", ("DRESS-S", 1)).purchase
    assert statuses(p, "ann")[0] == "waiting" and statuses(p, "bob") == ["waiting"]
    d = claim(p, "cat", ("DRESS-L", 1))
    p = d.purchase
    # The last free position completes the row: everybody's item in it becomes active.
    assert statuses(p, "ann")[0] == "active" and statuses(p, "bob") == ["active"] and statuses(p, "cat") == ["active"]
    assert [(r.number, r.filled) for r in p.rows] == [(1, True)]
    changes = [(e.participant_id, e.change) for e in d.events if isinstance(e, JointPurchaseItemsChanged)]
    assert changes == [("cat", "added"), ("ann", "row_filled"), ("bob", "row_filled")]


def test_a_taken_position_opens_the_next_row_and_quantities_split_into_units() -> None:
    p = join(join(opened(), "ann"), "bob")
    p = claim(p, "ann", ("DRESS-M", 2)).purchase  # two M: row 1 and row 2
    assert [(i.quantity, i.row) for i in p.items] == [(1, ("dress", 1)), (1, ("dress", 2))]
    p = claim(p, "bob", ("DRESS-S", 1), ("DRESS-L", 1)).purchase
    assert [(r.number, r.filled) for r in p.rows] == [(1, True), (2, False)]
    assert statuses(p, "ann") == ["active", "waiting"]


def test_dealer_pays_the_discounted_price_rounded_to_the_minor_unit() -> None:
    p = join(opened(), "dan", partner=DEALER)
    p = claim(p, "dan", ("SCARF", 3)).purchase
    # 333.33 x 0.875 = 291.66375 → 291.66
    assert p.items[0].unit_price == D("291.66")
    acc = gb.accounts(p)["dan"]
    assert acc.goods == D("874.98") and acc.fee == D("131.25")  # 874.98 x 15 % = 131.247 → 131.25


def test_the_purchase_may_override_a_partner_percent() -> None:
    p = join(opened(partner_percents={"dealer-1": D("20")}), "dan", partner=DEALER)
    p = claim(p, "dan", ("DRESS-S", 1)).purchase
    assert p.participant("dan").partner == PartnerRef("dealer-1", "dealer", D("20"), "Dealer Dan")
    assert p.items[0].unit_price == D("800.00")


def test_participants_are_checked() -> None:
    p = join(opened(), "ann")
    with pytest.raises(InvalidInput, match="already"):
        join(p, "ann")
    with pytest.raises(InvalidInput) as err:
        join(p, "eve", currency="EUR")
    assert err.value.field == "currency"
    with pytest.raises(InvalidInput) as err:
        join(p, "eve", currency="UAH", delivery="rub-post")
    assert err.value.field == "delivery_option"
    with pytest.raises(NotFound):
        claim(p, "nobody", ("SCARF", 1))
    with pytest.raises(InvalidInput) as err:
        claim(p, "ann", ("SCARF", 1), ("NOPE", 1))
    assert err.value.field == "lines[1].sku"
    with pytest.raises(InvalidInput) as err:
        claim(p, "ann", ("SCARF", 0))
    assert err.value.field == "lines[0].quantity"


def test_a_purchase_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(gb, "MAX_ITEMS", 3)
    p = join(opened(), "ann")
    p = claim(p, "ann", ("DRESS-S", 2)).purchase
    with pytest.raises(LimitReached):
        claim(p, "ann", ("DRESS-M", 2))
    monkeypatch.setattr(gb, "MAX_PARTICIPANTS", 1)
    with pytest.raises(LimitReached):
        join(p, "bob")


# --- stop, swap, queue ------------------------------------------------------------------------


def collected() -> gb.JointPurchase:
    """Row 1 full (ann S, bob M, cat L); row 2 has dan's M only; eve has 2 hats (minimum 3)."""
    p = opened()
    for pid in ("ann", "bob", "cat", "dan", "eve"):
        p = join(p, pid, delivery="rub-post" if pid == "ann" else None)
    p = claim(p, "ann", ("DRESS-S", 1), ("SCARF", 1)).purchase
    p = claim(p, "bob", ("DRESS-M", 1)).purchase
    p = claim(p, "cat", ("DRESS-L", 1)).purchase
    p = claim(p, "dan", ("DRESS-M", 1)).purchase
    return claim(p, "eve", ("HAT", 2)).purchase


def test_stop_queues_unfilled_rows_and_drops_skus_below_their_minimum() -> None:
    d = gb.stop(collected(), now=NOW)
    p = d.purchase
    assert p.state == "stopped"
    assert statuses(p, "dan") == ["queued"] and statuses(p, "eve") == ["dropped"]
    assert statuses(p, "ann") == ["active", "active"]
    assert d.events[0] == JointPurchaseStateChanged(
        purchase_id="jp-1", from_state="collecting", to_state="stopped", reason="stopped by the organiser"
    )
    assert [(e.participant_id, e.change) for e in d.events[1:]] == [("dan", "queued"), ("eve", "dropped")]  # type: ignore[attr-defined]
    with pytest.raises(WrongState):
        claim(p, "ann", ("SCARF", 1))


def test_a_queued_item_swaps_to_a_loose_sku_or_to_a_free_position_of_an_unfilled_row() -> None:
    p = gb.stop(collected(), now=NOW).purchase
    dan_item = p.items_of("dan")[0].item_id
    with pytest.raises(InvalidInput):
        gb.swap(p, dan_item, "DRESS-M", now=NOW)
    q = join(replace(p, state="collecting"), "fay")
    q = gb.stop(claim(q, "fay", ("DRESS-L", 1)).purchase, now=NOW).purchase  # row 2: M (dan), L (fay)
    fay_item = q.items_of("fay")[0].item_id
    with pytest.raises(InvalidInput, match="no free position"):  # row 1 full, row 2's M taken
        gb.swap(q, fay_item, "DRESS-M", now=NOW)
    d = gb.swap(p, dan_item, "DRESS-S", now=NOW)  # a free S position in row 2
    assert d.purchase.item(dan_item).status == "queued" and d.purchase.item(dan_item).sku == "DRESS-S"
    assert d.purchase.rows[1].slots == (dan_item, None, None)
    d = gb.swap(p, dan_item, "SCARF", now=NOW)
    assert d.purchase.item(dan_item).status == "active" and d.purchase.item(dan_item).unit_price == D("333.33")
    assert d.purchase.rows[1].taken == 0
    with pytest.raises(WrongState):
        gb.swap(d.purchase, dan_item, "DRESS-S", now=NOW)  # active now: not queued


def test_a_swap_that_completes_a_row_activates_it() -> None:
    p = opened()
    for pid in ("ann", "bob"):
        p = join(p, pid)
    p = claim(p, "ann", ("DRESS-S", 1), ("DRESS-M", 1)).purchase  # row 1: S, M
    p = claim(p, "bob", ("DRESS-S", 1)).purchase  # row 2: S
    p = gb.stop(p, now=NOW).purchase
    bob = p.items_of("bob")[0].item_id
    d = gb.swap(p, bob, "DRESS-L", now=NOW)  # leaves row 2, takes L in row 1 → full
    assert statuses(d.purchase, "ann") == ["active", "active"] and statuses(d.purchase, "bob") == ["active"]
    assert [(e.participant_id, e.change) for e in d.events] == [("bob", "swapped"), ("ann", "row_filled")]  # type: ignore[attr-defined]


def test_payment_needs_the_minimum_total_in_each_currency() -> None:
    p = gb.stop(collected(), now=NOW).purchase
    with pytest.raises(MinimumNotReached, match="UAH"):
        gb.open_payment(replace(p, minimum_totals={"RUB": D("10"), "UAH": D("1")}), now=NOW)
    d = gb.open_payment(p, now=NOW)
    deadline = NOW + timedelta(days=3)
    assert d.purchase.state == "awaiting_payment"
    assert {x.participant_id: x.payment_deadline for x in d.purchase.participants} == {
        "ann": deadline,
        "bob": deadline,
        "cat": deadline,
        "dan": None,  # only queued: nothing to pay yet
        "eve": None,
    }


def awaiting() -> gb.JointPurchase:
    return gb.open_payment(gb.stop(collected(), now=NOW).purchase, now=NOW).purchase


def pay_in_full(p: gb.JointPurchase, pid: str) -> gb.JointPurchase:
    owed = gb.accounts(p)[pid].owed
    d = gb.record_payment(p, pid, Money(amount=owed, currency=p.participant(pid).currency), f"{pid}-full", now=NOW)
    assert d is not None
    return d.purchase


def test_accounts_add_fee_options_and_transport_exactly() -> None:
    p = gb.set_transport(awaiting(), "RUB", D("100.00"), now=NOW).purchase
    acc = gb.accounts(p)
    # goods: ann 1333.33, bob 1000, cat 1000 → 100 by sum: 39.999996 / 30.000002 / 30.000002, rounded
    # down to 39.99 / 30.00 / 30.00 and the cent left goes to the largest remainder (ann)
    assert acc["ann"].goods == D("1333.33") and acc["ann"].fee == D("200.00")
    assert [acc[x].transport for x in ("ann", "bob", "cat")] == [D("40.00"), D("30.00"), D("30.00")]
    assert sum(acc[x].transport for x in ("ann", "bob", "cat", "dan", "eve")) == D("100.00")
    assert acc["ann"].options == D("250.00")
    assert acc["ann"].due == acc["ann"].goods + acc["ann"].fee + acc["ann"].transport + D("250.00")
    assert acc["dan"].due == 0 and acc["dan"].payment_status == "nothing_due"
    p = gb.set_transport(p, "RUB", D("100.01"), now=NOW).purchase
    by_weight = gb.accounts(replace(p, transport_share="weight"))
    # weights: ann 300+100 g, bob 300 g, cat 300 g → 40.004 / 30.003 / 30.003 → 40.00 + 0.01 / 30.00 / 30.00
    assert [by_weight[x].transport for x in ("ann", "bob", "cat")] == [D("40.01"), D("30.00"), D("30.00")]


def test_payments_are_recorded_once_per_reference_in_the_participants_currency() -> None:
    p = awaiting()
    due = gb.accounts(p)["bob"].due
    d = gb.record_payment(p, "bob", Money.of("500", "RUB"), "cash-1", now=NOW)
    assert d is not None
    assert d.events == [
        JointPurchasePaymentRecorded(
            purchase_id="jp-1",
            participant_id="bob",
            amount=Money.of("500", "RUB"),
            reference="cash-1",
            paid_in_full=False,
        )
    ]
    assert gb.record_payment(d.purchase, "bob", Money.of("500", "RUB"), "cash-1", now=NOW) is None
    assert gb.accounts(d.purchase)["bob"].payment_status == "partly_paid"
    with pytest.raises(InvalidInput) as err:
        gb.record_payment(d.purchase, "bob", Money.of("1", "UAH"), "x", now=NOW)
    assert err.value.field == "amount.currency"
    with pytest.raises(InvalidInput):
        gb.record_payment(d.purchase, "bob", Money.of("0.001", "RUB"), "y", now=NOW)
    d2 = gb.record_payment(d.purchase, "bob", Money(amount=due - 500, currency="RUB"), "card-7", now=NOW)
    assert d2 is not None and d2.events[0].paid_in_full  # type: ignore[attr-defined]
    assert gb.accounts(d2.purchase)["bob"].owed == 0


def test_an_unpaid_participant_is_released_and_the_first_queued_takes_the_position() -> None:
    p = awaiting()  # dan's M is queued behind bob's M in row 1
    assert gb.release_unpaid(p, now=NOW + timedelta(days=2)) is None  # before the deadline
    p = gb.record_payment(p, "ann", Money.of("1", "RUB"), "a1", now=NOW).purchase  # type: ignore[union-attr]
    later = NOW + timedelta(days=3)
    d = gb.release_unpaid(p, now=later)
    assert d is not None
    p = d.purchase
    # bob and cat paid nothing: released. ann paid a little: kept, overdue. dan takes bob's M.
    assert statuses(p, "bob") == ["released"] and statuses(p, "cat") == ["released"]
    assert statuses(p, "dan") == ["active"] and statuses(p, "ann") == ["active", "active"]
    dan = p.items_of("dan")[0]
    assert dan.row == ("dress", 1) and p.rows[0].slots[1] == dan.item_id
    assert p.participant("dan").payment_deadline == later + timedelta(days=3)
    assert [(e.participant_id, e.change) for e in d.events] == [  # type: ignore[attr-defined]
        ("bob", "released"),
        ("dan", "taken_from_queue"),
        ("cat", "released"),
    ]
    assert gb.release_unpaid(p, now=later) is None  # nothing more to release


def test_the_organiser_releases_a_participant_before_the_deadline_and_the_queue_takes_over() -> None:
    p = awaiting()
    d = gb.release_participant(p, "bob", now=NOW)
    assert statuses(d.purchase, "bob") == ["released"] and statuses(d.purchase, "dan") == ["active"]
    assert d.purchase.participant("dan").payment_deadline == NOW + timedelta(days=3)
    assert [(e.participant_id, e.change) for e in d.events] == [("bob", "released"), ("dan", "taken_from_queue")]  # type: ignore[attr-defined]
    with pytest.raises(WrongState, match="released already"):
        gb.release_participant(d.purchase, "bob", now=NOW)
    paid = gb.record_payment(p, "ann", Money.of("1", "RUB"), "a", now=NOW)
    assert paid is not None
    with pytest.raises(WrongState, match="has paid"):
        gb.release_participant(paid.purchase, "ann", now=NOW)
    with pytest.raises(WrongState, match="no items"):
        gb.release_participant(p, "eve", now=NOW)  # her hats were dropped at stop


def test_ordering_needs_everybody_paid_and_orders_exactly_the_paid_items() -> None:
    p = awaiting()
    with pytest.raises(NotAllPaid, match="3 participant"):
        gb.order_from_supplier(p, now=NOW)
    p = pay_in_full(pay_in_full(p, "ann"), "cat")
    d = gb.release_unpaid(p, now=NOW + timedelta(days=3))  # bob never pays: dan's queued M takes his place
    assert d is not None
    p = d.purchase
    with pytest.raises(NotAllPaid, match="1 participant"):
        gb.order_from_supplier(p, now=NOW)
    d = gb.order_from_supplier(pay_in_full(p, "dan"), now=NOW)
    ordered = [e for e in d.events if isinstance(e, JointPurchaseOrdered)]
    assert [(line.sku, line.quantity) for line in ordered[0].lines] == [
        ("DRESS-L", 1),
        ("DRESS-M", 1),
        ("DRESS-S", 1),
        ("SCARF", 1),
    ]
    assert d.purchase.state == "ordered"


def test_a_row_left_broken_by_a_release_is_made_whole_or_dropped_before_ordering() -> None:
    p = pay_in_full(awaiting(), "bob")
    p = gb.release_unpaid(p, now=NOW + timedelta(days=3)).purchase  # type: ignore[union-attr]
    # ann and cat released (no S or L queued): bob's paid M sits in a row that is no longer whole.
    assert p.rows[0].taken == 1 and statuses(p, "bob") == ["active"]
    with pytest.raises(WrongState, match="dress #1"):
        gb.order_from_supplier(p, now=NOW)
    dan = p.items_of("dan")[0].item_id
    p = gb.swap(p, dan, "DRESS-S", now=NOW).purchase  # dan moves into row 1's free S
    assert p.item(dan).row == ("dress", 1)
    d = gb.drop_row(p, "dress", 1, now=NOW)
    assert statuses(d.purchase, "bob") == ["dropped"] and statuses(d.purchase, "dan") == ["dropped"]
    assert [(e.participant_id, e.change) for e in d.events] == [("bob", "dropped"), ("dan", "dropped")]  # type: ignore[attr-defined]
    with pytest.raises(WrongState, match="no paid items"):
        gb.order_from_supplier(d.purchase, now=NOW)


def test_the_lifecycle_runs_to_closed_and_cancel_stops_before_ordering() -> None:
    p = join(opened(), "ann")
    p = claim(p, "ann", ("SCARF", 1)).purchase
    seen = []
    p = gb.advance(p, now=NOW).purchase
    p = gb.advance(p, now=NOW).purchase
    owed = gb.accounts(p)["ann"].owed
    p = gb.record_payment(p, "ann", Money(amount=owed, currency="RUB"), "r", now=NOW).purchase  # type: ignore[union-attr]
    while p.state != "closed":
        seen.append(p.state)
        p = gb.advance(p, now=NOW).purchase
    assert seen == ["awaiting_payment", "ordered", "received", "distributed"]
    with pytest.raises(WrongState):
        gb.advance(p, now=NOW)
    with pytest.raises(WrongState):
        gb.cancel(p, now=NOW, reason="x")
    c = gb.cancel(opened(), now=NOW, reason="supplier closed")
    assert c.purchase.state == "cancelled" and c.events[0].reason == "supplier closed"  # type: ignore[attr-defined]


def test_advancing_to_a_named_state_is_idempotent() -> None:
    p = join(opened(), "ann")
    stopped = gb.advance(p, now=NOW, to="stopped")
    assert stopped is not None and stopped.purchase.state == "stopped"
    assert gb.advance(stopped.purchase, now=NOW, to="stopped") is None  # the double click
    with pytest.raises(WrongState) as err:
        gb.advance(stopped.purchase, now=NOW, to="ordered")
    assert err.value.field == "to"


def test_closing_date_is_due() -> None:
    p = opened()
    assert not gb.due_to_stop(p, NOW)
    assert gb.due_to_stop(p, p.closes_at)


def test_news_goes_to_the_purchases_people_and_pinned_news_shows_until_it_expires() -> None:
    p = join(join(opened(), "ann", partner=AGENT), "bob")
    d = gb.publish_news(
        p, news_id="n1", text="Dispatch moved to 12 Dec", pinned=True, expires_at=NOW + timedelta(days=2), now=NOW
    )
    event = d.events[0]
    assert isinstance(event, JointPurchaseNewsPublished)
    assert event.participant_ids == ["ann", "bob"] and event.partner_ids == ["agent-1"]
    assert event.title == "Winter dresses" and [(r.participant_id, r.email) for r in event.recipients] == [
        ("ann", None),
        ("bob", None),
    ]
    with_mail = gb.add_participant(
        p,
        participant_id="cat",
        name="Cat",
        contact=None,
        currency="RUB",
        partner=None,
        email=" Cat@Example.com",
        now=NOW,
    ).purchase
    d9 = gb.publish_news(with_mail, news_id="n9", text="Hi", pinned=False, expires_at=None, now=NOW)
    assert d9.events[0].recipients[-1].email == "cat@example.com"  # type: ignore[attr-defined]
    with pytest.raises(InvalidInput) as err:
        gb.add_participant(
            p, participant_id="x", name="X", contact=None, currency="RUB", partner=None, email="nope", now=NOW
        )
    assert err.value.field == "email"
    p = gb.publish_news(
        d.purchase, news_id="n2", text="Hello", pinned=False, expires_at=None, now=NOW + timedelta(hours=1)
    ).purchase
    assert [n.news_id for n in gb.visible_news(p, NOW + timedelta(hours=2))] == ["n1", "n2"]
    assert [n.news_id for n in gb.visible_news(p, NOW + timedelta(days=3))] == ["n2", "n1"]
    unpinned = gb.unpin_news(p, "n1")
    assert unpinned is not None and not unpinned.purchase.news[0].pinned
    assert gb.unpin_news(unpinned.purchase, "n1") is None
    with pytest.raises(InvalidInput):
        gb.publish_news(p, news_id="n3", text=" ", pinned=True, expires_at=None, now=NOW)


# --- money ------------------------------------------------------------------------------------


@given(
    total=st.decimals(min_value=0, max_value=1_000_000, places=2),
    weights=st.lists(st.decimals(min_value=0, max_value=10_000, places=2), min_size=1, max_size=30),
)
def test_allocate_shares_add_up_exactly_and_never_differ_from_fair_by_a_minor_unit(
    total: Decimal, weights: list[Decimal]
) -> None:
    shares = allocate(total, dict(enumerate(weights)), "RUB")
    whole = sum(weights)
    if whole == 0 or total == 0:
        assert all(s == 0 for s in shares.values())
        return
    assert sum(shares.values()) == total
    for k, w in enumerate(weights):
        assert abs(shares[k] - total * w / whole) < D("0.01")
        assert shares[k] == shares[k].quantize(D("0.01"))


def test_allocate_respects_currencies_without_minor_units() -> None:
    assert allocate(D("100"), {"a": D(1), "b": D(1), "c": D(1)}, "JPY") == {"a": D(34), "b": D(33), "c": D(33)}
