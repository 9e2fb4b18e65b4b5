"""The projections in MongoDB: shops, staff, order contacts and checkout links, as other services told us."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from oms_runtime.mongo import Document, IndexSpec, upsert_newer
from pymongo import ASCENDING
from pymongo.asynchronous.database import AsyncDatabase

from oms_notification.domain.model import OrderContact, Recipient, ShopInfo, StaffMember

STAFF = "staff"
SHOPS = "shops"
ORDERS = "orders"
CHECKOUT_LINKS = "checkout_links"  # the newest card payment link per order (from PaymentRequested)

PROJECTION_INDEXES: list[IndexSpec] = [
    IndexSpec(STAFF, [("shop_id", 1), ("staff_id", 1)], unique=True),
    IndexSpec(ORDERS, [("shop_id", 1), ("_id", 1)]),
    IndexSpec(CHECKOUT_LINKS, [("shop_id", 1), ("_id", 1)]),
    IndexSpec(SHOPS, [("shop_id", 1)]),
]


class ProjectionsMongo:
    """What other services told us, kept for writing emails: shops, staff and order contacts."""

    def __init__(self, db: AsyncDatabase[Document]) -> None:
        self.shops = db[SHOPS]
        self.staff = db[STAFF]
        self.orders = db[ORDERS]
        self.links = db[CHECKOUT_LINKS]

    async def save_shop(self, shop: ShopInfo) -> None:
        await self.shops.update_one(
            {"_id": shop.shop_id},
            {"$set": {"shop_id": shop.shop_id, "name": shop.name, "locale": shop.locale}},
            upsert=True,
        )

    async def shop(self, shop_id: str) -> ShopInfo | None:
        doc = await self.shops.find_one({"_id": shop_id, "shop_id": shop_id})
        return ShopInfo(shop_id, doc["name"], doc.get("locale", "en")) if doc else None

    async def shop_ids(self, limit: int) -> list[str]:
        docs = await self.shops.find({}, {"_id": 1}).sort("_id", ASCENDING).to_list(length=limit)
        return [str(d["_id"]) for d in docs]

    async def save_staff_member(self, shop_id: str, member: StaffMember) -> None:
        # Upsert by natural key: replaying StaffMemberAdded writes the same values again.
        await self.staff.update_one(
            {"shop_id": shop_id, "staff_id": member.staff_id},
            {
                "$set": {"email": member.email, "name": member.name, "role": member.role, "locale": member.locale},
                "$setOnInsert": {"_id": f"{shop_id}:{member.staff_id}"},
            },
            upsert=True,
        )

    async def staff_of(self, shop_id: str) -> list[StaffMember]:
        # A shop has a handful to a few hundred staff accounts; read them in one bounded query.
        docs = await self.staff.find({"shop_id": shop_id}).sort("staff_id", ASCENDING).to_list(length=1000)
        return [StaffMember(d["staff_id"], d["email"], d["name"], d["role"], d.get("locale", "en")) for d in docs]

    async def save_order(self, shop_id: str, order: OrderContact) -> None:
        customer: dict[str, Any] = {
            "email": order.customer.email,
            "name": order.customer.name,
            "locale": order.customer.locale,
            "phone": order.customer.phone,
        }
        await self.orders.update_one(
            {"_id": order.order_id, "shop_id": shop_id},
            {"$set": {"number": order.number, "customer": customer}},
            upsert=True,
        )

    async def save_checkout_link(self, shop_id: str, order_id: str, url: str, as_of: datetime) -> bool:
        """The newest link wins (a reissued one replaces the first), whatever order messages arrive in."""
        key = {"_id": f"{shop_id}:{order_id}", "shop_id": shop_id, "order_id": order_id}
        return await upsert_newer(self.links, key, {"url": url}, as_of)

    async def checkout_link(self, shop_id: str, order_id: str) -> str | None:
        doc = await self.links.find_one({"_id": f"{shop_id}:{order_id}", "shop_id": shop_id})
        return str(doc["url"]) if doc else None

    async def forget_orders(self, shop_id: str, order_ids: Sequence[str]) -> int:
        """Drop the contacts and payment links of these orders (their customer's data was erased); the
        order stays known as erased, so a late payment event is not parked waiting for its contact."""
        if not order_ids:
            return 0
        ids = list(order_ids)
        erased = await self.orders.update_many(
            {"shop_id": shop_id, "_id": {"$in": ids}}, {"$set": {"erased": True}, "$unset": {"customer": ""}}
        )
        await self.links.delete_many({"shop_id": shop_id, "_id": {"$in": [f"{shop_id}:{o}" for o in ids]}})
        return int(erased.modified_count)

    async def erased(self, shop_id: str, order_id: str) -> bool:
        doc = await self.orders.find_one({"_id": order_id, "shop_id": shop_id}, {"erased": 1})
        return bool(doc and doc.get("erased"))

    async def order(self, shop_id: str, order_id: str) -> OrderContact | None:
        doc = await self.orders.find_one({"_id": order_id, "shop_id": shop_id})
        if doc is None or doc.get("erased"):
            return None
        c = doc["customer"]
        return OrderContact(order_id, doc["number"], Recipient(c["email"], c["name"], c["locale"], c.get("phone")))
