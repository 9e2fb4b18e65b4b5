"""The projections in MongoDB: shops, staff, order contacts and checkout links, as other services told us."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from oms_runtime.coalesce import ASKS_PER_READ, Coalescer, keys_by_shop
from oms_runtime.mongo import Document, IndexSpec, NewestWins, SharedUpserts
from oms_runtime.recent import Recent
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

    def __init__(
        self,
        db: AsyncDatabase[Document],
        *,
        shops_kept_seconds: float = 5.0,
        staff_kept_seconds: float = 5.0,
        contacts_kept_seconds: float = 10.0,
    ) -> None:
        self.shops = db[SHOPS]
        # A shop's name and locale, read for every email and changed almost never: kept a few seconds
        # (ADR 0027); what this process saves replaces it at once.
        self._shops: Recent[ShopInfo] = Recent(shops_kept_seconds)
        # A shop's staff list, kept a few seconds for the "new order" mail and inbox items only
        # (`staff_of(kept=True)`, ADR 0040); alerts always read it, so an admin added a moment ago
        # on another replica hears of a stuck order. A member saved through this process: at once.
        self._staff: Recent[list[StaffMember]] = Recent(staff_kept_seconds)
        # The contact saved from an order's placement, for the status and payment emails that
        # follow within seconds (the same key, so the same replica for its order events). Only an
        # erasure changes a contact: through this process at once, through another replica within
        # these seconds (ADR 0040).
        self._contacts: Recent[OrderContact] = Recent(contacts_kept_seconds)
        self.staff = db[STAFF]
        self.orders = db[ORDERS]
        # The contacts of the placements handled side by side (a consumer batch's orders) in one bulk write.
        self._contact_writes = SharedUpserts(self.orders)
        # A contact no longer kept (the events of a lagging pipeline come long after the placement): the
        # status emails of a consumer batch's orders read theirs in one `$in` per shop.
        self._contact_reads = Coalescer(self._contacts_of, limit=ASKS_PER_READ)
        self.links = db[CHECKOUT_LINKS]
        self._link_writes = NewestWins(self.links)  # the payments handled side by side: one bulk write

    async def save_shop(self, shop: ShopInfo) -> None:
        await self.shops.update_one(
            {"_id": shop.shop_id},
            {"$set": {"shop_id": shop.shop_id, "name": shop.name, "locale": shop.locale}},
            upsert=True,
        )
        self._shops.put(shop.shop_id, shop)

    async def shop(self, shop_id: str) -> ShopInfo | None:
        kept = self._shops.get(shop_id)
        if kept is not None:
            return kept
        doc = await self.shops.find_one({"_id": shop_id, "shop_id": shop_id})
        return self._shops.put(shop_id, ShopInfo(shop_id, doc["name"], doc.get("locale", "en"))) if doc else None

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
        self._staff.forget(shop_id)

    async def staff_of(self, shop_id: str, *, kept: bool = False) -> list[StaffMember]:
        if kept:
            return await self._staff.read(shop_id, lambda: self._read_staff(shop_id))
        return await self._read_staff(shop_id)

    async def _read_staff(self, shop_id: str) -> list[StaffMember]:
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
        # Kept before the write and dropped if the write refuses it: an erasure handled meanwhile, whose
        # `forget_orders` forgets after its own write, then never leaves the contact kept behind it.
        self._contacts.put((shop_id, order.order_id), order)
        try:
            saved = await self._contact_writes(
                # Not over an erasure: a placement handled (or replayed) after it brings nothing back.
                {"_id": order.order_id, "shop_id": shop_id, "erased": {"$ne": True}},
                {"$set": {"number": order.number, "customer": customer, "status_url": order.status_url}},
            )
        except BaseException:
            self._contacts.forget((shop_id, order.order_id))
            raise
        if not saved:
            self._contacts.forget((shop_id, order.order_id))  # the order is known as erased

    async def save_checkout_link(self, shop_id: str, order_id: str, url: str, as_of: datetime) -> bool:
        """The newest link wins (a reissued one replaces the first), whatever order messages arrive in."""
        key = {"_id": f"{shop_id}:{order_id}", "shop_id": shop_id, "order_id": order_id}
        return await self._link_writes(key, {"url": url}, as_of)

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
        # After the write: a placement saved meanwhile (before it) may have kept its contact here.
        for order_id in ids:
            self._contacts.forget((shop_id, order_id))
        await self.links.delete_many({"shop_id": shop_id, "_id": {"$in": [f"{shop_id}:{o}" for o in ids]}})
        return int(erased.modified_count)

    async def erased(self, shop_id: str, order_id: str) -> bool:
        doc = await self.orders.find_one({"_id": order_id, "shop_id": shop_id}, {"erased": 1})
        return bool(doc and doc.get("erased"))

    async def order(self, shop_id: str, order_id: str) -> OrderContact | None:
        saved = self._contacts.get((shop_id, order_id))
        if saved is not None:
            return saved
        doc = await self._contact_reads((shop_id, order_id))
        if doc is None or doc.get("erased"):
            return None
        c = doc["customer"]
        recipient = Recipient(c["email"], c["name"], c["locale"], c.get("phone"))
        return OrderContact(order_id, doc["number"], recipient, doc.get("status_url"))

    async def _contacts_of(self, asks: list[tuple[str, str]]) -> list[Document | None]:
        found: dict[tuple[str, str], Document] = {}
        for shop_id, order_ids in keys_by_shop((shop, (order_id,)) for shop, order_id in asks).items():
            async for doc in self.orders.find({"shop_id": shop_id, "_id": {"$in": order_ids}}):
                found[(shop_id, doc["_id"])] = doc
        return [found.get(ask) for ask in asks]
