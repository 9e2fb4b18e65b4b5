"""Webhook endpoints in MongoDB: one document per endpoint (its secret included: never in a view).

Every event of a shop asks for the shop's endpoints (most shops have none), and an admin changes
them a few times a year: `of_shop` is kept for `kept_seconds` (ADR 0027). A change saved through
this process forgets the shop's entry at once; one made through another replica is seen within
`kept_seconds` (an event handled there meanwhile is not delivered to an endpoint just created).
"""

from __future__ import annotations

from oms_runtime.commands import Decision, Loaded
from oms_runtime.mongo import Document, IndexSpec, find_after
from oms_runtime.recent import Recent
from oms_runtime.store import AggregateStore, DocumentRepository

from oms_webhooks.domain.endpoint import Endpoint

ENDPOINTS = "endpoints"

ENDPOINT_INDEXES: list[IndexSpec] = [IndexSpec(ENDPOINTS, [("shop_id", 1), ("_id", 1)])]
_NOT_STATE = {"outbox": 0, "applied_events": 0}


def endpoint_to_doc(e: Endpoint) -> Document:
    return {
        "_id": e.endpoint_id,
        "shop_id": e.shop_id,
        "url": e.url,
        "event_types": list(e.event_types),
        "secret": e.secret,
        "created_at": e.created_at,
        "updated_at": e.updated_at,
        "description": e.description,
        "enabled": e.enabled,
        "disabled_reason": e.disabled_reason,
        "disabled_at": e.disabled_at,
        "consecutive_failures": e.consecutive_failures,
        "previous_secret": e.previous_secret,
        "previous_secret_until": e.previous_secret_until,
        "creation_fingerprint": e.creation_fingerprint,
    }


def endpoint_of(doc: Document) -> Endpoint:
    return Endpoint(
        endpoint_id=doc["_id"],
        shop_id=doc["shop_id"],
        url=doc["url"],
        event_types=tuple(doc["event_types"]),
        secret=doc["secret"],
        created_at=doc["created_at"],
        updated_at=doc["updated_at"],
        description=doc.get("description", ""),
        enabled=doc["enabled"],
        disabled_reason=doc.get("disabled_reason"),
        disabled_at=doc.get("disabled_at"),
        consecutive_failures=doc.get("consecutive_failures", 0),
        previous_secret=doc.get("previous_secret"),
        previous_secret_until=doc.get("previous_secret_until"),
        creation_fingerprint=doc.get("creation_fingerprint"),
    )


class EndpointsMongo(DocumentRepository[Endpoint]):
    def __init__(self, store: AggregateStore, *, kept_seconds: float = 5.0) -> None:
        super().__init__(store, to_document=endpoint_to_doc, from_document=endpoint_of)
        self._of_shop: Recent[tuple[int, list[Endpoint]]] = Recent(kept_seconds)  # shop -> (limit, endpoints)

    async def save(
        self, loaded: Loaded[Endpoint], decision: Decision[Endpoint], applied_event_id: str | None
    ) -> Loaded[Endpoint]:
        try:
            return await super().save(loaded, decision, applied_event_id)
        finally:
            # Also after a failure: the write may have been applied all the same.
            self._of_shop.forget(loaded.state.shop_id)

    async def page(self, shop_id: str, after: str | None, limit: int) -> list[Loaded[Endpoint]]:
        docs = await find_after(
            self.store.collection, {"shop_id": shop_id}, after=after, limit=limit, projection=_NOT_STATE
        )
        return [self.loaded(d) for d in docs]

    async def of_shop(self, shop_id: str, limit: int) -> list[Endpoint]:
        async def load() -> tuple[int, list[Endpoint]]:
            return limit, [loaded.state for loaded in await self.page(shop_id, None, limit)]

        kept_limit, endpoints = await self._of_shop.read(shop_id, load)
        if kept_limit != limit:  # kept for another limit: not this answer
            return [loaded.state for loaded in await self.page(shop_id, None, limit)]
        return endpoints

    async def count(self, shop_id: str) -> int:
        return await self.store.collection.count_documents({"shop_id": shop_id})
