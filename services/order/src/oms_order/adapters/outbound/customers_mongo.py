"""Mongo adapters of the customer records: the records (one document each, through the command loop),
the contact keys (unique per shop: one holder per email or phone), and the order history rows.

The contact keys are one register (`customer_keys`, ADR 0036), written by two hands: the order's
placement (`MongoCustomers.register`: the first order placed with a key, for first/repeat, and the
record id a new key goes to) and the records (`MongoCustomerIndex`: which record holds a key, moved by
edits, merges and the rare race). One document per (shop, key), `_id` `<shop_id>/<key>`:
`{shop_id, key, customer_id?, first_order_id?}` — a key a manager added has no first order yet, one
registered before this register held record ids has no holder until its next order."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from oms_contracts import Money
from oms_contracts.messages.common import Customer
from oms_runtime.coalesce import ASKS_PER_READ, Coalescer, keys_by_shop
from oms_runtime.mongo import DataMigration, Document, IndexSpec, fetch_page, insert_new_many, refused_as_duplicates
from oms_runtime.store import AggregateStore, DocumentRepository, outbox_indexes
from pymongo import ASCENDING, DESCENDING, DeleteMany, ReturnDocument, UpdateMany, UpdateOne
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import BulkWriteError, DuplicateKeyError

from oms_order.application.customers import customer_id_for
from oms_order.application.ports import CustomerOrderRow, CustomerPage
from oms_order.domain.customers import CustomerRecord, contact_keys, normalise_phone
from oms_order.domain.order_list import CustomerKind

CUSTOMER_RECORDS = "customer_records"
CUSTOMER_KEYS = "customer_keys"
CUSTOMER_ORDERS = "customer_orders"
# The first/repeat register before ADR 0036: its documents are moved into CUSTOMER_KEYS by migration.
OLD_FIRST_ORDERS = "customers"

CUSTOMER_INDEXES: list[IndexSpec] = [
    # Search: a prefix of a name word, an email or a phone (multikey), then keyset on _id.
    IndexSpec(CUSTOMER_RECORDS, [("shop_id", ASCENDING), ("search_terms", ASCENDING), ("_id", ASCENDING)]),
    IndexSpec(CUSTOMER_RECORDS, [("shop_id", ASCENDING), ("merged_into", ASCENDING), ("_id", ASCENDING)]),
    IndexSpec(CUSTOMER_KEYS, [("shop_id", ASCENDING), ("key", ASCENDING)], unique=True),
    IndexSpec(CUSTOMER_ORDERS, [("shop_id", ASCENDING), ("customer_id", ASCENDING), ("_id", DESCENDING)]),
    # The records carry an outbox since erasure announces itself (CustomerErased).
    *outbox_indexes(CUSTOMER_RECORDS),
]


def _to_doc(record: CustomerRecord) -> Document:
    doc: Document = record.model_dump(mode="json")
    doc["_id"] = record.customer_id
    doc["search_terms"] = record.search_terms()
    return doc


def _of(doc: Document) -> CustomerRecord:
    return CustomerRecord.model_validate(doc)


class MongoCustomerRecords(DocumentRepository[CustomerRecord]):
    def __init__(self, store: AggregateStore) -> None:
        super().__init__(store, to_document=_to_doc, from_document=_of)


# The most order rows one insert of concurrent handlers carries.
ROWS_PER_INSERT = 200


class MongoCustomerIndex:
    def __init__(self, db: AsyncDatabase[Document]) -> None:
        self.keys = db[CUSTOMER_KEYS]
        self.rows = db[CUSTOMER_ORDERS]
        self.records = db[CUSTOMER_RECORDS]
        # The records consumer's concurrent handlers (a batch's OrderPlaced of many orders): their key
        # look-ups as one `$in` read per shop, their order rows as one insert (ADR 0032's Coalescer).
        self._owners: Coalescer[tuple[str, tuple[str, ...]], dict[str, str]] = Coalescer(
            self._owners_of, limit=ASKS_PER_READ
        )
        self._rows: Coalescer[Document, bool] = Coalescer(self._insert_rows, limit=ROWS_PER_INSERT)

    async def owners(self, shop_id: str, keys: Sequence[str]) -> dict[str, str]:
        return await self._owners((shop_id, tuple(keys)))

    async def _owners_of(self, asks: list[tuple[str, tuple[str, ...]]]) -> list[dict[str, str]]:
        held: dict[tuple[str, str], str] = {}
        for shop_id, keys in keys_by_shop(asks).items():
            async for d in self.keys.find({"shop_id": shop_id, "key": {"$in": keys}}):
                if d.get("customer_id"):
                    held[(shop_id, d["key"])] = d["customer_id"]
        return [{key: held[(shop_id, key)] for key in keys if (shop_id, key) in held} for shop_id, keys in asks]

    async def _insert_rows(self, rows: list[Document]) -> list[bool]:
        """One insert; a row whose order is there already (a replay) is answered False."""
        return await insert_new_many(self.rows, rows)

    async def claim(self, shop_id: str, key: str, customer_id: str) -> str:
        key_id = f"{shop_id}/{key}"
        for _ in range(3):
            try:
                # A key registered without a holder (before ADR 0036) is taken like a missing one.
                doc = await self.keys.find_one_and_update(
                    {"_id": key_id, "shop_id": shop_id, "customer_id": None},
                    {"$set": {"customer_id": customer_id}, "$setOnInsert": {"key": key}},
                    upsert=True,
                    return_document=ReturnDocument.AFTER,
                )
            except DuplicateKeyError:
                # Held already (or two claims raced to create it): the holder is the answer.
                doc = await self.keys.find_one({"_id": key_id, "shop_id": shop_id})
            if doc is not None and doc.get("customer_id"):
                return str(doc["customer_id"])
        raise RuntimeError(f"could not claim customer key {key}")

    async def move(self, shop_id: str, keys: Sequence[str], from_customer: str, to_customer: str) -> None:
        for key in keys:
            # Only from that holder: a key a manager moved meanwhile stays where they put it.
            await self.keys.update_one(
                {"_id": f"{shop_id}/{key}", "shop_id": shop_id, "customer_id": from_customer},
                {"$set": {"customer_id": to_customer}},
            )

    async def repoint(self, shop_id: str, keys: Sequence[str], customer_id: str) -> None:
        for key in keys:
            await self.keys.update_one(
                {"_id": f"{shop_id}/{key}", "shop_id": shop_id},
                {"$set": {"key": key, "customer_id": customer_id}},
                upsert=True,
            )

    async def add_order(self, shop_id: str, row: CustomerOrderRow) -> bool:
        return await self._rows(
            {
                # UUIDv7 order ids sort by time: the history is newest first by _id.
                "_id": row.order_id,
                "shop_id": shop_id,
                "customer_id": row.customer_id,
                "number": row.number,
                "placed_at": row.placed_at,
                "grand_total": row.grand_total.model_dump(mode="json"),
                "status": row.status,
            },
        )

    async def move_orders(self, shop_id: str, from_customer: str, to_customer: str) -> int:
        moved = await self.rows.update_many(
            {"shop_id": shop_id, "customer_id": from_customer}, {"$set": {"customer_id": to_customer}}
        )
        return int(moved.modified_count)

    async def orders(self, shop_id: str, customer_id: str, *, cursor: str | None, limit: int) -> CustomerPage:
        page = await fetch_page(
            self.rows, {"shop_id": shop_id, "customer_id": customer_id}, cursor=cursor, limit=limit, newest_first=True
        )
        items = [
            CustomerOrderRow(
                order_id=d["_id"],
                customer_id=d["customer_id"],
                number=int(d["number"]),
                placed_at=d["placed_at"],
                grand_total=Money.model_validate(d["grand_total"]),
                status=d["status"],
            )
            for d in page.items
        ]
        return CustomerPage(items, page.next_cursor)

    async def merged_into(self, shop_id: str, customer_id: str, limit: int) -> list[str]:
        found = self.records.find({"shop_id": shop_id, "merged_into": customer_id}, {"_id": 1}).sort("_id", ASCENDING)
        return [str(d["_id"]) for d in await found.limit(limit).to_list()]

    async def forget(self, shop_id: str, keys: Sequence[str], owners: Sequence[str]) -> int:
        if not keys:
            return 0
        dropped = await self.keys.delete_many(
            {"shop_id": shop_id, "key": {"$in": list(keys)}, "customer_id": {"$in": list(owners)}}
        )
        return int(dropped.deleted_count)

    async def search(self, shop_id: str, query: str | None, *, cursor: str | None, limit: int) -> CustomerPage:
        filters: dict[str, Any] = {"shop_id": shop_id, "merged_into": None}
        if query:
            filters["search_terms"] = {"$regex": "^" + re.escape(query.strip().casefold())}
        page = await fetch_page(self.records, filters, cursor=cursor, limit=limit)
        return CustomerPage([_of(d) for d in page.items], page.next_cursor)


# The most placements whose contact keys one bulk write registers.
REGISTERS_PER_WRITE = 200

Registration = tuple[str, str, tuple[str, ...]]
"""One placement's ask: (shop_id, order_id, its contact keys)."""


class MongoCustomers:
    """Who has ordered before, per shop: the first order placed with each contact key.

    The first order to register a key (`$setOnInsert` on its deterministic `_id`) is its first; a
    customer is repeat when any of their keys had a first order already. A new key is given to the
    record this order would start (`customer_id_for`), so the records' consumer has no key to claim
    for a new person (ADR 0036); it moves the key when the person turns out to have a record.

    The placements that register together (the same turn of the event loop) share one ordered bulk
    write (ADR 0044): the writes of each in the order they asked, so two placements of one person see
    each other as a sequence would (the first made the key, the second is repeat).
    """

    def __init__(self, db: AsyncDatabase[Document]) -> None:
        self.collection = db[CUSTOMER_KEYS]
        self._register: Coalescer[Registration, CustomerKind] = Coalescer(self._register_all, limit=REGISTERS_PER_WRITE)

    async def register(self, shop_id: str, customer: Customer, order_id: str) -> CustomerKind:
        """Per key, make it with this order as its first (and this order's record id as its holder), and
        give a key that has no first order yet (a manager added it to a record, or its first order was
        erased) this one. The order is the person's first when every key was made or given here."""
        keys = contact_keys(str(customer.email), customer.phone)
        if not keys:
            return "first"
        return await self._register((shop_id, order_id, tuple(keys)))

    async def _register_all(self, asks: list[Registration]) -> list[CustomerKind]:
        writes: list[UpdateOne] = []
        makes: list[list[int]] = []  # per ask: the positions of the writes that make its keys
        for shop_id, order_id, keys in asks:
            makes.append([])
            for key in keys:
                key_id = f"{shop_id}/{key}"
                new = {"key": key, "first_order_id": order_id, "customer_id": customer_id_for(order_id)}
                makes[-1].append(len(writes))
                writes.append(UpdateOne({"_id": key_id, "shop_id": shop_id}, {"$setOnInsert": new}, upsert=True))
                unfirst = {"_id": key_id, "shop_id": shop_id, "first_order_id": None}
                writes.append(UpdateOne(unfirst, {"$set": {"first_order_id": order_id}}))
        raced = False
        for _ in range(3):
            try:
                done = await self.collection.bulk_write(writes, ordered=True)
            except BulkWriteError as clash:
                # Two first orders raced to make a key: what ran before the clash is stored, so all again
                # (what is made already is left as it is by the second run).
                refused_as_duplicates(clash)
                raced = True
                continue
            if not raced and done.modified_count == 0:
                # The usual answer: no key was given a first order, so an order is first when each of its
                # keys was made by its own write (the writes' positions say whose).
                made = done.upserted_ids or {}
                return ["first" if all(at in made for at in positions) else "repeat" for positions in makes]
            return await self._firsts(asks)
        raise RuntimeError(f"could not register the contact keys of orders {[order_id for _, order_id, _ in asks]}")

    async def _firsts(self, asks: list[Registration]) -> list[CustomerKind]:
        """Which orders are first, from the keys as stored: a key's first order is set only by that order's
        own writes and never replaced, so an order made or was given each of its keys when each names it."""
        first_of: dict[tuple[str, str], str | None] = {}
        for shop_id, keys in keys_by_shop((shop_id, keys) for shop_id, _, keys in asks).items():
            async for d in self.collection.find(
                {"shop_id": shop_id, "key": {"$in": keys}}, {"key": 1, "first_order_id": 1}
            ):
                first_of[(shop_id, d["key"])] = d.get("first_order_id")
        return [
            "first" if all(first_of.get((shop_id, key)) == order_id for key in keys) else "repeat"
            for shop_id, order_id, keys in asks
        ]

    async def forget(self, shop_id: str, emails: Sequence[str], phones: Sequence[str]) -> int:
        """Forget a person's first orders (their data erased): their next order counts as a first one.
        Run after the records' `forget` dropped the keys the person's records held: what is left is
        held by nobody (dropped here) or by another record (kept for it, without the first order)."""
        keys = [k for email in emails for k in contact_keys(email, None)] + [
            f"phone:{p}" for p in (normalise_phone(phone) for phone in phones) if p
        ]
        ids = [f"{shop_id}/{key}" for key in keys]
        if not ids:
            return 0
        written = await self.collection.bulk_write(
            [
                DeleteMany({"_id": {"$in": ids}, "shop_id": shop_id, "customer_id": None}),
                UpdateMany({"_id": {"$in": ids}, "shop_id": shop_id}, {"$unset": {"first_order_id": ""}}),
            ],
            ordered=True,
        )
        return int(written.deleted_count)


# ---- migration ---------------------------------------------------------------------------------------

MIGRATION_BATCH = 500


def _new_key(old_key: str) -> str | None:
    """The register's key for a key of the old first/repeat register: emails are alike; a phone was kept
    as its last ten digits, read now as a national number of the default region (the shops are Russian
    first), as the order's own phone would be. None: no key a new order could have."""
    kind, _, value = old_key.partition(":")
    if kind == "email":
        return old_key if value else None
    if kind == "phone":
        normal = normalise_phone(value)
        return f"phone:{normal}" if normal else None
    return None


async def fold_first_orders_into_contact_keys(db: AsyncDatabase[Document]) -> int:
    """ADR 0036: move the old first/repeat register (`customers`) into `customer_keys`, one batch at a time:
    copy each key's first order (the earliest wins: order ids are UUIDv7), then delete what was copied.
    Idempotent (a copy repeated changes nothing; a crash between copy and delete copies again) and safe
    beside another replica doing the same; bounded by the count at the start (later writes of an old
    replica are moved at the next start)."""
    old = db[OLD_FIRST_ORDERS]
    keys = db[CUSTOMER_KEYS]
    moved = 0
    batches = await old.estimated_document_count() // MIGRATION_BATCH + 1
    for _ in range(batches):
        batch = await old.find({}, {"shop_id": 1, "key": 1, "first_order_id": 1}).limit(MIGRATION_BATCH).to_list()
        if not batch:
            break
        copies = []
        for doc in batch:
            key = _new_key(str(doc.get("key") or ""))
            if key is None or not doc.get("shop_id") or not doc.get("first_order_id"):
                continue  # nothing a new order can match: dropped with the batch
            copies.append(
                UpdateOne(
                    {"_id": f"{doc['shop_id']}/{key}", "shop_id": doc["shop_id"]},
                    {"$setOnInsert": {"key": key}, "$min": {"first_order_id": doc["first_order_id"]}},
                    upsert=True,
                )
            )
        if copies:
            try:
                await keys.bulk_write(copies, ordered=False)
            except BulkWriteError as clash:
                refused_as_duplicates(clash)
                # Another replica (or a new order) made some of these keys meanwhile: now they exist.
                await keys.bulk_write(copies, ordered=False)
        await old.delete_many({"_id": {"$in": [doc["_id"] for doc in batch]}})
        moved += len(batch)
    return moved


CUSTOMER_MIGRATIONS = [DataMigration("contact keys in one register (ADR 0036)", fold_first_orders_into_contact_keys)]
