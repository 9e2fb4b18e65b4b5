"""The notification use cases over in-memory fakes of the ports: events → deliveries → sent or failed."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from oms_contracts import Actor, Envelope, Money, new_id
from oms_contracts.messages.order import OrderPlaced
from oms_contracts.messages.payment import PaymentRequested
from oms_notification.application.deliveries import Deliveries
from oms_notification.application.inbox import Inbox
from oms_notification.application.notifier import Notifier, OrderNotYetKnown
from oms_notification.domain.delivery import Delivery
from oms_notification.domain.model import DeliveryBackoff, DeliveryStatus, Lane, ShopInfo, StaffMember
from oms_runtime.clock import FixedClock
from oms_runtime.commands import RetryPolicy
from oms_runtime.events import EventFactory
from oms_testing.builders import order_placed

from .fakes import PERMANENT, FakeDeliveries, FakeInbox, FakeMailer, FakeProjections, FakeRenderer

SHOP = "shop-1"
T0 = datetime(2026, 3, 1, 12, tzinfo=UTC)
ORDER_SERVICE = Actor.system("order")


class World:
    def __init__(self) -> None:
        self.clock = FixedClock(T0)
        self.repository = FakeDeliveries()
        self.projections = FakeProjections()
        self.mailer = FakeMailer()
        self.deliveries = Deliveries(
            self.repository,
            self.mailer,
            EventFactory("notification", self.clock),
            self.clock,
            DeliveryBackoff(max_attempts=3, base_delay=timedelta(seconds=5), max_delay=timedelta(seconds=60)),
            timedelta(seconds=60),
            RetryPolicy(),
        )
        self.inbox_store = FakeInbox()
        self.inbox = Inbox(self.inbox_store, self.clock)
        self.notifier = Notifier(
            self.repository, self.projections, FakeRenderer(), self.deliveries, self.clock, self.inbox
        )
        self.projections.shops[SHOP] = ShopInfo(SHOP, "Tea & Co")
        self.projections.staff[(SHOP, "boss")] = StaffMember("boss", "boss@example.com", "Boss", "admin")
        self.projections.staff[(SHOP, "packer")] = StaffMember("packer", "packer@example.com", "P", "warehouse")

    def placed(self) -> Envelope[OrderPlaced]:
        payload = order_placed(number=5, name="Ann")
        return Envelope.new(payload, shop_id=SHOP, actor=ORDER_SERVICE, correlation_id="corr-1")


async def test_an_order_placed_emails_the_customer_and_the_admins_at_once_and_logs_the_outcome():
    world = World()
    await world.notifier.on_order_placed(world.placed())
    assert sorted(s.to_email for s in world.mailer.sent) == ["ann@example.com", "boss@example.com"]
    assert {d.status for d in world.repository.states()} == {DeliveryStatus.SENT}
    assert all(d.attempts == 1 and d.sent_at == T0 for d in world.repository.states())
    events = world.repository.events
    assert [e.type for e in events] == ["NotificationSent", "NotificationSent"]
    assert all(e.actor == Actor.system("notification") and e.correlation_id == "corr-1" for e in events)
    assert {s.message_id for s in world.mailer.sent} == {d.notification_id for d in world.repository.states()}


async def test_a_cause_s_emails_go_out_side_by_side():
    """The customer's and the admin's emails of one order are sent at the same time (so their outcomes
    come together and share a write, ADR 0045): each send waits here until the other has started."""
    world = World()
    both_started = asyncio.Barrier(2)
    send = world.mailer.send

    async def send_with_the_other(**email: Any) -> None:
        await asyncio.wait_for(both_started.wait(), timeout=2)  # one at a time would never get past this
        await send(**email)

    world.mailer.send = send_with_the_other  # type: ignore[method-assign]
    await world.notifier.on_order_placed(world.placed())
    assert sorted(s.to_email for s in world.mailer.sent) == ["ann@example.com", "boss@example.com"]
    assert {d.status for d in world.repository.states()} == {DeliveryStatus.SENT}


async def test_a_replayed_cause_sends_nothing_twice_but_tries_a_pending_delivery_again():
    world = World()
    placed = world.placed()
    world.mailer.refuse("ann@example.com", ConnectionError("down"))
    await world.notifier.on_order_placed(placed)
    assert [s.to_email for s in world.mailer.sent] == ["boss@example.com"]
    await world.notifier.on_order_placed(placed)
    # The sent one is left alone; the pending one (as after a crash) is tried at once.
    assert sorted(s.to_email for s in world.mailer.sent) == ["ann@example.com", "boss@example.com"]
    assert len(world.repository.stored) == 2
    assert {d.status for d in world.repository.states()} == {DeliveryStatus.SENT}


async def test_failures_back_off_then_fail_with_the_reason():
    world = World()
    world.mailer.refuse(
        "ann@example.com", ConnectionError("down"), ConnectionError("down"), ConnectionError("still down")
    )
    world.mailer.refuse("boss@example.com", ConnectionError("down"))
    await world.notifier.on_order_placed(world.placed())
    by_recipient = {d.recipient: d for d in world.repository.states()}
    customer, boss = by_recipient["ann@example.com"], by_recipient["boss@example.com"]
    assert (customer.status, customer.attempts, customer.due_at) == (
        DeliveryStatus.PENDING,
        1,
        T0 + timedelta(seconds=5),
    )
    assert customer.last_error == "ConnectionError: down"
    for delay in (5, 10):
        world.clock.advance(timedelta(seconds=delay))
        await world.deliveries.retry_due()
    by_recipient = {d.recipient: d for d in world.repository.states()}
    customer, boss = by_recipient["ann@example.com"], by_recipient["boss@example.com"]
    assert (customer.status, customer.attempts, customer.due_at) == (DeliveryStatus.FAILED, 3, None)
    assert customer.last_error == "ConnectionError: still down"
    assert (boss.status, boss.attempts) == (DeliveryStatus.SENT, 2)
    failed = [e for e in world.repository.events if e.type == "NotificationFailed"]
    assert [(e.payload.reason, e.payload.attempts) for e in failed] == [("ConnectionError: still down", 3)]


async def test_a_permanent_refusal_fails_the_delivery_without_retry():
    world = World()
    world.mailer.refuse("boss@example.com", PERMANENT)
    await world.notifier.on_order_placed(world.placed())
    failed = [d for d in world.repository.states() if d.status is DeliveryStatus.FAILED]
    assert len(failed) == 1 and failed[0].attempts == 1 and "550" in (failed[0].last_error or "")


async def test_a_delivery_claimed_by_another_worker_is_not_sent_again():
    world = World()
    world.mailer.refuse("ann@example.com", ConnectionError("down"))
    await world.notifier.on_order_placed(world.placed())
    world.clock.advance(timedelta(seconds=5))
    [due] = (await world.repository.due(world.clock.now(), 10, Lane.BULK))[:1]
    world.repository.race(1)  # another worker claims it between our read and our claim
    await world.deliveries.attempt(due)
    assert [s.to_email for s in world.mailer.sent] == ["boss@example.com"]  # not ann's again
    assert due.state.recipient == "ann@example.com"


async def test_a_payment_link_for_an_order_not_known_yet_waits_for_it():
    world = World()
    requested = PaymentRequested(
        payment_id=new_id(),
        order_id=new_id(),
        method="card",
        status="awaiting_customer",
        amount=Money.of("100", "RUB"),
        checkout_url="https://pay.example.com/x",
    )
    with pytest.raises(OrderNotYetKnown):
        await world.notifier.on_payment_requested(Envelope.new(requested, shop_id=SHOP, actor=Actor.system("payment")))
    assert await world.projections.checkout_link(SHOP, requested.order_id) == "https://pay.example.com/x"


async def test_the_log_pages_oldest_first_and_filters_by_order():
    world = World()
    first, second = world.placed(), world.placed()
    await world.notifier.on_order_placed(first)
    await world.notifier.on_order_placed(second)
    page = await world.deliveries.log_page(SHOP, order_id=None, cursor=None, limit=3)
    assert len(page.items) == 3 and page.next_cursor == page.items[-1].notification_id
    rest = await world.deliveries.log_page(SHOP, order_id=None, cursor=page.next_cursor, limit=3)
    assert len(rest.items) == 1 and rest.next_cursor is None
    only = await world.deliveries.log_page(SHOP, order_id=first.payload.order_id, cursor=None, limit=10)
    assert {e.order_id for e in only.items} == {first.payload.order_id} and len(only.items) == 2


async def test_a_new_delivery_is_logged_claimed_so_its_first_send_costs_one_write_after_the_insert():
    world = World()
    await world.notifier.on_order_placed(world.placed())
    # Two deliveries: each inserted already claimed, then one write for the outcome (no claim write).
    assert len(world.repository.stored) == 2 and world.repository.saves == 2
    assert all(d.status is DeliveryStatus.SENT and d.attempts == 1 for d in world.repository.states())


async def test_a_delivery_logged_before_a_crash_is_sent_by_the_retry_loop_once_its_claim_expires():
    world = World()
    placed = world.placed()
    [logged] = await world.deliveries.log_all(
        [next(d for d in await _deliveries_of(world, placed) if d.recipient == "ann@example.com")]
    )
    assert logged is not None and logged.state.status is DeliveryStatus.SENDING
    # The process died before sending. The redelivered cause logs the other delivery and sends it,
    # but leaves the claimed one alone: its claim may be a live worker's.
    await world.notifier.on_order_placed(placed)
    assert [s.to_email for s in world.mailer.sent] == ["boss@example.com"]
    world.clock.advance(timedelta(seconds=59))
    assert await world.deliveries.retry_due() == 0
    world.clock.advance(timedelta(seconds=1))
    assert await world.deliveries.retry_due() == 1
    assert sorted(s.to_email for s in world.mailer.sent) == ["ann@example.com", "boss@example.com"]
    ann = next(d for d in world.repository.states() if d.recipient == "ann@example.com")
    assert (ann.status, ann.attempts) == (DeliveryStatus.SENT, 2)


async def test_a_logged_delivery_whose_claim_is_half_gone_is_claimed_again_before_it_is_sent():
    world = World()
    [delivery] = [d for d in await _deliveries_of(world, world.placed()) if d.recipient == "ann@example.com"]
    [logged] = await world.deliveries.log_all([delivery])
    assert logged is not None
    world.clock.advance(timedelta(seconds=31))  # the sends before it took long
    await world.deliveries.attempt_logged(logged)
    assert world.repository.saves == 2  # the renewed claim, then the outcome
    [sent] = world.repository.states()
    assert (sent.status, sent.attempts) == (DeliveryStatus.SENT, 1)


async def test_a_logged_delivery_the_retry_loop_took_over_is_not_sent_by_the_first_attempt():
    world = World()
    [delivery] = [d for d in await _deliveries_of(world, world.placed()) if d.recipient == "ann@example.com"]
    [logged] = await world.deliveries.log_all([delivery])
    assert logged is not None
    world.clock.advance(timedelta(seconds=61))
    assert await world.deliveries.retry_due() == 1  # the claim expired: the loop sent it
    await world.deliveries.attempt_logged(logged)  # the first attempt, very late
    assert [s.to_email for s in world.mailer.sent] == ["ann@example.com"]


async def _deliveries_of(world: World, placed: Envelope[OrderPlaced]) -> list[Delivery]:
    """The deliveries an OrderPlaced makes, as a notifier that logs nothing would make them."""
    scratch = World()
    await scratch.notifier.on_order_placed(placed)
    return [
        replace(d, status=DeliveryStatus.PENDING, attempts=0, due_at=d.created_at, sent_at=None)
        for d in scratch.repository.states()
    ]
