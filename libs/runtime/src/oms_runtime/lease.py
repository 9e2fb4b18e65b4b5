"""A lease document in MongoDB so that a loop runs once per cluster, whatever the replica count."""

from __future__ import annotations

from datetime import timedelta

from pymongo import ReturnDocument
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import DuplicateKeyError

from oms_runtime.clock import Clock
from oms_runtime.mongo import Document


class Lease:
    def __init__(
        self, collection: AsyncCollection[Document], name: str, holder: str, ttl: timedelta, clock: Clock
    ) -> None:
        self.collection = collection
        self.name = name
        self.holder = holder
        self.ttl = ttl
        self.clock = clock

    async def acquire(self) -> bool:
        """Take or renew the lease; False while another holder's lease has not expired."""
        now = self.clock.now()
        try:
            doc = await self.collection.find_one_and_update(
                {"_id": self.name, "$or": [{"holder": self.holder}, {"expires_at": {"$lt": now}}]},
                {"$set": {"holder": self.holder, "expires_at": now + self.ttl}},
                upsert=True,
                return_document=ReturnDocument.AFTER,
            )
        except DuplicateKeyError:
            return False  # the document exists and is held by someone else
        return doc is not None and doc.get("holder") == self.holder

    async def release(self) -> None:
        await self.collection.delete_one({"_id": self.name, "holder": self.holder})
