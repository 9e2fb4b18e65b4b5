"""Partners' terms in MongoDB: one document per partner (id = the gateway's staff id)."""

from __future__ import annotations

from decimal import Decimal

from oms_runtime.mongo import Document, IndexSpec, find_after
from oms_runtime.store import AggregateStore, DocumentRepository

from oms_groupbuy.domain.partner import Partner

PARTNERS = "partners"

PARTNER_INDEXES: list[IndexSpec] = [IndexSpec(PARTNERS, [("shop_id", 1), ("_id", 1)])]


def partner_to_doc(p: Partner) -> Document:
    return {
        "_id": p.partner_id,
        "shop_id": p.shop_id,
        "kind": p.kind,
        "name": p.name,
        "percent": str(p.percent),
        "updated_at": p.updated_at,
        "terms_set": p.terms_set,
    }


def partner_of(doc: Document) -> Partner:
    return Partner(
        partner_id=doc["_id"],
        shop_id=doc["shop_id"],
        kind=doc["kind"],
        name=doc["name"],
        percent=Decimal(doc["percent"]),
        updated_at=doc["updated_at"],
        terms_set=doc.get("terms_set", False),
    )


class PartnersMongo(DocumentRepository[Partner]):
    def __init__(self, store: AggregateStore) -> None:
        super().__init__(store, to_document=partner_to_doc, from_document=partner_of)

    async def page(self, shop_id: str, after: str | None, limit: int) -> list[Partner]:
        query: Document = {"shop_id": shop_id}
        docs = await find_after(
            self.store.collection, query, after=after, limit=limit, projection={"outbox": 0, "applied_events": 0}
        )
        return [partner_of(doc) for doc in docs]
