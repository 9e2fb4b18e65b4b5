"""The application over in-memory fakes: the command loop, events, views by role, the loops."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from decimal import Decimal

import pytest
from oms_contracts import Actor, Envelope, Money
from oms_contracts.messages.shop import StaffMemberAdded
from oms_groupbuy.application.purchases import (
    Caller,
    IdempotencyKeyReused,
    NewParticipant,
    NewPurchase,
    PartnerUnknown,
    Purchases,
)
from oms_groupbuy.domain.errors import NotFound, WrongState
from oms_groupbuy.domain.purchase import accounts
from oms_groupbuy.domain.table import TableQuery
from oms_runtime.clock import FixedClock
from oms_runtime.commands import RetryPolicy
from oms_runtime.errors import ConcurrencyError
from oms_runtime.events import EventFactory

from .builders import NOW, OFFERS, OPTIONS, ROWS, ids
from .fakes import FakeCreationKeys, FakePartners, FakePurchases

SHOP = "shop-1"
ADMIN = Caller(SHOP, Actor(kind="staff", id="boss", role="admin"), "corr-1")
AGENT = Caller(SHOP, Actor(kind="staff", id="agent-1", role="agent"))
OTHER_AGENT = Caller(SHOP, Actor(kind="staff", id="agent-2", role="agent"))


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(NOW)


@pytest.fixture
def repo() -> FakePurchases:
    return FakePurchases()


@pytest.fixture
def app(repo: FakePurchases, clock: FixedClock) -> Purchases:
    return Purchases(
        repo,
        FakePartners(),
        EventFactory("groupbuy", clock),
        clock,
        RetryPolicy(3),
        FakeCreationKeys(),
        new_id=ids("id-"),
    )


def spec() -> NewPurchase:
    return NewPurchase(
        title="Winter dresses",
        supplier="Ivanovo",
        closes_at=NOW + timedelta(days=7),
        currencies=["RUB", "UAH"],
        offers=OFFERS,
        row_specs=ROWS,
        options=OPTIONS,
        fee_percent=Decimal("15"),
    )


async def agents(app: Purchases) -> None:
    for caller, percent in ((AGENT, "10"), (OTHER_AGENT, "5")):
        await app.set_partner_terms(
            ADMIN, caller.actor.id, kind="agent", name=caller.actor.id, percent=Decimal(percent)
        )


async def test_opening_stores_the_purchase_with_its_event_from_the_caller(app: Purchases, repo: FakePurchases) -> None:
    loaded = await app.open(ADMIN, spec())
    assert loaded.version == 1 and loaded.state.state == "collecting"
    [event] = repo.events
    assert event.type == "JointPurchaseOpened" and event.actor == ADMIN.actor and event.correlation_id == "corr-1"
    assert event.key == loaded.state.purchase_id


async def test_a_lost_race_is_decided_again_and_a_stale_version_is_a_conflict(
    app: Purchases, repo: FakePurchases
) -> None:
    pid = (await app.open(ADMIN, spec())).state.purchase_id
    repo.race(2)
    loaded, participant = await app.add_participant(ADMIN, pid, NewParticipant("Ann", None, "RUB", [("SCARF", 1)]))
    assert loaded.state.participant(participant).name == "Ann" and loaded.version == 4  # two lost races, then saved
    with pytest.raises(ConcurrencyError):
        await app.stop(ADMIN, pid, expected_version=1)
    assert (await app.stop(ADMIN, pid, expected_version=loaded.version)).state.state == "stopped"


async def test_a_partner_needs_terms_and_sees_only_their_people(app: Purchases) -> None:
    pid = (await app.open(ADMIN, spec())).state.purchase_id
    with pytest.raises(PartnerUnknown):
        await app.add_participant(AGENT, pid, NewParticipant("Ann", None, "RUB", [("SCARF", 1)]))
    await agents(app)
    _, ann = await app.add_participant(AGENT, pid, NewParticipant("Ann", None, "RUB", [("SCARF", 1)]))
    _, bob = await app.add_participant(OTHER_AGENT, pid, NewParticipant("Bob", None, "RUB", [("SCARF", 2)]))
    page = await app.table(AGENT, pid, TableQuery(), None, 50)
    assert [r.participant_id for r in page.rows.items] == [ann] and page.totals[0].participants == 1
    with pytest.raises(NotFound):
        await app.add_items(AGENT, pid, bob, [("SCARF", 1)])
    assert [e.partner_id for e in await app.earnings(AGENT, pid, partner_id="agent-2")] == ["agent-1"]
    # A purchase the agent brought nobody to: readable while collecting, its table is not.
    other = (await app.open(ADMIN, spec())).state.purchase_id
    assert (await app.get(AGENT, other)).state.purchase_id == other
    with pytest.raises(NotFound):
        await app.table(AGENT, other, TableQuery(), None, 50)
    await app.stop(ADMIN, other)
    with pytest.raises(NotFound):
        await app.get(AGENT, other)
    listed = await app.page(AGENT, state=None, cursor=None, limit=10)
    assert [p.purchase_id for p in listed.items] == [pid]


async def test_the_organiser_attributes_a_participant_to_a_partner_at_its_percent(app: Purchases) -> None:
    await app.set_partner_terms(ADMIN, "dealer-1", kind="dealer", name="Dan", percent=Decimal("20"))
    pid = (await app.open(ADMIN, spec())).state.purchase_id
    loaded, dan = await app.add_participant(
        ADMIN, pid, NewParticipant("Dan's shop", None, "RUB", [("DRESS-S", 1)], partner_id="dealer-1")
    )
    assert loaded.state.items_of(dan)[0].unit_price == Decimal("800.00")


async def test_the_intake_adds_a_participant_once_per_external_reference(app: Purchases, repo: FakePurchases) -> None:
    pid = (await app.open(ADMIN, spec())).state.purchase_id
    new = NewParticipant("Vk buyer", "vk:1", "RUB", [("SCARF", 1)], external_ref="vk:club1:42")
    _, first = await app.add_participant(ADMIN, pid, new)
    loaded, again = await app.add_participant(ADMIN, pid, new)
    assert first == again and len(loaded.state.participants) == 1
    assert [e.type for e in repo.events].count("JointPurchaseItemsChanged") == 1


async def test_the_loops_stop_at_the_closing_date_and_release_after_the_deadline(
    app: Purchases, repo: FakePurchases, clock: FixedClock
) -> None:
    pid = (await app.open(ADMIN, spec())).state.purchase_id
    _, ann = await app.add_participant(ADMIN, pid, NewParticipant("Ann", None, "RUB", [("SCARF", 1)]))
    assert await app.stop_due() == 0
    clock.advance(timedelta(days=8))
    assert await app.stop_due() == 1
    stopped = await repo.load(SHOP, pid)
    assert stopped is not None and stopped.state.state == "stopped"
    assert [e.actor.kind for e in repo.events if e.type == "JointPurchaseStateChanged"] == ["system"]
    await app.advance(ADMIN, pid)  # awaiting payment: Ann has 3 days
    assert await app.release_due() == 0
    clock.advance(timedelta(days=4))
    assert await app.release_due() == 1
    released = await repo.load(SHOP, pid)
    assert released is not None and released.state.participant(ann).released
    await app.cancel(ADMIN, pid, "supplier gone")
    with pytest.raises(WrongState):
        await app.record_payment(ADMIN, pid, ann, Money.of("1", "RUB"), "late")


async def test_partners_are_known_from_the_gateways_staff_events_once(app: Purchases) -> None:
    env = Envelope.new(
        StaffMemberAdded(shop_id=SHOP, staff_id="agent-9", email="a@example.com", name="Olga", role="agent"),
        shop_id=SHOP,
        actor=Actor.system("gateway"),
    )
    await app.on_staff_added(env)
    await app.on_staff_added(env)
    warehouse = Envelope.new(
        StaffMemberAdded(shop_id=SHOP, staff_id="w-1", email="w@example.com", name="W", role="warehouse"),
        shop_id=SHOP,
        actor=Actor.system("gateway"),
    )
    await app.on_staff_added(warehouse)
    page = await app.partners_page(ADMIN, None, 10)
    assert [(p.partner_id, p.kind, p.terms_set) for p in page.items] == [("agent-9", "agent", False)]


async def test_the_earnings_report_sums_a_partners_purchases_in_a_period(app: Purchases, clock: FixedClock) -> None:
    await agents(app)

    async def run(closes_in: timedelta, pay: bool, to: str) -> str:
        opened = await app.open(ADMIN, replace(spec(), closes_at=NOW + closes_in))
        pid = opened.state.purchase_id
        _, ann = await app.add_participant(AGENT, pid, NewParticipant("Ann", None, "RUB", [("SCARF", 3)]))
        await app.add_participant(OTHER_AGENT, pid, NewParticipant("Bob", None, "RUB", [("SCARF", 1)]))
        await app.stop(ADMIN, pid)
        await app.advance(ADMIN, pid)
        if pay:
            loaded = await app.get(ADMIN, pid)
            owed = accounts(loaded.state)[ann].owed
            await app.record_payment(ADMIN, pid, ann, Money(amount=owed, currency="RUB"), "ann")
        if to == "cancelled":
            await app.cancel(ADMIN, pid, "supplier gone")
        return pid

    paid = await run(timedelta(days=1), True, "awaiting_payment")
    unpaid = await run(timedelta(days=2), False, "awaiting_payment")
    void = await run(timedelta(days=3), True, "cancelled")
    await run(timedelta(days=40), True, "awaiting_payment")  # outside the period
    report = await app.earnings_report(AGENT, "agent-2", NOW, NOW + timedelta(days=30))
    assert report.partner_id == "agent-1" and not report.truncated
    assert [p.purchase_id for p, _ in report.purchases] == [paid, unpaid, void]
    # 3 scarves at 333.33 = 999.99 per paid purchase; 10 % = 100.00 each, one accrued and one void.
    [rub] = report.totals
    assert (rub.paid_goods, rub.accrued, rub.payable, rub.void) == (
        Decimal("1999.98"),
        Decimal("100.00"),
        Decimal("0"),
        Decimal("100.00"),
    )
    organiser = await app.earnings_report(ADMIN, "agent-2", NOW, NOW + timedelta(days=30))
    assert organiser.partner_id == "agent-2" and organiser.totals[0].paid_goods == 0
    with pytest.raises(NotFound):
        await app.earnings_report(ADMIN, None, NOW, NOW + timedelta(days=1))


async def test_an_idempotency_key_adds_a_participant_once_and_refuses_another_request(app: Purchases) -> None:
    await agents(app)
    pid = (await app.open(ADMIN, spec())).state.purchase_id
    new = NewParticipant("Ann", None, "RUB", [("SCARF", 1)], idempotency_key="k-1", fingerprint="body-1")
    _, first = await app.add_participant(AGENT, pid, new)
    loaded, again = await app.add_participant(AGENT, pid, new)
    assert first == again and len(loaded.state.participants) == 1
    # The same key from another caller is another request altogether.
    loaded, other = await app.add_participant(OTHER_AGENT, pid, new)
    assert other != first and len(loaded.state.participants) == 2
    with pytest.raises(IdempotencyKeyReused) as err:
        await app.add_participant(AGENT, pid, replace(new, fingerprint="body-2"))
    assert err.value.field == "Idempotency-Key"


async def test_an_idempotency_key_opens_a_purchase_once(app: Purchases, repo: FakePurchases) -> None:
    first = await app.open(ADMIN, spec(), "open-1", "body-1")
    again = await app.open(ADMIN, spec(), "open-1", "body-1")
    assert first.state.purchase_id == again.state.purchase_id and len(repo.stored) == 1
    assert [e.type for e in repo.events] == ["JointPurchaseOpened"]
    with pytest.raises(IdempotencyKeyReused):
        await app.open(ADMIN, spec(), "open-1", "body-2")
    other = await app.open(ADMIN, spec(), "open-2", "body-1")
    assert other.state.purchase_id != first.state.purchase_id
