"""Manager actions, promo codes and stage moves as use cases over in-memory fakes of the ports."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from oms_contracts import Actor
from oms_contracts.messages.common import Customer, SkuQuantity
from oms_order.application.errors import LineNotFound, OrderNotFound
from oms_order.application.order_edits import ActingAs
from oms_order.application.orders import PlaceOrder
from oms_order.application.ports import StoredOrder
from oms_order.application.stage_actions import MoveNotAllowed, StageActions
from oms_order.domain.pipeline import MoveRefused
from oms_order.domain.pricing import InvalidOrder, PromoCode
from oms_runtime.clock import FixedClock
from oms_runtime.store import ConcurrencyError

from .fakes import Wired, wire

SHOP = "shop-1"
MANAGER = Actor(kind="staff", id="m1", role="manager")


@pytest.fixture
def wired() -> Wired:
    return wire(FixedClock(datetime(2026, 3, 1, tzinfo=UTC)))


def by_manager(expected_version: int | None = None) -> ActingAs:
    return ActingAs(actor=MANAGER, channel="console", expected_version=expected_version, correlation_id=None)


async def placed(wired: Wired, promo_code: str | None = None) -> StoredOrder:
    body = PlaceOrder(
        customer=Customer(name="Ann", email="ann@example.com"),
        lines=[SkuQuantity(sku="TEA-1", quantity=2)],
        delivery_type="pickup",
        payment_method="card",
        promo_code=promo_code,
    )
    placed = await wired.service.place(SHOP, body, idempotency_key=None, actor=MANAGER, channel="console")
    return placed.stored


async def test_a_promo_code_use_is_taken_once_and_given_back_when_replaced(wired: Wired) -> None:
    for code, percent in (("TEN", 10), ("FIVE", 5)):
        wired.promos.codes[code] = PromoCode(code=code, kind="percent", value=Decimal(percent))
    order = await placed(wired, promo_code="TEN")
    assert order.order.promo_code == "TEN" and wired.promos.uses["TEN"] == {order.order.id}
    changed = await wired.edits.apply_promo(SHOP, order.order.id, "FIVE", **by_manager())
    assert changed.order.promo_code == "FIVE" and changed.version == 2
    assert wired.promos.uses["TEN"] == set(), "the replaced code's use is given back"
    assert wired.promos.uses["FIVE"] == {order.order.id}


async def test_a_used_up_promo_code_is_refused_naming_the_field(wired: Wired) -> None:
    wired.promos.codes["ONCE"] = PromoCode(code="ONCE", kind="percent", value=Decimal(10), max_uses=1)
    await placed(wired, promo_code="ONCE")
    with pytest.raises(InvalidOrder) as caught:
        await placed(wired, promo_code="ONCE")
    assert caught.value.errors[0].field == "promo_code" and "used up" in caught.value.errors[0].message


async def test_edits_refuse_a_stale_version_and_unknown_lines_and_orders(wired: Wired) -> None:
    order = await placed(wired)
    await wired.edits.add_note(SHOP, order.order.id, "call after 6", **by_manager(expected_version=1))
    with pytest.raises(ConcurrencyError) as stale:
        await wired.edits.add_note(SHOP, order.order.id, "again", **by_manager(expected_version=1))
    assert stale.value.current_version == 2
    with pytest.raises(LineNotFound):
        await wired.edits.change_lines(SHOP, order.order.id, "NOPE-1", 1, mode="set", **by_manager())
    with pytest.raises(OrderNotFound):
        await wired.edits.add_note(SHOP, "nope", "x", **by_manager())


async def test_a_lost_race_is_decided_again_without_a_version(wired: Wired) -> None:
    order = await placed(wired)
    wired.orders.lose_races = 2
    noted = await wired.edits.add_note(SHOP, order.order.id, "call after 6", **by_manager())
    assert noted.version == 4 and [n.text for n in noted.order.staff_notes] == ["call after 6"]


async def test_a_move_the_stage_does_not_allow_names_the_target(wired: Wired) -> None:
    order = await placed(wired)
    stages = StageActions(wired.changes)
    with pytest.raises(MoveNotAllowed):
        await stages.move(SHOP, order.order.id, "completed", actor=MANAGER, channel="console", expected_version=None)
    with pytest.raises(MoveRefused):  # `new` leaves on a fact (stock reserved), not by hand
        await stages.advance(SHOP, order.order.id, actor=MANAGER, channel="console", expected_version=None)
