"""VK communities connected to shops, and the intake log of VK orders (one document per order)."""

from __future__ import annotations

from contextlib import suppress

from oms_runtime.mongo import Document, IndexSpec
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import DuplicateKeyError

from oms_groupbuy.application.ports import IntakeRecord
from oms_groupbuy.domain.vk import VkGroup

VK_GROUPS = "vk_groups"
INTAKE_LOG = "intake_log"

# Both are found by _id alone (a callback carries no shop): the community id, the order's reference.
# The shop is checked on the document. (The unique _id index is MongoDB's own.)
VK_INDEXES: list[IndexSpec] = [
    IndexSpec(VK_GROUPS, [("shop_id", 1), ("_id", 1)]),
    IndexSpec(INTAKE_LOG, [("shop_id", 1), ("purchase_id", 1)]),
]


class VkGroupsMongo:
    def __init__(self, collection: AsyncCollection[Document]) -> None:
        self.collection = collection

    async def get(self, group_id: int) -> VkGroup | None:
        doc = await self.collection.find_one({"_id": str(group_id)})
        if doc is None:
            return None
        return VkGroup(int(doc["_id"]), doc["shop_id"], doc["secret"], doc["confirmation"])

    async def put(self, group: VkGroup) -> bool:
        fields = {"secret": group.secret, "confirmation": group.confirmation}
        try:
            # Filtered on the shop too: another shop's community is never overwritten (the insert clashes).
            await self.collection.update_one(
                {"_id": str(group.group_id), "shop_id": group.shop_id},
                {"$set": fields, "$setOnInsert": {"shop_id": group.shop_id}},
                upsert=True,
            )
        except DuplicateKeyError:
            return False
        return True


class IntakeLogMongo:
    def __init__(self, collection: AsyncCollection[Document]) -> None:
        self.collection = collection

    async def get(self, external_ref: str) -> IntakeRecord | None:
        doc = await self.collection.find_one({"_id": external_ref})
        if doc is None:
            return None
        return IntakeRecord(doc["_id"], doc["shop_id"], doc["purchase_id"], doc["participant_id"])

    async def put(self, record: IntakeRecord) -> None:
        with suppress(DuplicateKeyError):  # recorded before: the first record stands
            await self.collection.insert_one(
                {
                    "_id": record.external_ref,
                    "shop_id": record.shop_id,
                    "purchase_id": record.purchase_id,
                    "participant_id": record.participant_id,
                }
            )
