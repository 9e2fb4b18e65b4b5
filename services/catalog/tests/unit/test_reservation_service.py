"""The reservation use cases over fakes: all or nothing, idempotent, no oversell, events built once."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from oms_catalog.application.partial_release import ReservationNotSettled
from oms_catalog.application.reservations import UnknownReservation
from oms_catalog.domain.allocation import Line
from oms_catalog.domain.catalog import Sku, Warehouse
from oms_catalog.domain.reservation import ReservationStatus
from oms_catalog.domain.shop_settings import ShopCatalogSettings
from oms_contracts import Actor, Envelope, Money
from oms_contracts.messages.catalog import ReleaseStock
from oms_runtime.errors import ConcurrencyError

from .fakes import SHOP, FakeShopSettings, FakeWarehouses, World

ADMIN = Actor(kind="staff", id="boss", role="admin")
ORDERS = Actor.system("order")


async def _world(**stock: int) -> World:
    """Warehouses msk and spb; `stock` maps "SKU@warehouse" to units received."""
    world = World(
        warehouses=FakeWarehouses(Warehouse("msk", "Moscow", "msk"), Warehouse("spb", "Saint Petersburg", "spb"))
    )
    for key, units in stock.items():
        sku, warehouse = key.split("@")
        if await world.skus.get(SHOP, sku) is None:
            await world.catalog.upsert_sku(SHOP, Sku(sku, f"Item {sku}", Money.of("10", "RUB")), ADMIN)
        await world.stock.receive(
            SHOP, receipt_id=f"r-{key}", sku=sku, warehouse_id=warehouse, quantity=units, note=None, actor=ADMIN
        )
    return world


def _command(order_id: str, **payload: Any) -> Envelope[Any]:
    return Envelope.new(ReleaseStock(order_id=order_id, reason="edit", **payload), shop_id=SHOP, actor=ORDERS)


async def test_a_reservation_takes_every_line_from_one_warehouse_and_announces_it_once() -> None:
    world = await _world(**{"A@msk": 5, "B@msk": 2, "A@spb": 9})
    done = await world.reservations.reserve(SHOP, "o-1", [Line("A", 3), Line("B", 1)], "msk")
    assert done.status is ReservationStatus.RESERVED
    assert {(p.warehouse_id, p.sku, p.quantity) for p in done.picks} == {("msk", "A", 3), ("msk", "B", 1)}
    assert world.stock_store.level("A", "msk").reservations == {"o-1": 3}
    assert done.expires_at == world.clock.now() + timedelta(minutes=60)  # unpaid: the shop's default TTL

    again = await world.reservations.reserve(SHOP, "o-1", [Line("A", 3), Line("B", 1)], "msk")
    assert again == done
    [reserved] = world.events_of("StockReserved")
    assert reserved.payload.order_id == "o-1" and reserved.actor == world.events.system_actor
    assert world.stock_store.level("A", "msk").reserved == 3  # the replay took nothing more


async def test_not_enough_stock_rejects_with_the_short_lines_and_holds_nothing() -> None:
    world = await _world(**{"A@msk": 2, "A@spb": 1})
    done = await world.reservations.reserve(SHOP, "o-1", [Line("A", 5)], "msk")
    assert done.status is ReservationStatus.REJECTED
    [rejected] = world.events_of("StockReservationRejected")
    assert [(s.sku, s.quantity, s.available) for s in rejected.payload.short] == [("A", 5, 3)]
    assert world.stock_store.level("A", "msk").reserved == world.stock_store.level("A", "spb").reserved == 0


async def test_stock_gone_between_plan_and_take_is_planned_again_then_rejected_and_nothing_is_stranded() -> None:
    world = await _world(**{"A@msk": 5})
    real_apply = world.stock_store.apply

    async def thief(*args: Any, **kwargs: Any) -> Any:
        # Somebody takes the units right before each step of this order.
        world.stock_store.docs[("A", "msk")].level = world.stock_store.level("A", "msk").apply(
            world.stock_store.level("A", "msk").reserve("thief", 5) or _never()
        )
        world.stock_store.apply = real_apply  # type: ignore[method-assign]
        return await real_apply(*args, **kwargs)

    world.stock_store.apply = thief  # type: ignore[method-assign]
    done = await world.reservations.reserve(SHOP, "o-1", [Line("A", 2)], None)
    assert done.status is ReservationStatus.REJECTED
    assert "o-1" not in world.stock_store.level("A", "msk").reservations


def _never() -> Any:
    raise AssertionError("the thief found nothing to take")


async def test_a_lost_race_on_the_reservation_is_decided_again_on_what_the_winner_stored() -> None:
    world = await _world(**{"A@msk": 5})
    await world.reservations.reserve(SHOP, "o-1", [Line("A", 2)], None)
    world.reservation_store.race(2)  # two other deliveries of a command win first
    released = await world.reservations.release(SHOP, "o-1", "cancelled")
    assert released.status is ReservationStatus.RELEASED
    assert world.stock_store.level("A", "msk").reserved == 0
    assert len(world.events_of("StockReleased")) == 1


async def test_losing_every_race_gives_up_with_a_concurrency_error_the_consumer_retries() -> None:
    world = await _world(**{"A@msk": 5})
    await world.reservations.reserve(SHOP, "o-1", [Line("A", 2)], None)
    world.reservation_store.race(99)
    with pytest.raises(ConcurrencyError):
        await world.reservations.release(SHOP, "o-1", "cancelled")


async def test_a_release_before_the_reservation_leaves_a_tombstone_so_a_late_reserve_takes_nothing() -> None:
    world = await _world(**{"A@msk": 5})
    released = await world.reservations.release(SHOP, "o-1", "cancelled")
    assert released.status is ReservationStatus.RELEASED
    late = await world.reservations.reserve(SHOP, "o-1", [Line("A", 2)], None)
    assert late.status is ReservationStatus.RELEASED
    assert world.stock_store.level("A", "msk").reserved == 0
    assert len(world.events_of("StockReleased")) == 1 and not world.events_of("StockReserved")


async def test_a_shipment_commits_what_the_order_holds_once() -> None:
    world = await _world(**{"A@msk": 5})
    await world.reservations.reserve(SHOP, "o-1", [Line("A", 2)], None)
    for _ in range(2):
        await world.reservations.commit_shipment(SHOP, "o-1", "s-1", "msk", [Line("A", 2)])
    level = world.stock_store.level("A", "msk")
    assert (level.on_hand, level.reserved, level.available) == (3, 0, 3)
    assert len(world.events_of("StockCommitted")) == 1
    with pytest.raises(UnknownReservation):
        await world.reservations.commit_shipment(SHOP, "o-404", "s-2", "msk", [Line("A", 1)])


async def test_a_payment_secures_the_reservation_and_the_expiry_loop_releases_only_unpaid_ones() -> None:
    world = await _world(**{"A@msk": 9})
    world.shop_settings = FakeShopSettings(ShopCatalogSettings(reservation_ttl_minutes=30))
    world.__post_init__()
    for order_id in ("paid", "unpaid"):
        await world.reservations.reserve(SHOP, order_id, [Line("A", 2)], None)
    payment = _command("paid")
    await world.expiry.secure(SHOP, "paid", "paid", payment)
    await world.expiry.secure(SHOP, "paid", "paid", payment)  # a replay of the payment
    world.clock.advance(timedelta(minutes=31))
    assert await world.expiry.expire_due() == 1
    assert world.reservation_store.get("paid").secured == "paid"
    assert world.reservation_store.get("unpaid").status is ReservationStatus.RELEASED
    assert world.reservation_store.get("unpaid").reason == "expired"
    assert world.stock_store.level("A", "msk").reservations == {"paid": 2}
    assert await world.expiry.secure(SHOP, "nobody", "paid", _command("nobody")) is None


async def test_a_partial_release_gives_back_only_those_units_once() -> None:
    world = await _world(**{"A@msk": 5, "B@msk": 5})
    await world.reservations.reserve(SHOP, "o-1", [Line("A", 3), Line("B", 1)], None)
    command = _command("o-1")
    for _ in range(2):
        await world.partial.release_lines(SHOP, "o-1", [Line("A", 1)], "edit", command)
    reservation = world.reservation_store.get("o-1")
    assert sorted((ln.sku, ln.quantity) for ln in reservation.lines) == [("A", 2), ("B", 1)]
    assert world.stock_store.level("A", "msk").reservations == {"o-1": 2}
    await world.partial.release_lines(SHOP, "o-1", [Line("A", 2), Line("B", 1)], "edit", _command("o-1"))
    assert world.reservation_store.get("o-1").status is ReservationStatus.RELEASED
    assert len(world.events_of("StockReleased")) == 1
    with pytest.raises(ReservationNotSettled):
        await world.partial.release_lines(SHOP, "o-404", [Line("A", 1)], "edit", _command("o-404"))


async def test_a_change_of_lines_holds_exactly_the_new_set_or_is_rejected() -> None:
    world = await _world(**{"A@msk": 5, "B@msk": 1})
    await world.reservations.reserve(SHOP, "o-1", [Line("A", 2)], None)
    cause = _command("o-1")
    changed = await world.changes.change(SHOP, "o-1", "c-1", [Line("A", 1), Line("B", 1)], cause)
    assert sorted((ln.sku, ln.quantity) for ln in changed.lines) == [("A", 1), ("B", 1)]
    assert world.stock_store.level("A", "msk").reservations == {"o-1": 1}
    assert world.stock_store.level("B", "msk").reservations == {"o-1": 1}
    again = await world.changes.change(SHOP, "o-1", "c-1", [Line("A", 1), Line("B", 1)], cause)
    assert again == changed and len(world.events_of("ReservationChanged")) == 1

    refused = await world.changes.change(SHOP, "o-1", "c-2", [Line("B", 3)], cause)
    assert sorted((ln.sku, ln.quantity) for ln in refused.lines) == [("A", 1), ("B", 1)]  # the old lines stay
    [rejected] = world.events_of("ReservationChangeRejected")
    assert rejected.payload.reason == "not enough stock"
