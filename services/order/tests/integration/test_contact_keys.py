"""The one register of contact keys (ADR 0036) against the real store: the placement registers the
first order and gives a new key to the order's own record id, the records' consumer follows without a
claim, concurrent first orders of one person end in one record, and the migration from the old
first/repeat register is idempotent."""

from __future__ import annotations

import asyncio
from typing import Any

from oms_contracts import new_id
from oms_contracts.messages.common import Customer
from oms_order.adapters.outbound.customers_mongo import (
    CUSTOMER_KEYS,
    OLD_FIRST_ORDERS,
    MongoCustomers,
    fold_first_orders_into_contact_keys,
)
from oms_testing import eventually

from .conftest import OrderApp, order_body
from .test_customers import found, place, staff


async def keys_of(app: OrderApp, shop_id: str) -> dict[str, dict[str, Any]]:
    async with app.mongo() as db:
        return {d["key"]: d async for d in db[CUSTOMER_KEYS].find({"shop_id": shop_id})}


async def kind_of(app: OrderApp, shop_id: str, order_id: str) -> str:
    async with app.mongo() as db:
        order = await db["orders"].find_one({"_id": order_id}, {"shop_id": 1, "customer_kind": 1})
    assert order is not None and order["shop_id"] == shop_id
    return str(order["customer_kind"])


async def test_a_new_person_keys_go_to_her_record_at_placement_and_a_repeat_order_claims_nothing(
    app: OrderApp, shop_id: str
) -> None:
    await app.sku_on_sale(shop_id, "TEA-1", "2.50")
    first = await place(app, shop_id, "Olga@Example.com", "+7 999 111-22-33")
    keys = await keys_of(app, shop_id)
    assert set(keys) == {"email:olga@example.com", "phone:+79991112233"}
    assert {(d["first_order_id"], d["customer_id"]) for d in keys.values()} == {(first, f"cus-{first}")}
    second = await place(app, shop_id, "olga@example.com", "8 999 111 22 33")
    assert (await kind_of(app, shop_id, first), await kind_of(app, shop_id, second)) == ("first", "repeat")
    [olga] = await found(app, shop_id, "olga@", orders=2)
    assert olga["customer_id"] == f"cus-{first}"
    assert await keys_of(app, shop_id) == keys  # nothing moved, nothing claimed twice
    # A new email of a known phone: given to the new order's id at placement, moved to Olga's record.
    third = await place(app, shop_id, "olga.work@example.com", "+79991112233")
    assert await kind_of(app, shop_id, third) == "repeat"
    await found(app, shop_id, "olga@", orders=3)

    async def moved() -> dict[str, Any] | None:
        work = (await keys_of(app, shop_id))["email:olga.work@example.com"]
        return work if work["customer_id"] == f"cus-{first}" else None

    work = await eventually(moved, what="the new email moved to the person's record")
    assert work["first_order_id"] == third


async def test_first_orders_of_one_person_placed_at_once_end_in_one_record_with_one_holder_per_key(
    app: OrderApp, shop_id: str
) -> None:
    await app.sku_on_sale(shop_id, "TEA-1", "2.50")
    body = order_body(("TEA-1", 1), delivery_type="pickup")
    body["customer"] = {"name": "Ivan Race", "email": "ivan@example.com", "phone": "+7 912 000 00 01"}
    placed = await asyncio.gather(*(app.place(shop_id, body) for _ in range(6)))
    assert [r.status_code for r in placed] == [201] * 6, [r.text for r in placed]
    order_ids = [str(r.json()["order_id"]) for r in placed]
    kinds = [await kind_of(app, shop_id, order_id) for order_id in order_ids]
    assert kinds.count("first") <= 1 and kinds.count("repeat") >= 5
    [ivan] = await found(app, shop_id, "ivan@", orders=6)
    keys = await keys_of(app, shop_id)
    assert set(keys) == {"email:ivan@example.com", "phone:+79120000001"}
    assert {d["customer_id"] for d in keys.values()} == {ivan["customer_id"]}
    assert {d["first_order_id"] for d in keys.values()} <= set(order_ids)


async def test_the_old_first_order_register_moves_into_the_contact_keys_once(app: OrderApp, shop_id: str) -> None:
    earlier, later, held_by = new_id(), new_id(), f"cus-{new_id()}"
    old = [
        # Both registers had this email: the records' holder stays, the first order joins it.
        {"_id": f"{shop_id}/email:maria@example.com", "shop_id": shop_id, "key": "email:maria@example.com",
         "first_order_id": earlier, "name": "maria", "orders": 3},
        # A phone kept as its last ten digits becomes the E.164 key a new order has.
        {"_id": f"{shop_id}/phone:9995554433", "shop_id": shop_id, "key": "phone:9995554433",
         "first_order_id": earlier, "name": "maria", "orders": 3},
        # Registered again by the new code meanwhile: the earlier first order wins.
        {"_id": f"{shop_id}/email:late@example.com", "shop_id": shop_id, "key": "email:late@example.com",
         "first_order_id": earlier, "name": "late", "orders": 1},
        # Nothing a new order could match: dropped.
        {"_id": f"{shop_id}/phone:12345", "shop_id": shop_id, "key": "phone:12345",
         "first_order_id": earlier, "name": "short", "orders": 1},
    ]  # fmt: skip
    async with app.mongo() as db:
        await db[OLD_FIRST_ORDERS].insert_many(old)
        await db[CUSTOMER_KEYS].insert_many(
            [
                {"_id": f"{shop_id}/email:maria@example.com", "shop_id": shop_id,
                 "key": "email:maria@example.com", "customer_id": held_by},
                {"_id": f"{shop_id}/email:late@example.com", "shop_id": shop_id, "key": "email:late@example.com",
                 "customer_id": f"cus-{later}", "first_order_id": later},
            ]
        )  # fmt: skip
        assert await fold_first_orders_into_contact_keys(db) >= len(old)
        after_first = await keys_of(app, shop_id)
        assert await fold_first_orders_into_contact_keys(db) == 0  # a second run finds nothing to do
        assert await db[OLD_FIRST_ORDERS].count_documents({"shop_id": shop_id}) == 0
    assert await keys_of(app, shop_id) == after_first
    assert {k: (d.get("first_order_id"), d.get("customer_id")) for k, d in after_first.items()} == {
        "email:maria@example.com": (earlier, held_by),
        "phone:+79995554433": (earlier, None),
        "email:late@example.com": (earlier, f"cus-{later}"),
    }
    # Maria orders again with the phone written another way: a repeat customer, found in her record.
    await app.sku_on_sale(shop_id, "TEA-1", "2.50")
    again = await place(app, shop_id, "maria.new@example.com", "8 (999) 555-44-33")
    assert await kind_of(app, shop_id, again) == "repeat"
    assert (await keys_of(app, shop_id))["phone:+79995554433"]["first_order_id"] == earlier


async def test_erasure_forgets_the_persons_keys_and_her_first_orders(app: OrderApp, shop_id: str) -> None:
    await app.sku_on_sale(shop_id, "TEA-1", "2.50")
    first = await place(app, shop_id, "erase.me@example.com", "+7 999 777-66-55")
    [person] = await found(app, shop_id, "erase.me@", orders=1)
    erased = await app.client.post(f"/customers/{person['customer_id']}/erase", headers=staff(shop_id, "admin"))
    assert erased.status_code == 200, erased.text
    assert await keys_of(app, shop_id) == {}
    again = await place(app, shop_id, "erase.me@example.com", "+7 999 777-66-55")
    assert again != first and await kind_of(app, shop_id, again) == "first"


async def test_registering_one_new_person_many_times_at_once_makes_at_most_one_first_order(
    app: OrderApp, shop_id: str
) -> None:
    person = Customer(name="Pyotr", email="pyotr@example.com", phone="+7 913 000 00 02")
    order_ids = [new_id() for _ in range(12)]
    async with app.mongo() as db:
        register = MongoCustomers(db)
        kinds = await asyncio.gather(*(register.register(shop_id, person, order_id) for order_id in order_ids))
    assert kinds.count("first") <= 1, kinds
    keys = await keys_of(app, shop_id)
    assert set(keys) == {"email:pyotr@example.com", "phone:+79130000002"}
    assert all(d["first_order_id"] in order_ids for d in keys.values())
    if "first" in kinds:  # the first order is the one that made both keys
        first = order_ids[kinds.index("first")]
        assert {d["first_order_id"] for d in keys.values()} == {first}
