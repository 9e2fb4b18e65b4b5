"""Charges following later changes: a placed participant order whose fee + transport share + options
changed gets ChangeGroupBuyOrderCharges (next revision), in the same decision as the change."""

from __future__ import annotations

from dataclasses import replace

from oms_contracts import Actor, Money
from oms_contracts.messages.groupbuy import ChangeGroupBuyOrderCharges
from oms_groupbuy.application.purchases import Caller, Purchases
from oms_groupbuy.domain import purchase as gb
from oms_runtime.clock import FixedClock
from oms_runtime.commands import RetryPolicy
from oms_runtime.events import EventFactory

from .builders import NOW, D, ids
from .fakes import FakeCreationKeys, FakePartners, FakePurchases
from .test_purchase import collected

ADMIN = Caller("shop-1", Actor(kind="staff", id="boss", role="admin"), "corr-1")


def charge_commands(d: gb.Decision | None) -> list[ChangeGroupBuyOrderCharges]:
    return [] if d is None else [e for e in d.events if isinstance(e, ChangeGroupBuyOrderCharges)]


def awaiting_payment() -> gb.JointPurchase:
    d = gb.with_orders(gb.open_payment(gb.stop(collected(), now=NOW).purchase, now=NOW), new_id=ids("o"))
    assert d is not None
    return d.purchase


def test_orders_placed_carry_their_charges_and_nothing_follows_until_they_change() -> None:
    p = awaiting_payment()
    books = gb.accounts(p)
    assert {x.participant_id: x.charges_sent for x in p.participants if x.order_id} == {
        pid: books[pid].due - books[pid].goods for pid in ("ann", "bob", "cat")
    }
    assert gb.follow_charges(p) is None


def test_a_transport_cost_set_later_changes_every_placed_order_of_that_currency_once() -> None:
    p = awaiting_payment()
    d = gb.with_charges(gb.set_transport(p, "RUB", D("300"), now=NOW))
    sent = charge_commands(d)
    assert d is not None
    books = gb.accounts(d.purchase)
    assert [(c.participant_id, c.order_id, c.revision) for c in sent] == [
        ("ann", "o1", 1),
        ("bob", "o2", 1),
        ("cat", "o3", 1),
    ]
    for c in sent:  # the order's total (lines + charges) is the table's due
        assert c.charges == Money(amount=books[c.participant_id].due - books[c.participant_id].goods, currency="RUB")
    assert sum(books[c.participant_id].transport for c in sent) == D("300")
    assert gb.follow_charges(d.purchase) is None  # recorded on the participants: sent once
    again = gb.with_charges(gb.set_transport(d.purchase, "RUB", D("450"), now=NOW))
    assert [c.revision for c in charge_commands(again)] == [2, 2, 2]
    # another currency's cost touches nobody paying in RUB
    assert charge_commands(gb.with_charges(gb.set_transport(d.purchase, "UAH", D("99"), now=NOW))) == []


def test_a_release_moves_the_shares_to_the_others_but_sends_nothing_for_the_released_or_new_orders() -> None:
    p = gb.with_charges(gb.set_transport(awaiting_payment(), "RUB", D("300"), now=NOW))
    assert p is not None
    released = gb.with_charges(gb.with_orders(gb.release_participant(p.purchase, "bob", now=NOW), new_id=ids("n")))
    sent = charge_commands(released)
    # dan takes bob's position with the same goods: the shares stay; dan's new order carries its charges
    assert sent == []
    assert released is not None
    dan = next(x for x in released.purchase.participants if x.participant_id == "dan")
    books = gb.accounts(released.purchase)
    assert dan.order_id == "n1" and dan.charges_sent == books["dan"].due - books["dan"].goods
    # without an heir the released goods leave the basis: the others' shares grow
    alone = gb.with_charges(gb.release_participant(released.purchase, "dan", now=NOW))
    assert [(c.participant_id, c.revision) for c in charge_commands(alone)] == [("ann", 2), ("cat", 2)]


def test_no_charges_follow_for_a_collected_participant_or_a_closed_purchase() -> None:
    p = awaiting_payment()
    collected_ann = replace(
        p,
        participants=tuple(replace(x, handed_out_at=NOW) if x.participant_id == "ann" else x for x in p.participants),
    )
    sent = charge_commands(gb.with_charges(gb.set_transport(collected_ann, "RUB", D("300"), now=NOW)))
    assert [c.participant_id for c in sent] == ["bob", "cat"]
    closed = replace(p, state="closed", transport={"RUB": D("300")})
    assert gb.follow_charges(closed) is None


def test_an_order_placed_before_charges_were_tracked_is_sent_them_once() -> None:
    p = awaiting_payment()
    legacy = replace(
        p,
        participants=tuple(replace(x, charges_sent=None) if x.participant_id == "bob" else x for x in p.participants),
    )
    followed = gb.follow_charges(legacy)
    assert [(c.participant_id, c.revision) for c in charge_commands(followed)] == [("bob", 1)]
    assert followed is not None and gb.follow_charges(followed.purchase) is None


async def test_setting_the_transport_stores_the_commands_in_the_same_update() -> None:
    repo = FakePurchases()
    app = Purchases(
        repo,
        FakePartners(),
        EventFactory("groupbuy", FixedClock(NOW)),
        FixedClock(NOW),
        RetryPolicy(3),
        FakeCreationKeys(),
        new_id=ids("x"),
    )
    p = awaiting_payment()
    repo.put(p)
    await app.set_transport(ADMIN, p.purchase_id, "RUB", D("300"))
    stored = repo.stored[(p.shop_id, p.purchase_id)].state
    assert all(x.charges_revision == 1 for x in stored.participants if x.order_id)
    assert [e.payload.order_id for e in repo.events if e.type == "ChangeGroupBuyOrderCharges"] == ["o1", "o2", "o3"]
    assert repo.saves == 1  # the transport and the commands: one update
