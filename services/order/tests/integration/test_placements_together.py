"""Placements that run at the same time share their store round trips (ADR 0044), counted on the real
store: the Idempotency-Key look-ups, the price reads, the order counter, the contact keys and the insert
are one round trip each for all of them, and each placement still gets its own answer — a number of its
own, its own first or repeat, its own replay."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

from oms_contracts import Actor, Money, new_id
from oms_contracts.messages.common import Customer
from oms_order.adapters.outbound.customers_mongo import CUSTOMER_KEYS, MongoCustomers
from oms_order.adapters.outbound.orders_mongo import MongoOrderNumbers
from oms_order.application.orders import OrderService, Placed, PlaceOrder
from oms_order.bootstrap import INDEXES, create_app
from oms_order.settings import OrderSettings
from oms_runtime.cli import migrate
from oms_testing.commands import record_commands  # before any client is built: it counts their commands
from oms_testing.infra import Infra, service_database


def _request(name: str, email: str, sku: str = "TEA") -> PlaceOrder:
    return PlaceOrder.model_validate(
        {
            "customer": {"name": name, "email": email, "phone": None},
            "lines": [{"sku": sku, "quantity": 2}],
            "delivery_type": "pickup",
            "payment_method": "card",
        }
    )


async def _place(service: OrderService, shop_id: str, request: PlaceOrder, key: str) -> Placed:
    return await service.place(shop_id, request, idempotency_key=key, actor=Actor.system("test"), channel="web")


async def test_placements_at_once_share_each_round_trip_and_each_gets_its_own_number_kind_and_replay(
    infra: Infra, topic_prefix: str
) -> None:
    settings = infra.settings(OrderSettings, topic_prefix, "order_together", log_json=False)
    await migrate(settings, INDEXES)
    app: Any = create_app(settings)  # the composition root; no consumers or loops run
    service: OrderService = app.state.orders
    shop_id = new_id()
    for sku, price in (("TEA", "10"), ("COFFEE", "12")):
        await app.state.projections.prices.upsert(
            shop_id, sku=sku, name=sku.title(), price=Money.of(price, "EUR"), active=True, as_of=datetime.now(UTC)
        )
    # An earlier order: its key is replayed below, its customer comes back. It also reads the shop's
    # settings that placements keep for a few seconds, so the placements below read none of them.
    earlier = await _place(service, shop_id, _request("Ann", "ann@example.com"), "key-ann")
    assert earlier.stored.order.number == 1 and earlier.stored.order.customer_kind == "first"

    asks = [
        (_request("Ann", "ann@example.com"), "key-ann"),  # the same key and body: a replay
        (_request("Ann", "ANN@example.com", "COFFEE"), "key-ann-2"),  # a repeat customer
        (_request("Bob", "bob@example.com"), "key-bob"),
        (_request("Cleo", "cleo@example.com", "COFFEE"), "key-cleo"),
        (_request("Dan", "dan@example.com"), "key-dan-1"),
        (_request("Dan", "dan@example.com"), "key-dan-2"),  # the same new person twice at once
    ]
    with record_commands(settings.database_name) as log:
        placed = await asyncio.gather(*(_place(service, shop_id, request, key) for request, key in asks))

    replay, ann, bob, cleo, dan_1, dan_2 = placed
    assert replay.replayed and replay.stored.order.id == earlier.stored.order.id
    new = [ann, bob, cleo, dan_1, dan_2]
    assert not any(p.replayed for p in new)
    # Numbers of their own, from one range: unique, no gap, in the order the placements asked.
    assert [p.stored.order.number for p in new] == [2, 3, 4, 5, 6]
    assert [p.stored.order.customer_kind for p in new] == ["repeat", "first", "first", "first", "repeat"]
    # Each priced from its own SKUs of the one read.
    assert [(p.stored.order.lines[0].sku, p.stored.order.lines[0].total) for p in (bob, cleo)] == [
        ("TEA", Money.of("20", "EUR")),
        ("COFFEE", Money.of("24", "EUR")),
    ]
    for one in (
        ("find", "orders"),  # the Idempotency-Key look-ups
        ("find", "sku_prices"),
        ("find", "price_list_prices"),
        ("findAndModify", "order_counters"),
        ("update", "customer_keys"),
        ("insert", "orders"),
    ):
        assert log.summary()[one] == 1, (one, log.summary())

    async with service_database(settings) as db:
        stored = {d["idempotency_key"]: d["number"] async for d in db["orders"].find({"shop_id": shop_id})}
        assert stored == {"key-ann": 1, "key-ann-2": 2, "key-bob": 3, "key-cleo": 4, "key-dan-1": 5, "key-dan-2": 6}
        counter = await db["order_counters"].find_one({"_id": shop_id})
        assert counter is not None and counter["last_number"] == 6


async def test_numbers_asked_together_are_one_update_per_shop_and_never_repeat(infra: Infra, topic_prefix: str) -> None:
    settings = infra.settings(OrderSettings, topic_prefix, "order_numbers", log_json=False)
    await migrate(settings, INDEXES)
    shop, other = new_id(), new_id()
    async with service_database(settings) as db:
        numbers = MongoOrderNumbers(db)
        assert await numbers.next(shop) == 1  # a lone ask: the counter is made
        with record_commands(settings.database_name) as log:
            given = await asyncio.gather(*(numbers.next(s) for s in (shop, other, shop, shop, other)))
        assert given == [2, 1, 3, 4, 2]
        assert log.summary() == {("findAndModify", "order_counters"): 2}, "one update per shop"
        # Two processes (two clients) numbering one shop at once: every number once.
        second = MongoOrderNumbers(db)
        rounds = await asyncio.gather(*(n.next(shop) for _ in range(20) for n in (numbers, second)))
        assert sorted(rounds) == list(range(5, 45))


async def test_contact_keys_registered_together_answer_each_placement_as_one_after_another(
    infra: Infra, topic_prefix: str
) -> None:
    settings = infra.settings(OrderSettings, topic_prefix, "order_keys_together", log_json=False)
    await migrate(settings, INDEXES)
    shop_id = new_id()
    async with service_database(settings) as db:
        register = MongoCustomers(db)
        # A key a manager added to a record: held, but no first order yet.
        await db[CUSTOMER_KEYS].insert_one(
            {
                "_id": f"{shop_id}/email:vera@example.com",
                "shop_id": shop_id,
                "key": "email:vera@example.com",
                "customer_id": "cus-vera",
            }
        )
        vera = Customer(name="Vera", email="vera@example.com", phone="+7 913 000 00 05")
        yuri = Customer(name="Yuri", email="yuri@example.com")
        vera_1, vera_2, yuri_1 = new_id(), new_id(), new_id()
        with record_commands(settings.database_name) as log:
            kinds = await asyncio.gather(
                register.register(shop_id, vera, vera_1),
                register.register(shop_id, yuri, yuri_1),
                register.register(shop_id, vera, vera_2),
            )
        # Vera's first order was given the manager's key and made her phone's; the second is repeat.
        assert kinds == ["first", "first", "repeat"]
        # One write for all; a key given a first order is told apart by one read of the keys.
        assert log.summary() == {("update", CUSTOMER_KEYS): 1, ("find", CUSTOMER_KEYS): 1}
        keys = {d["key"]: d async for d in db[CUSTOMER_KEYS].find({"shop_id": shop_id})}
        assert keys["email:vera@example.com"]["first_order_id"] == vera_1
        assert keys["email:vera@example.com"]["customer_id"] == "cus-vera"
        assert keys["phone:+79130000005"]["first_order_id"] == vera_1
        assert keys["email:yuri@example.com"]["first_order_id"] == yuri_1

        with record_commands(settings.database_name) as usual:
            again = await asyncio.gather(
                register.register(shop_id, yuri, new_id()),
                register.register(shop_id, Customer(name="Zoe", email="zoe@example.com"), new_id()),
            )
        assert again == ["repeat", "first"]
        assert usual.summary() == {("update", CUSTOMER_KEYS): 1}, "no key given: the write's answer says it all"


async def test_two_processes_registering_the_same_new_people_at_once_make_one_first_order_each(
    infra: Infra, topic_prefix: str
) -> None:
    settings = infra.settings(OrderSettings, topic_prefix, "order_keys_two", log_json=False)
    await migrate(settings, INDEXES)
    shop_id = new_id()
    people = [Customer(name=f"P{i}", email=f"p{i}@example.com", phone=f"+7 913 000 10 0{i}") for i in range(5)]
    async with service_database(settings) as db:
        one, other = MongoCustomers(db), MongoCustomers(db)  # two replicas: two batches, two bulk writes
        asks = [(person, register, new_id()) for person in people for register in (one, other, one)]
        kinds = await asyncio.gather(*(register.register(shop_id, p, order_id) for p, register, order_id in asks))
        keys = {d["key"]: d async for d in db[CUSTOMER_KEYS].find({"shop_id": shop_id})}
    for i, person in enumerate(people):
        mine = [(kind, order_id) for (p, _, order_id), kind in zip(asks, kinds, strict=True) if p is person]
        firsts = [order_id for kind, order_id in mine if kind == "first"]
        assert len(firsts) == 1, (person.email, mine)
        # The first order is the one that made both of the person's keys.
        assert keys[f"email:p{i}@example.com"]["first_order_id"] == firsts[0]
        assert keys[f"phone:+791300010{i:02d}"]["first_order_id"] == firsts[0]
