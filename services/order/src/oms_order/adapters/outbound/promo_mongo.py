"""Mongo adapters of the manager actions and pricing: promo codes and their usage, and the projections
of delivery methods (fulfilment's DeliveryMethodChanged) and available stock (catalog's StockLevelChanged).

Usage limits hold without transactions: a unique usage document per (shop, code, customer, order)
makes taking a use idempotent, and conditional `$inc`s on counter documents (filtered on
`uses < limit`) make the limits atomic; a step that fails undoes the steps before it.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from oms_contracts import Money
from oms_contracts.messages.fulfilment import DeliveryMethodChanged
from oms_runtime.coalesce import Coalescer
from oms_runtime.mongo import Document, IndexSpec, fetch_page, upsert_newer
from oms_runtime.recent import Recent
from pymongo import ASCENDING, UpdateOne
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from oms_order.adapters.outbound.bulk_mongo import conditional_upserts
from oms_order.adapters.outbound.checkout_mongo import SHOP_READS_KEPT_SECONDS
from oms_order.application.ports import DuplicatePromoCode, PromoCodePage, PromoUnavailable
from oms_order.domain.checkout import MAX_METHODS, DeliveryMethod
from oms_order.domain.pricing import DeliveryRate, PromoCode

PROMO_CODES = "promo_codes"
PROMO_CUSTOMER_USES = "promo_customer_uses"
PROMO_USAGES = "promo_usages"
DELIVERY_METHODS = "delivery_methods"
STOCK_LEVELS = "stock_levels"
LEVELS_PER_WRITE = 500

PROMO_INDEXES: list[IndexSpec] = [
    IndexSpec(PROMO_CODES, [("shop_id", ASCENDING), ("code", ASCENDING)], unique=True),
    # GET /promo-codes: keyset on _id ("<shop>/<code>") within the shop.
    IndexSpec(PROMO_CODES, [("shop_id", ASCENDING), ("_id", ASCENDING)]),
    IndexSpec(PROMO_CUSTOMER_USES, [("shop_id", ASCENDING), ("code", ASCENDING), ("customer", ASCENDING)], unique=True),
    IndexSpec(
        PROMO_USAGES,
        [("shop_id", ASCENDING), ("code", ASCENDING), ("customer", ASCENDING), ("order_id", ASCENDING)],
        unique=True,
    ),
    IndexSpec(PROMO_USAGES, [("shop_id", ASCENDING), ("order_id", ASCENDING)]),
    IndexSpec(
        DELIVERY_METHODS,
        [("shop_id", ASCENDING), ("delivery_type", ASCENDING), ("currency", ASCENDING), ("code", ASCENDING)],
    ),
    # The checkout's options (GET /checkout/options, the quote, placement): a shop's methods per currency.
    IndexSpec(DELIVERY_METHODS, [("shop_id", ASCENDING), ("currency", ASCENDING), ("code", ASCENDING)]),
    IndexSpec(STOCK_LEVELS, [("shop_id", ASCENDING), ("sku", ASCENDING), ("warehouse_id", ASCENDING)], unique=True),
]


def _promo(doc: Document) -> PromoCode:
    return PromoCode.model_validate(
        {k: v for k, v in doc.items() if k not in ("_id", "shop_id", "uses", "created_at", "created_by")}
    )


def _promo_doc(promo: PromoCode) -> Document:
    doc = promo.model_dump(mode="json")
    for key in ("valid_from", "valid_to"):
        doc[key] = getattr(promo, key)
    return doc


class MongoPromoCodes:
    def __init__(self, db: AsyncDatabase[Document]) -> None:
        self.codes = db[PROMO_CODES]
        self.customer_uses = db[PROMO_CUSTOMER_USES]
        self.usages = db[PROMO_USAGES]

    async def create(self, shop_id: str, promo: PromoCode, *, at: datetime, by: str) -> None:
        doc = {
            "_id": f"{shop_id}/{promo.code}",
            "shop_id": shop_id,
            **_promo_doc(promo),
            "uses": 0,
            "created_at": at,
            "created_by": by,
        }
        try:
            await self.codes.insert_one(doc)
        except DuplicateKeyError as exc:
            raise DuplicatePromoCode(promo.code) from exc

    async def get(self, shop_id: str, code: str) -> tuple[PromoCode, int] | None:
        doc = await self.codes.find_one({"shop_id": shop_id, "code": code})
        return (_promo(doc), int(doc.get("uses", 0))) if doc else None

    async def disable(self, shop_id: str, code: str) -> tuple[PromoCode, int] | None:
        await self.codes.update_one({"shop_id": shop_id, "code": code}, {"$set": {"active": False}})
        return await self.get(shop_id, code)

    async def page(self, shop_id: str, *, cursor: str | None, limit: int) -> PromoCodePage:
        page = await fetch_page(self.codes, {"shop_id": shop_id}, cursor=cursor, limit=limit)
        return PromoCodePage([(_promo(d), int(d.get("uses", 0))) for d in page.items], page.next_cursor)

    async def take_use(self, shop_id: str, promo: PromoCode, *, customer: str, order_id: str) -> None:
        """Count one use of `promo` by `customer` for `order_id`; idempotent per order. Raises PromoUnavailable."""
        code = promo.code
        usage = {
            "_id": f"{shop_id}/{code}/{order_id}",
            "shop_id": shop_id,
            "code": code,
            "customer": customer,
            "order_id": order_id,
        }
        try:
            await self.usages.insert_one(usage)
        except DuplicateKeyError:
            return  # this order's use is counted already
        code_filter: Document = {"_id": f"{shop_id}/{code}", "shop_id": shop_id}
        if promo.max_uses is not None:
            code_filter["uses"] = {"$lt": promo.max_uses}
        taken = await self.codes.update_one(code_filter, {"$inc": {"uses": 1}})
        if taken.matched_count == 0:
            await self.usages.delete_one({"_id": usage["_id"], "shop_id": shop_id})
            raise PromoUnavailable(f"promo code {code} has been used up")
        if promo.max_uses_per_customer is not None:
            try:
                await self.customer_uses.update_one(
                    {
                        "_id": f"{shop_id}/{code}/{customer}",
                        "shop_id": shop_id,
                        "code": code,
                        "customer": customer,
                        "uses": {"$lt": promo.max_uses_per_customer},
                    },
                    {"$inc": {"uses": 1}},
                    upsert=True,
                )
            except DuplicateKeyError:
                await self.codes.update_one({"_id": f"{shop_id}/{code}", "shop_id": shop_id}, {"$inc": {"uses": -1}})
                await self.usages.delete_one({"_id": usage["_id"], "shop_id": shop_id})
                raise PromoUnavailable(f"promo code {code} was already used by this customer") from None

    async def release_use(self, shop_id: str, code: str, order_id: str) -> bool:
        """Give the use back (the order was cancelled); idempotent: only the one who deletes the usage counts down."""
        usage = await self.usages.find_one_and_delete({"_id": f"{shop_id}/{code}/{order_id}", "shop_id": shop_id})
        if usage is None:
            return False
        await self.codes.update_one({"_id": f"{shop_id}/{code}", "shop_id": shop_id}, {"$inc": {"uses": -1}})
        await self.customer_uses.update_one(
            {"_id": f"{shop_id}/{code}/{usage['customer']}", "shop_id": shop_id, "uses": {"$gt": 0}},
            {"$inc": {"uses": -1}},
        )
        return True

    async def usage_count(self, shop_id: str, code: str) -> int:
        return await self.usages.count_documents({"shop_id": shop_id, "code": code})


class MongoDeliveryMethods:
    """The projection of DeliveryMethodChanged: the newest version of each method wins.

    A shop's active methods of a currency are read for every placement and change rarely: what was
    read is kept for `kept_seconds` (ADR 0027); a change projected by this process forgets it at once.
    """

    def __init__(self, db: AsyncDatabase[Document], *, kept_seconds: float = SHOP_READS_KEPT_SECONDS) -> None:
        self.collection = db[DELIVERY_METHODS]
        self._active: Recent[list[DeliveryMethod]] = Recent(kept_seconds)

    async def apply(self, shop_id: str, method: DeliveryMethodChanged, *, as_of: datetime) -> bool:
        applied = await upsert_newer(
            self.collection,
            {"_id": f"{shop_id}/{method.delivery_method_id}", "shop_id": shop_id},
            {
                "code": method.code,
                "name": method.name,
                "delivery_type": method.delivery_type,
                "currency": method.currency,
                "price": method.price.model_dump(mode="json"),
                "free_from": method.free_from.model_dump(mode="json") if method.free_from else None,
                "active": method.active,
            },
            as_of,
        )
        self._active.forget((shop_id, method.currency))
        return applied

    async def rate(
        self, shop_id: str, delivery_type: str, currency: str, code: str | None = None
    ) -> DeliveryRate | None:
        """The shop's active method for the type and currency (the given code, else the first by code)."""
        methods = await self.methods(shop_id, currency)
        found = [m for m in methods if m.delivery_type == delivery_type and (code is None or m.code == code)]
        if not found and len(methods) >= MAX_METHODS:
            found = await self._first_beyond_the_bound(shop_id, delivery_type, currency, code)
        if not found:
            return None
        return DeliveryRate(price=found[0].price, free_from=found[0].free_from, method_code=found[0].code)

    async def _first_beyond_the_bound(
        self, shop_id: str, delivery_type: str, currency: str, code: str | None
    ) -> list[DeliveryMethod]:
        query: Document = {"shop_id": shop_id, "delivery_type": delivery_type, "currency": currency, "active": True}
        if code is not None:
            query["code"] = code
        docs = await self.collection.find(query).sort("code", ASCENDING).limit(1).to_list()
        return [_method(d) for d in docs]

    async def methods(self, shop_id: str, currency: str) -> list[DeliveryMethod]:
        return await self._active.read((shop_id, currency), lambda: self._load(shop_id, currency))

    async def _load(self, shop_id: str, currency: str) -> list[DeliveryMethod]:
        query: Document = {"shop_id": shop_id, "currency": currency, "active": True}
        docs = await self.collection.find(query).sort("code", ASCENDING).limit(MAX_METHODS).to_list()
        return [_method(d) for d in docs]


def _method(d: Document) -> DeliveryMethod:
    return DeliveryMethod(
        code=d["code"],
        # Projected before the name was kept: the code stands in until the method changes again.
        name=d.get("name") or d["code"],
        delivery_type=d["delivery_type"],
        currency=d["currency"],
        price=Money.model_validate(d["price"]),
        free_from=Money.model_validate(d["free_from"]) if d.get("free_from") else None,
    )


class MongoStockLevels:
    """The projection of StockLevelChanged: available units per SKU and warehouse (newest wins)."""

    def __init__(self, db: AsyncDatabase[Document]) -> None:
        self.collection = db[STOCK_LEVELS]
        # The levels the consumer's concurrent handlers (one per SKU) write together: one bulk write.
        self._levels = Coalescer(self._apply_many, limit=LEVELS_PER_WRITE)

    async def apply(self, shop_id: str, sku: str, warehouse_id: str, available: int, *, as_of: datetime) -> bool:
        """Newest `as_of` wins (`upsert_newer`'s rule); False when the stored level is as new or newer."""
        return await self._levels((shop_id, sku, warehouse_id, available, as_of))

    async def _apply_many(self, levels: list[tuple[str, str, str, int, datetime]]) -> list[bool]:
        return await conditional_upserts(
            self.collection,
            [
                UpdateOne(
                    {
                        "_id": f"{shop_id}/{sku}/{warehouse_id}",
                        "shop_id": shop_id,
                        "sku": sku,
                        "warehouse_id": warehouse_id,
                        "as_of": {"$lt": as_of},
                    },
                    {"$set": {"available": available, "as_of": as_of}},
                    upsert=True,
                )
                for shop_id, sku, warehouse_id, available, as_of in levels
            ],
        )

    async def available(self, shop_id: str, skus: Sequence[str]) -> dict[str, int] | None:
        """Available units per SKU over all warehouses; None when nothing is known of any of them."""
        found: dict[str, int] = {}
        async for d in self.collection.find({"shop_id": shop_id, "sku": {"$in": list(skus)}}):
            found[d["sku"]] = found.get(d["sku"], 0) + int(d["available"])
        return found or None
