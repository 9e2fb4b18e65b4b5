"""The application over fakes: recording once per (event, endpoint), lanes in order, retries, the
disable rule and re-enabling, the admin's endpoints."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from oms_contracts import Actor, Envelope, Payload
from oms_contracts.messages.fulfilment import ShipmentCreated
from oms_contracts.messages.order import OrderStageChanged
from oms_runtime.clock import FixedClock
from oms_runtime.commands import RetryPolicy
from oms_testing.builders import order_placed
from oms_webhooks.application.deliveries import Deliveries, SendingLimits
from oms_webhooks.application.endpoints import Endpoints, IdempotencyKeyReused
from oms_webhooks.domain.delivery import Backoff
from oms_webhooks.domain.errors import EndpointNotFound, InvalidEndpoint, TooManyEndpoints
from oms_webhooks.metrics import WEBHOOK_ATTEMPTS

from .fakes import FakeDeliveries, FakeEndpoints, FakeLanes, ScriptedReceiver

SHOP = "shop-1"
ALL = ["OrderPlaced", "OrderStageChanged", "ShipmentCreated"]


class World:
    def __init__(self, receiver: ScriptedReceiver, *, disable_after: int = 5, max_attempts: int = 5) -> None:
        self.clock = FixedClock(datetime(2026, 12, 2, 12, 0, tzinfo=UTC))
        self.endpoint_repo = FakeEndpoints()
        self.deliveries_repo = FakeDeliveries()
        self.lanes = FakeLanes()
        self.receiver = receiver
        self.endpoints = Endpoints(
            self.endpoint_repo,
            self.lanes,
            self.clock,
            RetryPolicy(),
            allow_private_urls=False,
            max_per_shop=3,
            rotation_grace=timedelta(hours=24),
            disable_after=disable_after,
            secrets=lambda: "whsec_" + "A" * 44,
        )
        self.deliveries = Deliveries(
            self.endpoint_repo,
            self.endpoints,
            self.deliveries_repo,
            self.lanes,
            receiver,
            self.clock,
            RetryPolicy(),
            Backoff(base_seconds=5, max_seconds=60, max_attempts=max_attempts),
            SendingLimits(),
        )

    async def run_for(self, seconds: int) -> None:
        """The sender's loop, a pass per simulated second."""
        for _ in range(seconds):
            await self.deliveries.send_due()
            self.clock.advance(timedelta(seconds=1))

    def received(self) -> list[tuple[str, str]]:
        return [(json.loads(body)["type"], headers["webhook-id"]) for _, headers, body in self.receiver.calls]


def envelope(payload: Payload, shop_id: str = SHOP) -> Envelope[Any]:
    return Envelope.new(payload, shop_id=shop_id, actor=Actor.system("order"))


def lifecycle() -> list[Envelope[Any]]:
    placed = order_placed(number=7)
    oid = placed.order_id
    customer = placed.customer
    return [
        envelope(placed),
        envelope(
            OrderStageChanged(
                order_id=oid,
                number=7,
                from_stage="new",
                to_stage="picking",
                status="Confirmed",
                seconds_in_previous_stage=1,
                customer=customer,
            )
        ),
        envelope(
            ShipmentCreated(
                order_id=oid,
                shipment_id="sh1",
                warehouse_id="w1",
                lines=[{"sku": "TEA-1", "quantity": 1}],
                shipments_in_order=1,
            )
        ),
        envelope(
            OrderStageChanged(
                order_id=oid,
                number=7,
                from_stage="picking",
                to_stage="done",
                status="Delivered",
                seconds_in_previous_stage=1,
                customer=customer,
                final=True,
            )
        ),
    ]


async def test_a_receiver_that_fails_twice_then_recovers_gets_every_event_once_in_order() -> None:
    world = World(ScriptedReceiver(500, None))  # a 500, then no answer at all, then 200s
    await world.endpoints.create(SHOP, url="https://shop.example/hook", event_types=ALL)
    events = lifecycle()
    before = {r: WEBHOOK_ATTEMPTS.labels(r)._value.get() for r in ("retry", "delivered")}
    for e in events:
        await world.deliveries.on_event(e)
    await world.run_for(30)
    counted = {r: WEBHOOK_ATTEMPTS.labels(r)._value.get() - before[r] for r in before}
    assert counted == {"retry": 2, "delivered": 4}

    types = [t for t, _ in world.received()]
    # The first event three times (two failures, then delivered), then each of the others once, in order.
    assert types == [
        "OrderPlaced",
        "OrderPlaced",
        "OrderPlaced",
        "OrderStageChanged",
        "ShipmentCreated",
        "OrderStageChanged",
    ]
    ids = [i for _, i in world.received()]
    assert ids[0] == ids[1] == ids[2] and len(set(ids[2:])) == 4  # the same webhook-id on every attempt
    assert all(d.status == "delivered" for d in world.deliveries_repo.all())


async def test_an_event_consumed_twice_is_recorded_and_sent_once() -> None:
    world = World(ScriptedReceiver())
    await world.endpoints.create(SHOP, url="https://shop.example/hook", event_types=ALL)
    placed = lifecycle()[0]
    assert await world.deliveries.on_event(placed) == 1
    assert await world.deliveries.on_event(placed) == 0
    await world.run_for(2)
    assert len(world.receiver.calls) == 1


async def test_only_subscribed_events_of_the_endpoints_own_shop_are_recorded() -> None:
    world = World(ScriptedReceiver())
    await world.endpoints.create(SHOP, url="https://shop.example/hook", event_types=["OrderStageChanged"])
    await world.endpoints.create("shop-2", url="https://other.example/hook", event_types=ALL)
    for e in lifecycle():
        await world.deliveries.on_event(e)
    await world.run_for(2)
    assert [t for t, _ in world.received()] == ["OrderStageChanged", "OrderStageChanged"]
    assert {url for url, _, _ in world.receiver.calls} == {"https://shop.example/hook"}


async def test_a_given_up_delivery_lets_the_lane_go_on() -> None:
    world = World(ScriptedReceiver(500, 500), max_attempts=2, disable_after=10)
    await world.endpoints.create(SHOP, url="https://shop.example/hook", event_types=ALL)
    for e in lifecycle()[:2]:
        await world.deliveries.on_event(e)
    await world.run_for(10)
    statuses = [(d.event_type, d.status) for d in world.deliveries_repo.all()]
    assert statuses == [("OrderPlaced", "failed"), ("OrderStageChanged", "delivered")]


async def test_lanes_of_different_orders_do_not_wait_for_each_other() -> None:
    world = World(ScriptedReceiver(500, 500, 500, 500, 500, 500, 500), disable_after=100, max_attempts=50)
    await world.endpoints.create(SHOP, url="https://shop.example/hook", event_types=ALL)
    stuck, free = lifecycle(), lifecycle()
    await world.deliveries.on_event(stuck[0])
    await world.run_for(1)  # the first order's head fails: it backs off
    world.receiver.script.clear()  # from now on every call succeeds
    await world.deliveries.on_event(stuck[1])
    await world.deliveries.on_event(free[0])
    await world.deliveries.on_event(free[1])
    await world.run_for(1)
    # The other order's two went out; the stuck order's second waits behind its first.
    delivered = {(d.order_id, d.event_type) for d in world.deliveries_repo.all() if d.status == "delivered"}
    assert delivered == {(free[0].payload.order_id, "OrderPlaced"), (free[1].payload.order_id, "OrderStageChanged")}
    await world.run_for(6)
    assert all(d.status == "delivered" for d in world.deliveries_repo.all())


async def test_repeated_failures_disable_the_endpoint_and_enabling_it_resumes_the_queue() -> None:
    world = World(ScriptedReceiver(*[503] * 3), disable_after=3, max_attempts=50)
    made = await world.endpoints.create(SHOP, url="https://shop.example/hook", event_types=ALL)
    events = lifecycle()
    for e in events[:2]:
        await world.deliveries.on_event(e)
    await world.run_for(40)
    disabled = await world.endpoints.get(SHOP, made.endpoint_id)
    assert not disabled.state.enabled and disabled.state.disabled_reason == "failing"
    assert len(world.receiver.calls) == 3
    # Disabled: more events queue, nothing is sent.
    await world.deliveries.on_event(events[2])
    await world.run_for(120)
    assert len(world.receiver.calls) == 3

    await world.endpoints.update(SHOP, made.endpoint_id, enabled=True)
    await world.run_for(3)
    assert [t for t, _ in world.received()][3:] == ["OrderPlaced", "OrderStageChanged", "ShipmentCreated"]
    assert (await world.endpoints.get(SHOP, made.endpoint_id)).state.consecutive_failures == 0


async def test_a_delivery_recorded_while_the_sender_clears_its_lane_is_not_left_behind() -> None:
    world = World(ScriptedReceiver())
    await world.endpoints.create(SHOP, url="https://shop.example/hook", event_types=ALL)
    events = lifecycle()
    await world.deliveries.on_event(events[0])
    await world.run_for(1)
    assert len(world.receiver.calls) == 1
    # The sender read the lane (version v) and found nothing pending; a recording lands before it clears.
    lanes = await world.lanes.due(world.clock.now() + timedelta(days=1), 10)
    lane_read = lanes[0] if lanes else None
    await world.deliveries.on_event(events[1])
    if lane_read is not None:
        assert not await world.lanes.settle(lane_read, None)  # refused: the lane moved on
    await world.run_for(1)
    assert [t for t, _ in world.received()] == ["OrderPlaced", "OrderStageChanged"]


async def test_admin_endpoints_validate_limit_and_replay_by_idempotency_key() -> None:
    world = World(ScriptedReceiver())
    with pytest.raises(InvalidEndpoint):
        await world.endpoints.create(SHOP, url="http://10.0.0.1/", event_types=ALL)
    first = await world.endpoints.create(SHOP, url="https://a.example/", event_types=ALL, idempotency_key="k1")
    again = await world.endpoints.create(SHOP, url="https://a.example/", event_types=ALL, idempotency_key="k1")
    assert again.endpoint_id == first.endpoint_id and again.secret == first.secret
    with pytest.raises(IdempotencyKeyReused):
        await world.endpoints.create(SHOP, url="https://b.example/", event_types=ALL, idempotency_key="k1")
    await world.endpoints.create(SHOP, url="https://b.example/", event_types=ALL)
    await world.endpoints.create(SHOP, url="https://c.example/", event_types=ALL)
    with pytest.raises(TooManyEndpoints):
        await world.endpoints.create(SHOP, url="https://d.example/", event_types=ALL)
    with pytest.raises(EndpointNotFound):
        await world.endpoints.get("shop-2", first.endpoint_id)
    with pytest.raises(EndpointNotFound):
        await world.deliveries.page("shop-2", first.endpoint_id, None, 10)
    page = await world.endpoints.page(SHOP, None, 2)
    assert len(page.items) == 2 and page.next_cursor is not None
    rest = await world.endpoints.page(SHOP, page.next_cursor, 2)
    assert len(rest.items) == 1 and rest.next_cursor is None


async def test_failures_of_many_lanes_in_one_pass_all_count_and_disable_the_endpoint() -> None:
    world = World(ScriptedReceiver(*[500] * 5), disable_after=5, max_attempts=50)
    made = await world.endpoints.create(SHOP, url="https://shop.example/hook", event_types=ALL)
    for _ in range(5):
        await world.deliveries.on_event(lifecycle()[0])  # five orders: five lanes
    assert await world.deliveries.send_due() == 5
    endpoint = (await world.endpoints.get(SHOP, made.endpoint_id)).state
    assert endpoint.consecutive_failures == 5 and not endpoint.enabled
