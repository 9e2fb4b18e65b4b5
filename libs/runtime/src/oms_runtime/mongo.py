"""Mongo client factory, index declarations and data migrations (both run by the `migrate` role)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from pymongo import ASCENDING, DESCENDING, AsyncMongoClient, UpdateOne
from pymongo import common as pymongo_common
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import BulkWriteError, DuplicateKeyError, OperationFailure, WriteError

from oms_runtime.coalesce import Coalescer
from oms_runtime.settings import ServiceSettings

Document = dict[str, Any]

DUPLICATE_KEY = 11000  # the server's error code for a write a unique index refused


def refused_as_duplicates(error: BulkWriteError) -> set[int]:
    """The positions of the writes of a bulk write that a unique index refused (a replay, a row as new
    or newer, a key made meanwhile); `error` itself is raised again when any write failed otherwise."""
    errors = error.details.get("writeErrors", [])
    if any(e.get("code") != DUPLICATE_KEY for e in errors):
        raise error
    return {int(e["index"]) for e in errors}


def quiet_store_monitors(step_seconds: float) -> None:
    """pymongo's periodic tasks — each client's server monitor (a `hello` every heartbeatFrequencyMS, 10 s)
    and its cursor-killing and pool-upkeep task (every second) — sleep in steps of the module constant
    `MIN_HEARTBEAT_INTERVAL` (0.5 s) to look for an early wake-up: four loop wake-ups a second in every
    process whatever their intervals, the largest timer count of an idle service. pymongo has no setting
    for it, so the constant is set before a client is built (the tasks read it when they start). A longer
    step makes a requested check (after a network error, or while an operation waits for a server) start
    up to `step_seconds` later, instead of 0.5 s: a restarted store is found again that much later; the
    SDAM specification's 500 ms floor between checks becomes this step (checks only get rarer).
    docs/adr/0039, amendment (issue 8, idle)."""
    pymongo_common.MIN_HEARTBEAT_INTERVAL = step_seconds


def create_mongo_client(settings: ServiceSettings) -> AsyncMongoClient[Document]:
    quiet_store_monitors(settings.mongo_monitor_step_seconds)
    return AsyncMongoClient(
        settings.mongo_url,
        tz_aware=True,
        uuidRepresentation="standard",
        serverSelectionTimeoutMS=5000,
        appname=settings.service_name,
    )


@dataclass(frozen=True)
class IndexSpec:
    collection: str
    keys: Sequence[tuple[str, int]]
    unique: bool = False
    name: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def index_name(self) -> str:
        return self.name or "_".join(f"{k}_{d}" for k, d in self.keys)


async def ensure_indexes(db: AsyncDatabase[Document], specs: Iterable[IndexSpec]) -> list[str]:
    created = []
    for spec in specs:
        await db[spec.collection].create_index(list(spec.keys), unique=spec.unique, name=spec.index_name, **spec.extra)
        created.append(f"{spec.collection}.{spec.index_name}")
    return created


@dataclass(frozen=True)
class DataMigration:
    """A change of stored data that new code needs (a collection folded into another, a field renamed).

    Run by `migrate` after the indexes, and at every start of `serve` and of an app (as the indexes
    are), so `run` must be idempotent, cheap when there is nothing left to do (a start pays it), safe
    while another replica runs it too, and bounded. Returns how many documents it changed."""

    name: str
    run: Callable[[AsyncDatabase[Document]], Awaitable[int]]


def dropped_index(collection: str, name: str, why: str) -> DataMigration:
    """A migration that drops an index the code no longer declares, where it still exists (`ensure_indexes`
    only creates): a replaced index would otherwise stay, and every write would keep paying for it."""

    async def run(db: AsyncDatabase[Document]) -> int:
        if name not in await db[collection].index_information():
            return 0
        try:
            await db[collection].drop_index(name)
        except OperationFailure as exc:
            if exc.code == 27:  # IndexNotFound: another replica dropped it first
                return 0
            raise
        return 1

    return DataMigration(f"drop index {collection}.{name} ({why})", run)


async def run_migrations(db: AsyncDatabase[Document], migrations: Iterable[DataMigration]) -> dict[str, int]:
    return {migration.name: await migration.run(db) for migration in migrations}


async def ping(db: AsyncDatabase[Document]) -> None:
    await db.command("ping")


MAX_PAGE = 100


@dataclass(frozen=True)
class Page:
    """One page of a list: the documents and the cursor of the next page (None on the last)."""

    items: list[Document]
    next_cursor: str | None


async def fetch_page(
    collection: AsyncCollection[Document],
    query: Document,
    *,
    cursor: str | None,
    limit: int,
    sort_key: str = "_id",
    newest_first: bool = False,
    projection: Document | None = None,
) -> Page:
    """Keyset pagination on a unique `sort_key` (ids are UUIDv7, so `_id` order is creation order).

    Fetches one more than asked to know whether another page follows, without a count.
    """
    limit = max(1, min(limit, MAX_PAGE))
    docs = await find_after(
        collection,
        query,
        after=cursor,
        limit=limit + 1,
        sort_key=sort_key,
        newest_first=newest_first,
        projection=projection,
    )
    more = len(docs) > limit
    docs = docs[:limit]
    return Page(docs, str(docs[-1][sort_key]) if more else None)


async def find_after(
    collection: AsyncCollection[Document],
    query: Document,
    *,
    after: str | None,
    limit: int,
    sort_key: str = "_id",
    newest_first: bool = False,
    projection: Document | None = None,
) -> list[Document]:
    """At most `limit` documents matching `query` that follow `after` in `sort_key` order (the keyset
    step of every list; `sort_key` unique and indexed after the query's equality fields).

    An adapter whose application builds the page asks for `limit + 1` and the application answers
    `CursorPage.from_rows(rows, limit, cursor_of=...)`; one that answers a page itself uses `fetch_page`.
    """
    if after:
        query = {**query, sort_key: {"$lt" if newest_first else "$gt": after}}
    found = collection.find(query, projection).sort(sort_key, DESCENDING if newest_first else ASCENDING)
    return await found.limit(limit).to_list(length=limit)


async def insert_new(collection: AsyncCollection[Document], doc: Document) -> bool:
    """Insert `doc` unless its `_id` (or another unique key) is taken; False then: a redelivered
    message or a retried request, whose first insert stands and whose answer the caller reads back."""
    try:
        await collection.insert_one(doc)
    except DuplicateKeyError:
        return False
    return True


async def insert_each(collection: AsyncCollection[Document], docs: Sequence[Document]) -> list[WriteError | None]:
    """Insert `docs` in one round trip (unordered: a refused document stops none of the others); each
    document's outcome: None when stored, else the error its own insert would have raised (a
    DuplicateKeyError where a unique index refused it)."""
    if not docs:
        return []
    if len(docs) == 1:  # insert_one: pymongo's bulk path costs ~10 % more CPU for a single document
        try:
            await collection.insert_one(docs[0])
        except WriteError as refused:  # DuplicateKeyError is one
            return [refused]
        return [None]
    try:
        await collection.insert_many(docs, ordered=False)
    except BulkWriteError as failed:
        outcomes: list[WriteError | None] = [None] * len(docs)
        for error in failed.details.get("writeErrors", []):
            kind = DuplicateKeyError if error.get("code") == DUPLICATE_KEY else WriteError
            outcomes[int(error["index"])] = kind(error.get("errmsg", ""), error.get("code"), error)
        return outcomes
    return [None] * len(docs)


async def insert_new_many(collection: AsyncCollection[Document], docs: Sequence[Document]) -> list[bool]:
    """`insert_each`, answered per document: True when stored, False where a unique index refused it
    (a replay of something stored before); any other refusal is raised."""
    return stored_or_replayed(await insert_each(collection, docs))


def stored_or_replayed(outcomes: Sequence[WriteError | None]) -> list[bool]:
    """The outcomes of `insert_each` (or of a `Coalescer` of it) as `insert_new_many` answers them: True
    where stored, False where a unique index refused it; any other refusal is raised."""
    refused = next((o for o in outcomes if o is not None and not isinstance(o, DuplicateKeyError)), None)
    if refused is not None:
        raise refused
    return [outcome is None for outcome in outcomes]


async def upsert_newer(
    collection: AsyncCollection[Document], key: Document, fields: Document, as_of: datetime, *, ties_apply: bool = False
) -> bool:
    """A projection write where the newest source message wins, whatever order messages arrive in.

    `key` identifies the document (its deterministic `_id`, `shop_id`, and any identifying fields to
    keep on insert); `fields` and `as_of` are set unless the document already holds something newer
    (or as new, unless `ties_apply`). Then the filter misses, the upsert's insert clashes on `_id`, and
    the answer is False: a replayed or late message changed nothing.
    """
    filter_, update = _newest_wins(key, fields, as_of, ties_apply)
    try:
        await collection.update_one(filter_, update, upsert=True)
    except DuplicateKeyError:
        return False
    return True


def _newest_wins(key: Document, fields: Document, as_of: datetime, ties_apply: bool) -> tuple[Document, Document]:
    newer = {"$lte": as_of} if ties_apply else {"$lt": as_of}
    return {**key, "as_of": newer}, {"$set": {**fields, "as_of": as_of}}


class SharedUpserts:
    """Conditional upserts into one collection for concurrent handlers: the calls made in one turn of
    the event loop (the lanes a consumer batch runs side by side) go out as one unordered bulk write.
    Each answers as its own `update_one(filter, update, upsert=True)` would: True when it matched or
    inserted, False when the filter missed a document that is there (its insert clashed on a unique
    key: the document is newer, or refuses the write, such as an erased order's contact)."""

    def __init__(self, collection: AsyncCollection[Document]) -> None:
        self.collection = collection
        self._writes: Coalescer[tuple[Document, Document], bool] = Coalescer(self._write_all)

    async def __call__(self, filter_: Document, update: Document) -> bool:
        return await self._writes((filter_, update))

    async def _write_all(self, rows: list[tuple[Document, Document]]) -> list[bool]:
        writes = [UpdateOne(filter_, update, upsert=True) for filter_, update in rows]
        try:
            await self.collection.bulk_write(writes, ordered=False)
        except BulkWriteError as exc:
            refused = refused_as_duplicates(exc)
            return [i not in refused for i in range(len(rows))]
        return [True] * len(rows)


class NewestWins:
    """`upsert_newer` into one collection for concurrent handlers: the calls made in one turn of the
    event loop (the lanes a consumer batch runs side by side) go out as one unordered bulk write,
    each answered as its own `upsert_newer` would be (`oms_runtime.coalesce`)."""

    def __init__(self, collection: AsyncCollection[Document], *, ties_apply: bool = False) -> None:
        self.collection = collection
        self.ties_apply = ties_apply
        self._upserts = SharedUpserts(collection)

    async def __call__(self, key: Document, fields: Document, as_of: datetime) -> bool:
        return await self._upserts(*_newest_wins(key, fields, as_of, self.ties_apply))
