"""The shop's joint-purchase settings in MongoDB: one document per shop (`_id` = the shop id)."""

from __future__ import annotations

from oms_runtime.mongo import Document, IndexSpec
from oms_runtime.store import AggregateStore, DocumentRepository, outbox_indexes

from oms_groupbuy.domain.settings import ShopSettings

SETTINGS = "groupbuy_settings"

# Read by `_id` (with `shop_id`): the primary key serves it; the outbox indexes for the store.
SETTINGS_INDEXES: list[IndexSpec] = [*outbox_indexes(SETTINGS)]


def settings_to_doc(s: ShopSettings) -> Document:
    return {
        "_id": s.shop_id,
        "shop_id": s.shop_id,
        "reminder_hours": list(s.reminder_hours),
        "updated_at": s.updated_at,
    }


def settings_of(doc: Document) -> ShopSettings:
    return ShopSettings(doc["shop_id"], tuple(doc.get("reminder_hours", ())), doc.get("updated_at"))


class ShopSettingsMongo(DocumentRepository[ShopSettings]):
    def __init__(self, store: AggregateStore) -> None:
        super().__init__(store, to_document=settings_to_doc, from_document=settings_of)
