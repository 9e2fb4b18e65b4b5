"""What notification keeps a few seconds (ADR 0040), seen from two replicas on one database: a change
through a replica shows on it at once, on the other within the kept seconds; alerts read the store."""

from __future__ import annotations

from oms_contracts import new_id
from oms_notification.adapters.outbound.projections_mongo import ProjectionsMongo
from oms_notification.domain.model import OrderContact, Recipient, StaffMember
from oms_notification.settings import NotificationSettings
from oms_testing import eventually
from oms_testing.infra import Infra

from .helpers import address, database


def admin(staff_id: str, shop_id: str) -> StaffMember:
    return StaffMember(staff_id, address(staff_id, shop_id), staff_id.title(), "admin")


async def test_a_staff_member_added_on_another_replica_reaches_alerts_at_once_and_new_orders_soon(
    infra: Infra, settings: NotificationSettings, shop_id: str
) -> None:
    db = database(infra, settings)
    here = ProjectionsMongo(db, staff_kept_seconds=1.0)
    there = ProjectionsMongo(db, staff_kept_seconds=1.0)
    await here.save_staff_member(shop_id, admin("ann", shop_id))
    assert [m.staff_id for m in await here.staff_of(shop_id, kept=True)] == ["ann"]

    await there.save_staff_member(shop_id, admin("bob", shop_id))
    # Alerts read the store: Bob hears of a stuck order at once.
    assert [m.staff_id for m in await here.staff_of(shop_id)] == ["ann", "bob"]
    # New orders take the list kept here, Bob joins them within the kept second.
    assert [m.staff_id for m in await here.staff_of(shop_id, kept=True)] == ["ann"]

    async def bob_kept() -> bool:
        return [m.staff_id for m in await here.staff_of(shop_id, kept=True)] == ["ann", "bob"]

    await eventually(bob_kept, timeout=5, what="the kept list renewed")
    # A member saved through this replica: at once.
    await here.save_staff_member(shop_id, admin("cat", shop_id))
    assert [m.staff_id for m in await here.staff_of(shop_id, kept=True)] == ["ann", "bob", "cat"]


async def test_an_order_contact_is_answered_from_its_placement_until_erased(
    infra: Infra, settings: NotificationSettings, shop_id: str
) -> None:
    db = database(infra, settings)
    here = ProjectionsMongo(db, contacts_kept_seconds=1.0)
    there = ProjectionsMongo(db, contacts_kept_seconds=1.0)
    order_id = new_id()
    contact = OrderContact(order_id, 7, Recipient(address("ann", shop_id), "Ann", "en"), "https://shop/o/7")
    await here.save_order(shop_id, contact)
    assert await here.order(shop_id, order_id) == contact
    assert await there.order(shop_id, order_id) == contact  # read from the store

    # Erased through the other replica: here within the kept second, there at once.
    assert await there.forget_orders(shop_id, [order_id]) == 1
    assert await there.order(shop_id, order_id) is None

    async def gone_here() -> bool:
        return await here.order(shop_id, order_id) is None

    await eventually(gone_here, timeout=5, what="the kept contact expired")
    assert await here.erased(shop_id, order_id)

    # Erased through this replica: at once.
    again = OrderContact(new_id(), 8, contact.customer, None)
    await here.save_order(shop_id, again)
    await here.forget_orders(shop_id, [again.order_id])
    assert await here.order(shop_id, again.order_id) is None


async def test_a_placement_handled_after_the_erasure_brings_no_contact_back(
    infra: Infra, settings: NotificationSettings, shop_id: str
) -> None:
    db = database(infra, settings)
    here = ProjectionsMongo(db, contacts_kept_seconds=10.0)
    order_id = new_id()
    contact = OrderContact(order_id, 9, Recipient(address("ann", shop_id), "Ann", "en"), None)
    await here.save_order(shop_id, contact)
    assert await here.forget_orders(shop_id, [order_id]) == 1
    await here.save_order(shop_id, contact)  # OrderPlaced redelivered, or handled after CustomerErased
    assert await here.order(shop_id, order_id) is None
    stored = await db["orders"].find_one({"_id": order_id})
    assert stored is not None and stored.get("erased") is True and "customer" not in stored
