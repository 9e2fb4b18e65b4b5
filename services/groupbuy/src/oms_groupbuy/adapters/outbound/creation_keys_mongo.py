"""Idempotency keys of creating requests (opening a purchase), one document per key."""

from __future__ import annotations

from contextlib import suppress

from oms_runtime.mongo import Document, IndexSpec
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import DuplicateKeyError

CREATION_KEYS = "creation_keys"

# Found by _id ("<shop>:<caller>:<key>", MongoDB's unique index); this one serves a shop's clean-up.
CREATION_KEY_INDEXES: list[IndexSpec] = [IndexSpec(CREATION_KEYS, [("shop_id", 1), ("aggregate_id", 1)])]


class CreationKeysMongo:
    """Idempotency keys of creating requests, by `_id` = "<shop>:<caller>:<key>" (MongoDB's unique _id)."""

    def __init__(self, collection: AsyncCollection[Document]) -> None:
        self.collection = collection

    async def claim(self, key: str, shop_id: str, aggregate_id: str, fingerprint: str) -> tuple[str, str]:
        with suppress(DuplicateKeyError):
            await self.collection.insert_one(
                {"_id": key, "shop_id": shop_id, "aggregate_id": aggregate_id, "fingerprint": fingerprint}
            )
            return aggregate_id, fingerprint
        doc = await self.collection.find_one({"_id": key})
        assert doc is not None  # the insert clashed with it
        return str(doc["aggregate_id"]), str(doc["fingerprint"])
