"""Shops, staff and API keys in MongoDB, through the runtime's AggregateStore (state + outbox in one write).

API keys are kept for a few seconds once read (ADR 0041): every storefront request presents one, and
reading it was a store round trip per proxied order. A key revoked or created through this process is
forgotten or kept at once; a revocation made through another replica takes effect here within
`keys_kept_seconds`. A prefix that finds no key is not kept (a key created on another replica works
at once).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any

from oms_contracts import Envelope
from oms_runtime.mongo import Document, IndexSpec, find_after
from oms_runtime.recent import Recent
from oms_runtime.store import AggregateStore, outbox_indexes
from pymongo.errors import DuplicateKeyError

from oms_gateway.application.accounts import AlreadyExists
from oms_gateway.domain.accounts import ApiKey, Shop, StaffMember

SHOPS = "shops"
STAFF = "staff"
API_KEYS = "api_keys"

INDEXES: list[IndexSpec] = [
    # Login names the shop by slug before any shop_id is known: a global lookup by nature.
    IndexSpec(SHOPS, [("slug", 1)], unique=True, name="slug_unique"),
    IndexSpec(STAFF, [("shop_id", 1), ("email", 1)], unique=True, name="shop_email_unique"),
    IndexSpec(STAFF, [("shop_id", 1), ("_id", 1)], name="shop_list"),
    # A presented key carries only its prefix; the prefix finds the key (and with it the shop).
    IndexSpec(API_KEYS, [("prefix", 1)], unique=True, name="prefix_unique"),
    IndexSpec(API_KEYS, [("shop_id", 1), ("_id", 1)], name="shop_list"),
    *outbox_indexes(SHOPS),
    *outbox_indexes(STAFF),
    *outbox_indexes(API_KEYS),
]


def _shop(doc: Document) -> Shop:
    return Shop(
        shop_id=doc["shop_id"],
        slug=doc["slug"],
        name=doc["name"],
        default_currency=doc["default_currency"],
        locale=doc.get("locale", "en"),
    )


def _staff(doc: Document) -> StaffMember:
    return StaffMember(
        staff_id=doc["_id"],
        shop_id=doc["shop_id"],
        email=doc["email"],
        name=doc["name"],
        role=doc["role"],
        password_hash=doc["password_hash"],
        active=doc.get("active", True),
        locale=doc.get("locale", "en"),
    )


def _key(doc: Document) -> ApiKey:
    return ApiKey(
        key_id=doc["_id"],
        shop_id=doc["shop_id"],
        name=doc["name"],
        prefix=doc["prefix"],
        secret_hash=doc["secret_hash"],
        active=doc.get("active", True),
    )


class _NoSuchKey(Exception):
    """A prefix that finds no key: raised out of the kept read so that a miss is not kept."""


class MongoAccountStore:
    def __init__(
        self,
        shops: AggregateStore,
        staff: AggregateStore,
        api_keys: AggregateStore,
        *,
        keys_kept_seconds: float = 0,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.shops = shops
        self.staff = staff
        self.api_keys = api_keys
        self._keys: Recent[ApiKey] = Recent(keys_kept_seconds, now=monotonic)

    async def shop_by_slug(self, slug: str) -> Shop | None:
        doc = await self.shops.collection.find_one({"slug": slug})
        return _shop(doc) if doc else None

    async def get_shop(self, shop_id: str) -> Shop | None:
        doc = await self.shops.get(shop_id, shop_id)
        return _shop(doc) if doc else None

    async def add_shop(self, shop: Shop, events: Sequence[Envelope[Any]]) -> None:
        doc = {
            "_id": shop.shop_id,
            "shop_id": shop.shop_id,
            "slug": shop.slug,
            "name": shop.name,
            "default_currency": shop.default_currency,
            "locale": shop.locale,
        }
        try:
            await self.shops.create(doc, events)
        except DuplicateKeyError as exc:
            raise AlreadyExists("slug", f"a shop with slug {shop.slug!r} already exists") from exc

    async def staff_by_email(self, shop_id: str, email: str) -> StaffMember | None:
        doc = await self.staff.collection.find_one({"shop_id": shop_id, "email": email})
        return _staff(doc) if doc else None

    async def add_staff(self, member: StaffMember, events: Sequence[Envelope[Any]]) -> None:
        doc = {
            "_id": member.staff_id,
            "shop_id": member.shop_id,
            "email": member.email,
            "name": member.name,
            "role": member.role,
            "password_hash": member.password_hash,
            "active": member.active,
            "locale": member.locale,
        }
        try:
            await self.staff.create(doc, events)
        except DuplicateKeyError as exc:
            raise AlreadyExists("email", "a staff member with this e-mail already exists in the shop") from exc

    async def list_staff(self, shop_id: str, cursor: str | None, limit: int) -> list[StaffMember]:
        return [_staff(d) for d in await self._page(self.staff, shop_id, cursor, limit)]

    async def key_by_prefix(self, prefix: str) -> ApiKey | None:
        async def load() -> ApiKey:
            doc = await self.api_keys.collection.find_one({"prefix": prefix})
            if doc is None:
                raise _NoSuchKey(prefix)
            return _key(doc)

        try:
            # Recent.read does not keep a read that a revocation through this process overtook.
            return await self._keys.read(prefix, load)
        except _NoSuchKey:
            return None

    async def add_api_key(self, key: ApiKey) -> None:
        doc = {
            "_id": key.key_id,
            "shop_id": key.shop_id,
            "name": key.name,
            "prefix": key.prefix,
            "secret_hash": key.secret_hash,
            "active": key.active,
        }
        try:
            await self.api_keys.create(doc)
        except DuplicateKeyError as exc:
            raise AlreadyExists("api_key", "an API key with this prefix already exists") from exc
        self._keys.put(key.prefix, key)

    async def list_api_keys(self, shop_id: str, cursor: str | None, limit: int) -> list[ApiKey]:
        return [_key(d) for d in await self._page(self.api_keys, shop_id, cursor, limit)]

    async def deactivate_api_key(self, shop_id: str, key_id: str) -> ApiKey | None:
        doc = await self.api_keys.get(shop_id, key_id)
        if doc is None:
            return None
        if doc.get("active", True):
            doc = await self.api_keys.update(shop_id, key_id, doc["version"], set_fields={"active": False})
        # After the write: a read that started before it and ends after it is not kept (Recent.read).
        self._keys.forget(doc["prefix"])
        return _key(doc)

    @staticmethod
    async def _page(store: AggregateStore, shop_id: str, cursor: str | None, limit: int) -> list[Document]:
        return await find_after(
            store.collection, {"shop_id": shop_id}, after=cursor, limit=limit, projection={"outbox": 0}
        )
