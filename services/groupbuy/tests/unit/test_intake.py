"""The VK intake over fakes: a VK order becomes a participant of the collecting purchase, once."""

from __future__ import annotations

from datetime import timedelta

import pytest
from oms_contracts import Actor
from oms_groupbuy.application.intake import GroupTaken, VkIntake
from oms_groupbuy.application.purchases import Caller, Purchases
from oms_runtime.clock import FixedClock
from oms_runtime.commands import RetryPolicy
from oms_runtime.events import EventFactory

from .builders import NOW, ids
from .fakes import FakeCreationKeys, FakeIntakeLog, FakePartners, FakePurchases, FakeVkGroups
from .test_purchases_app import ADMIN, SHOP, spec
from .test_vk import GROUP, body


@pytest.fixture
def repo() -> FakePurchases:
    return FakePurchases()


@pytest.fixture
def service(repo: FakePurchases) -> Purchases:
    clock = FixedClock(NOW)
    return Purchases(
        repo,
        FakePartners(),
        EventFactory("groupbuy", clock),
        clock,
        RetryPolicy(3),
        FakeCreationKeys(),
        new_id=ids("id-"),
    )


@pytest.fixture
async def intake(repo: FakePurchases, service: Purchases) -> VkIntake:
    intake = VkIntake(FakeVkGroups(), FakeIntakeLog(), repo, service)
    await intake.connect(ADMIN, GROUP.group_id, GROUP.secret, GROUP.confirmation)
    return intake


async def test_a_vk_order_joins_the_collecting_purchase_that_offers_its_products_once(
    intake: VkIntake, service: Purchases, repo: FakePurchases
) -> None:
    hats_only = await service.open(ADMIN, spec())  # offers DRESS-M too: the oldest that offers all wins
    later = await service.open(ADMIN, spec())
    assert await intake.callback(GROUP.group_id, body("confirmation")) == GROUP.confirmation
    for name in ("market_order_new", "market_order_new", "market_order_edit"):
        assert await intake.callback(GROUP.group_id, body(name)) == "ok"
    first = await repo.load(SHOP, hats_only.state.purchase_id)
    assert first is not None
    [participant] = first.state.participants
    assert (participant.name, participant.currency, participant.external_ref) == (
        "Ирина Смирнова",
        "RUB",
        "vk:218877123:17",
    )
    assert sorted(i.sku for i in first.state.items_of(participant.participant_id)) == ["DRESS-M", "SCARF"]
    untouched = await repo.load(SHOP, later.state.purchase_id)
    assert untouched is not None and untouched.state.participants == ()
    # Once stopped, the same order is still not taken again elsewhere (the intake log remembers).
    await service.stop(ADMIN, hats_only.state.purchase_id)
    assert await intake.callback(GROUP.group_id, body("market_order_edit")) == "ok"
    again = await repo.load(SHOP, later.state.purchase_id)
    assert again is not None and again.state.participants == ()


async def test_an_order_nobody_offers_or_a_wrong_secret_changes_nothing(
    intake: VkIntake, service: Purchases, repo: FakePurchases
) -> None:
    assert await intake.callback(GROUP.group_id, body("market_order_new")) == "ok"  # no purchase yet
    opened = await service.open(ADMIN, spec())
    assert await intake.callback(GROUP.group_id, body("market_order_new", secret="nope")) == "ok"
    assert await intake.callback(999, body("market_order_new", group_id=999)) == "ok"
    loaded = await repo.load(SHOP, opened.state.purchase_id)
    assert loaded is not None and loaded.state.participants == ()
    assert await intake.callback(GROUP.group_id, body("market_order_new")) == "ok"
    loaded = await repo.load(SHOP, opened.state.purchase_id)
    assert loaded is not None and len(loaded.state.participants) == 1
    assert loaded.state.closes_at - NOW == timedelta(days=7)


async def test_a_community_belongs_to_one_shop(intake: VkIntake) -> None:
    other = Caller("shop-2", Actor(kind="staff", id="a2", role="admin"))
    with pytest.raises(GroupTaken):
        await intake.connect(other, GROUP.group_id, GROUP.secret, GROUP.confirmation)
    assert (await intake.connected(ADMIN, GROUP.group_id)).shop_id == SHOP
