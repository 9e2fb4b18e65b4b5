"""What messaging knows of joint purchases, participants, their orders and partners (a projection).

One collection, one document per fact, `_id` = "<shop>:<kind>:<id>" and `shop_id` in every filter; each
message sets its fact with an upsert, so a replay writes the same thing again.
"""

from __future__ import annotations

from typing import Any

from oms_runtime.mongo import Document, IndexSpec
from pymongo.asynchronous.collection import AsyncCollection

from oms_messaging.domain.partners import OrderFact, ParticipantFact, PurchaseFact

DIRECTORY = "groupbuy_directory"

# Every read is by `_id` (with `shop_id`): the primary key serves it. Declared for the migrate role's list.
DIRECTORY_INDEXES: list[IndexSpec] = [IndexSpec(DIRECTORY, [("shop_id", 1), ("kind", 1)])]


class DirectoryMongo:
    def __init__(self, collection: AsyncCollection[Document]) -> None:
        self.collection = collection

    async def _set(self, shop_id: str, kind: str, key: str, fields: dict[str, Any]) -> None:
        await self.collection.update_one(
            {"_id": f"{shop_id}:{kind}:{key}", "shop_id": shop_id}, {"$set": {"kind": kind, **fields}}, upsert=True
        )

    async def _get(self, shop_id: str, kind: str, key: str) -> Document | None:
        return await self.collection.find_one({"_id": f"{shop_id}:{kind}:{key}", "shop_id": shop_id})

    async def record_purchase(self, shop_id: str, fact: PurchaseFact) -> None:
        await self._set(shop_id, "purchase", fact.purchase_id, {"title": fact.title})

    async def record_participant(self, shop_id: str, fact: ParticipantFact) -> None:
        fields: dict[str, Any] = {"purchase_id": fact.purchase_id, "partner_id": fact.partner_id}
        if fact.name is not None:
            fields["name"] = fact.name
        await self._set(shop_id, "participant", fact.participant_id, fields)

    async def record_order(self, shop_id: str, fact: OrderFact) -> None:
        await self._set(
            shop_id,
            "order",
            fact.order_id,
            {"purchase_id": fact.purchase_id, "participant_id": fact.participant_id, "name": fact.name},
        )

    async def record_partner(self, shop_id: str, partner_id: str, name: str) -> None:
        await self._set(shop_id, "partner", partner_id, {"name": name})

    async def purchase(self, shop_id: str, purchase_id: str) -> PurchaseFact | None:
        doc = await self._get(shop_id, "purchase", purchase_id)
        return PurchaseFact(purchase_id, doc["title"]) if doc is not None else None

    async def participant(self, shop_id: str, participant_id: str) -> ParticipantFact | None:
        doc = await self._get(shop_id, "participant", participant_id)
        if doc is None:
            return None
        return ParticipantFact(participant_id, doc["purchase_id"], doc.get("partner_id"), doc.get("name"))

    async def order(self, shop_id: str, order_id: str) -> OrderFact | None:
        doc = await self._get(shop_id, "order", order_id)
        if doc is None:
            return None
        return OrderFact(order_id, doc["purchase_id"], doc["participant_id"], doc.get("name"))

    async def is_partner(self, shop_id: str, staff_id: str) -> bool:
        return await self._get(shop_id, "partner", staff_id) is not None
