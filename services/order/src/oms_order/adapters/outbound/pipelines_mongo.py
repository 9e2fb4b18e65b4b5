"""Pipeline versions (immutable, one document each), the latest version per key, and the shop's
pipeline settings."""

from __future__ import annotations

from datetime import datetime

from oms_contracts import Actor
from oms_runtime.mongo import Document, IndexSpec, fetch_page
from oms_runtime.store import ConcurrencyError
from pymongo import ASCENDING, DESCENDING
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from oms_order.application.pipeline_definitions import PipelineDefinition, PipelineSettings, StoredPipeline

PIPELINES = "pipelines"
PIPELINE_HEADS = "pipeline_heads"
PIPELINE_SETTINGS = "pipeline_settings"

PIPELINE_INDEXES: list[IndexSpec] = [
    # One document per version; the unique index is what makes two concurrent edits one winner.
    IndexSpec(PIPELINES, [("shop_id", ASCENDING), ("key", ASCENDING), ("version", DESCENDING)], unique=True),
    # GET /pipelines: keys in order (the head's _id is "<shop>:<key>", the page cursor).
    IndexSpec(PIPELINE_HEADS, [("shop_id", ASCENDING), ("_id", ASCENDING)]),
    IndexSpec(PIPELINE_SETTINGS, [("shop_id", ASCENDING), ("_id", ASCENDING)]),
]


def _stored(doc: Document) -> StoredPipeline:
    return StoredPipeline(
        key=doc["key"],
        version=doc["version"],
        definition=PipelineDefinition.model_validate(doc["definition"]),
        created_at=doc.get("created_at"),
        created_by=Actor.model_validate(doc["created_by"]) if doc.get("created_by") else None,
        comment=doc.get("comment"),
    )


class MongoPipelines:
    def __init__(self, db: AsyncDatabase[Document]) -> None:
        self.versions = db[PIPELINES]
        self.heads = db[PIPELINE_HEADS]
        self.settings_ = db[PIPELINE_SETTINGS]

    async def get(self, shop_id: str, key: str, version: int) -> StoredPipeline | None:
        doc = await self.versions.find_one({"shop_id": shop_id, "key": key, "version": version})
        return _stored(doc) if doc else None

    async def latest(self, shop_id: str, key: str) -> StoredPipeline | None:
        docs = await self.versions.find({"shop_id": shop_id, "key": key}).sort("version", DESCENDING).limit(1).to_list()
        return _stored(docs[0]) if docs else None

    async def insert(self, shop_id: str, stored: StoredPipeline) -> bool:
        try:
            await self.versions.insert_one(
                {
                    "_id": f"{shop_id}:{stored.key}@{stored.version}",
                    "shop_id": shop_id,
                    "key": stored.key,
                    "version": stored.version,
                    "definition": stored.definition.model_dump(mode="json"),
                    "created_at": stored.created_at,
                    "created_by": stored.created_by.model_dump(mode="json") if stored.created_by else None,
                    "comment": stored.comment,
                }
            )
        except DuplicateKeyError:
            return False
        # The head only ever moves forward ($max), so a late writer cannot move it back; when the
        # process stops before this, `latest` (on the versions) is still right and the next
        # version repairs the head.
        await self.heads.update_one(
            {"_id": f"{shop_id}:{stored.key}", "shop_id": shop_id},
            {"$max": {"version": stored.version}, "$set": {"key": stored.key}},
            upsert=True,
        )
        return True

    async def page(self, shop_id: str, *, cursor: str | None, limit: int) -> tuple[list[StoredPipeline], str | None]:
        page = await fetch_page(self.heads, {"shop_id": shop_id}, cursor=cursor, limit=limit)
        items = []
        for head in page.items:
            found = await self.latest(shop_id, head["key"])
            if found is not None:
                items.append(found)
        return items, page.next_cursor

    async def settings(self, shop_id: str) -> PipelineSettings | None:
        doc = await self.settings_.find_one({"_id": shop_id, "shop_id": shop_id})
        if doc is None:
            return None
        return PipelineSettings(pipeline_for=doc["pipeline_for"], statuses=doc["statuses"], version=doc["version"])

    async def save_settings(
        self, shop_id: str, settings: PipelineSettings, *, expected_version: int, actor: Actor, at: datetime
    ) -> PipelineSettings:
        change = {
            "at": at,
            "actor": actor.model_dump(mode="json"),
            "pipeline_for": settings.pipeline_for,
            "statuses": settings.statuses,
        }
        fields = {"pipeline_for": settings.pipeline_for, "statuses": settings.statuses, "version": settings.version}
        if expected_version == 0:
            try:
                await self.settings_.insert_one({"_id": shop_id, "shop_id": shop_id, **fields, "history": [change]})
            except DuplicateKeyError:
                raise ConcurrencyError(PIPELINE_SETTINGS, shop_id, 0) from None
            return settings
        result = await self.settings_.update_one(
            {"_id": shop_id, "shop_id": shop_id, "version": expected_version},
            {"$set": fields, "$push": {"history": change}},
        )
        if result.matched_count == 0:
            current = await self.settings(shop_id)
            raise ConcurrencyError(
                PIPELINE_SETTINGS, shop_id, expected_version, current_version=current.version if current else 0
            )
        return settings
