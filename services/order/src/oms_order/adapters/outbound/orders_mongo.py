"""Mongo adapters of orders: the order documents (an AggregateStore with the in-document outbox, the
audit trail's oldest entries archived) and the per-shop order numbers."""

from __future__ import annotations

from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

from oms_contracts import Envelope
from oms_runtime.coalesce import ASKS_PER_READ, Coalescer, keys_by_shop
from oms_runtime.mongo import Document, IndexSpec, dropped_index, fetch_page
from oms_runtime.store import AggregateStore, outbox_indexes
from pymongo import ASCENDING, DESCENDING, ReturnDocument
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from oms_order.adapters.outbound.audit_mongo import MongoAuditArchive
from oms_order.adapters.outbound.order_snapshots import OrderSnapshots
from oms_order.application.ports import DuplicateIdempotencyKey, OrderPage, StoredOrder
from oms_order.domain.order import Order

ORDERS = "orders"
ORDER_COUNTERS = "order_counters"

ORDER_INDEXES: list[IndexSpec] = [
    # Idempotency-Key per shop; an order placed without one uses its own id, so the key is never null.
    IndexSpec(ORDERS, [("shop_id", ASCENDING), ("idempotency_key", ASCENDING)], unique=True),
    # GET /orders: newest first (UUIDv7 ids sort by time), optionally by stage.
    IndexSpec(ORDERS, [("shop_id", ASCENDING), ("_id", DESCENDING)]),
    IndexSpec(ORDERS, [("shop_id", ASCENDING), ("stage", ASCENDING), ("_id", DESCENDING)]),
    *outbox_indexes(ORDERS),
    # SLA loop (sla_mongo.py): orders past their stage deadline not reported yet. Cross-tenant, like the
    # outbox relay's, by design: one loop serves every shop. The range scanned is the orders overdue now.
    IndexSpec(ORDERS, [("stage_deadline", ASCENDING), ("overdue_stage_entered_at", ASCENDING)], name="sla_due"),
    # SLA gauges (sla_mongo.py, ADR 0047): per shop the stages holding orders, per stage its orders and their
    # pipeline versions, per (stage, version) those past the deadline — counts and distincts of index keys.
    IndexSpec(
        ORDERS,
        [("shop_id", ASCENDING), ("stage", ASCENDING), ("pipeline", ASCENDING), ("stage_deadline", ASCENDING)],
    ),
]

# The SLA gauges' index before ADR 0047 (without the pipeline version), replaced by the one above.
ORDER_MIGRATIONS = [
    dropped_index(ORDERS, "shop_id_1_stage_1_stage_deadline_1", "the SLA gauges' index gained the pipeline, ADR 0047")
]

# Fields of the order document that are not the domain state.
_STORE_FIELDS = ("_id", "version", "outbox", "has_outbox", "applied_events", "idempotency_key", "request_fingerprint")


# What a model dump holds that BSON takes as it is: not walked into (most values of an order are these).
_LEAVES = frozenset({str, int, float, bool, type(None), datetime})


def to_bson(value: Any) -> Any:
    """Decimals as strings (never float, and BSON has no Python Decimal); the rest as is.

    Every save of an order converts its whole dump: the leaves are passed over without a call, and
    the exact types a dump holds are tested first (an order of a few lines: ~80 → ~40 µs)."""
    kind = type(value)
    if kind is dict:
        return {k: v if type(v) in _LEAVES else to_bson(v) for k, v in value.items()}
    if kind is list or kind is tuple:
        return [v if type(v) in _LEAVES else to_bson(v) for v in value]
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dict):
        return {k: to_bson(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [to_bson(v) for v in value]
    return value


_MISSING = object()


def _same(value: Any, other: Any) -> bool:
    """`value` is `other`, or a list or dict of the very same entries (a decision's copy of an order
    copies its lists and dicts but shares their immutable and frozen entries)."""
    if value is other:
        return True
    kind = type(value)
    if kind is list and type(other) is list:
        return len(value) == len(other) and all(a is b for a, b in zip(value, other, strict=True))
    if kind is dict and type(other) is dict:
        return value.keys() == other.keys() and all(v is other[k] for k, v in value.items())
    return False


def order_state(order: Order) -> Document:
    state: Document = to_bson(order.model_dump(mode="python"))
    state.pop("id")
    return state


def stored_order(doc: Document) -> StoredOrder:
    return StoredOrder(
        order=Order.model_validate({**doc, "id": doc["_id"]}),
        version=doc["version"],
        idempotency_key=doc["idempotency_key"],
        request_fingerprint=doc["request_fingerprint"],
    )


# What a read of an order for its state leaves out: the outbox and the inbox of applied events.
_NOT_READ = {"outbox": 0, "applied_events": 0}

# Audit entries an order document holds at most; past that, save() moves the oldest to the archive
# until half remain, so one save in AUDIT_KEPT / 2 pays for a move.
AUDIT_KEPT = 100


class MongoOrders:
    def __init__(
        self,
        store: AggregateStore,
        bind: Callable[[list[Order]], Awaitable[None]] | None = None,
        *,
        audit_kept: int = AUDIT_KEPT,
        snapshots: OrderSnapshots | None = None,
    ) -> None:
        self.store = store
        # The documents this process wrote or read last (ADR 0032): the starting point of the next write.
        self.snapshots = snapshots if snapshots is not None else OrderSnapshots()
        # Binds loaded orders to their pipeline version (PipelineService.bind); None: built-ins only.
        self.bind = bind
        self.audit_archive = MongoAuditArchive(store.collection.database)
        self.audit_kept = max(audit_kept, 2)
        # Placements asking together whether their Idempotency-Key was used: one `$in` read per shop.
        self._by_key: Coalescer[tuple[str, str], Document | None] = Coalescer(self._by_keys, limit=ASKS_PER_READ)

    async def _bound(self, doc: Document) -> StoredOrder:
        return await self._bind(stored_order(doc))

    async def _bind(self, stored: StoredOrder) -> StoredOrder:
        if self.bind is not None:
            await self.bind([stored.order])
        return stored

    async def get(self, shop_id: str, order_id: str) -> StoredOrder | None:
        doc = await self.store.get(shop_id, order_id)
        if doc is None:
            return None
        stored = stored_order(doc)
        self.snapshots.keep(doc, stored)
        return await self._bind(stored)

    async def recent(self, shop_id: str, order_id: str) -> StoredOrder | None:
        """The order as this process last wrote or read it, without a round trip; None when it has no
        snapshot. Maybe overtaken: only the start of a version-checked save (ADR 0032)."""
        parsed = self.snapshots.parsed(shop_id, order_id)
        if parsed is not None:
            return await self._bind(parsed)
        doc = self.snapshots.latest(shop_id, order_id)
        if doc is None:
            return None
        stored = stored_order(doc)
        self.snapshots.attach(stored)
        return await self._bind(stored)

    async def by_idempotency_key(self, shop_id: str, key: str) -> StoredOrder | None:
        doc = await self._by_key((shop_id, key))
        return await self._bound(doc) if doc else None

    async def _by_keys(self, asks: list[tuple[str, str]]) -> list[Document | None]:
        found: dict[tuple[str, str], Document] = {}
        for shop_id, keys in keys_by_shop((shop_id, [key]) for shop_id, key in asks).items():
            query = {"shop_id": shop_id, "idempotency_key": {"$in": keys}}
            async for doc in self.store.collection.find(query, projection=_NOT_READ):
                found[(shop_id, doc["idempotency_key"])] = doc
        # Each caller parses its own order from the document (stored_order copies what it reads).
        return [found.get(ask) for ask in asks]

    async def create(
        self, order: Order, *, idempotency_key: str, request_fingerprint: str, events: Sequence[Envelope[Any]]
    ) -> StoredOrder:
        doc = {
            "_id": order.id,
            **order_state(order),
            "idempotency_key": idempotency_key,
            "request_fingerprint": request_fingerprint,
        }
        try:
            stored = await self.store.create(doc, events=events)
        except DuplicateKeyError as exc:
            raise DuplicateIdempotencyKey(idempotency_key) from exc
        # The order written is the order a read would give (times to the millisecond: `Acting`), so it
        # is not parsed back from the document it was just dumped to.
        created = StoredOrder(order, stored["version"], idempotency_key, request_fingerprint)
        self.snapshots.keep(stored, created)
        return created if order.bound_pipeline is not None else await self._bind(created)

    async def save(
        self,
        order: Order,
        *,
        expected_version: int,
        events: Sequence[Envelope[Any]],
        applied_event_id: str | None,
        applied_event_ids: Sequence[str] = (),
        read_back: bool = True,
    ) -> StoredOrder:
        before = self.snapshots.latest(order.shop_id, order.id)
        if before is not None and before.get("version") != expected_version:
            before = None
        # The order parsed from `before` (or written as it): what the decision left as it was need not be
        # dumped. Without it (or when the audit trail is due for the archive) the whole order is.
        base = self.snapshots.parsed(order.shop_id, order.id) if before is not None else None
        if (
            before is not None
            and base is not None
            and base.version == expected_version
            and base.order is not order
            and len(order.audit) <= self.audit_kept
        ):
            changed, appended = self._changes_from(base.order, order, before)
            keep_parsed = True
        else:
            whole = order_state(order)
            state = await self._move_old_audit(order, whole)
            changed = self._changed(before, state)
            appended = self._appended_audit(before, changed)
            keep_parsed = state is whole
        # Nobody reads the answer and this process has the version written over: the stored document is
        # that version with the fields just set (ADR 0032: a stored version is immutable but for its
        # outbox), so the store answers only the new version and the outbox, not the whole order.
        local = not read_back and before is not None
        set_fields = {k: v for k, v in changed.items() if k != "audit"} if appended else changed
        push = {"audit": appended} if appended else None
        # Nothing read back: the saves of a consumer batch's orders share one bulk write (group commit,
        # ADR 0045) instead of a findAndModify each; a save whose order still has an entry pending (or whose
        # version moved) misses there and makes its own findAndModify. Otherwise the order is read back.
        write = self.store.update_shared if local else self.store.update
        doc = await write(
            order.shop_id,
            order.id,
            expected_version,
            set_fields=set_fields,
            push=push,
            events=events,
            applied_event_id=applied_event_id,
            applied_event_ids=applied_event_ids,
        )
        if local:
            assert before is not None
            written = {**before, **changed, "version": doc["version"], "outbox": doc.get("outbox") or []}
            saved = StoredOrder(order, doc["version"], before["idempotency_key"], before["request_fingerprint"])
            self.snapshots.keep(written, saved if keep_parsed else None)
            return saved
        if not read_back:
            # Nobody reads the answer. The order decided is the order a read of the document would give
            # (times to the millisecond: `Acting`), unless the audit trail was cut for the archive: then
            # the document is parsed only if a later write starts from it (recent()).
            saved = StoredOrder(order, doc["version"], doc["idempotency_key"], doc["request_fingerprint"])
            self.snapshots.keep(doc, saved if keep_parsed else None)
            return saved
        saved = stored_order(doc)
        self.snapshots.keep(doc, saved)
        # A save keeps the order on its pipeline version: bind what the caller had bound instead of
        # reading the shop's pipeline settings again (one read per save saved).
        if order.bound_pipeline is not None and saved.order.pipeline == order.pipeline:
            saved.order.bind(order.bound_pipeline)
            return saved
        return await self._bind(saved)

    @staticmethod
    def _changes_from(base: Order, order: Order, before: Document) -> tuple[Document, list[Any] | None]:
        """`_changed` and `_appended_audit` of `order` against `before`, the document `base` was parsed
        from (or written from: the snapshot's parsed order, ADR 0032), dumping only the fields the
        decision gave another value than `base`'s. A field that holds the very same value as `base` (the
        same immutable or frozen object, or a list or dict of the very same entries: what a decision's
        copy of `base` shares, `Order.__deepcopy__`) dumps to what `before` holds, so it is left out
        without a dump; the others are dumped and compared with `before` as `_changed` does. Audit
        entries appended to `base`'s trail are dumped alone (entries are never changed in place).
        Every save of a consumed event used to dump and convert the whole order (lines, customer,
        the audit trail…) to set the few fields that moved."""
        old = base.__dict__
        fields = {k for k, v in order.__dict__.items() if k != "id" and not _same(v, old.get(k, _MISSING))}
        appended: list[Any] | None = None
        if "audit" in fields:
            kept, trail, stored = base.audit, order.audit, before.get("audit")
            if (
                isinstance(stored, list)
                and len(stored) == len(kept) < len(trail)
                and all(a is b for a, b in zip(kept, trail, strict=False))
            ):
                appended = [to_bson(entry.model_dump(mode="python")) for entry in trail[len(kept) :]]
                fields.discard("audit")
        state: Document = to_bson(order.model_dump(mode="python", include=fields)) if fields else {}
        changed = MongoOrders._changed(before, state)
        if appended is None:
            return changed, MongoOrders._appended_audit(before, changed)  # the trail dumped whole, if at all
        changed["audit"] = [*before["audit"], *appended]
        return changed, appended

    @staticmethod
    def _changed(before: Document | None, state: Document) -> Document:
        """The fields of `state` that differ from `before`, the document at the version the write is
        filtered on, when this process has it (its snapshot): a stored version is immutable but for
        its outbox, so what the write leaves out is what the document holds already. Without it, every
        field. (Lines, customer, address and totals are most of an order and rarely change.)"""
        if before is None:
            return state
        return {k: v for k, v in state.items() if k not in before or before[k] != v}

    @staticmethod
    def _appended_audit(before: Document | None, changed: Document) -> list[Any] | None:
        """The audit entries a save adds at the end of the trail `before` holds, when that is all it does
        to the trail: pushed instead of the whole trail set again (up to `audit_kept` entries, most of a
        save's bytes for the store to decode and apply). The write is filtered on `before`'s version,
        so the stored trail is `before`'s, and the push leaves exactly the trail a `$set` would."""
        trail = changed.get("audit")
        if before is None or trail is None:
            return None
        kept = before.get("audit")
        if not isinstance(kept, list) or len(trail) <= len(kept) or trail[: len(kept)] != kept:
            return None
        return list(trail[len(kept) :])

    async def _move_old_audit(self, order: Order, state: Document) -> Document:
        """Archive the oldest audit entries before the (version-checked) save that drops them from the
        document: if the save loses its race they are in both places, and reads take the archive only
        below the stored `audit_archived`."""
        entries = state["audit"]
        if len(entries) <= self.audit_kept:
            return state
        moved = len(entries) - self.audit_kept // 2
        await self.audit_archive.store(order.shop_id, order.id, order.audit_archived, entries[:moved])
        return {**state, "audit": entries[moved:], "audit_archived": order.audit_archived + moved}

    async def page(self, shop_id: str, *, stage: str | None, cursor: str | None, limit: int) -> OrderPage:
        query: Document = {"shop_id": shop_id}
        if stage:
            query["stage"] = stage
        projection = {"outbox": 0, "applied_events": 0, "audit": 0}
        page = await fetch_page(
            self.store.collection, query, cursor=cursor, limit=limit, newest_first=True, projection=projection
        )
        items = [stored_order(d) for d in page.items]
        if self.bind is not None:
            await self.bind([s.order for s in items])
        return OrderPage(items=items, next_cursor=page.next_cursor)


# The most placements of one turn of the event loop that one counter update numbers.
NUMBERS_PER_UPDATE = 500


class MongoOrderNumbers:
    """The shop's order numbers: one counter document per shop, `$inc` by how many placements of the
    shop ask together (ADR 0044): concurrent placements share one round trip and each takes one number
    of the range the update answered, in the order they asked. Unique per shop as before; a number
    taken by a placement that then fails is a gap, as before."""

    def __init__(self, db: AsyncDatabase[Document]) -> None:
        self.collection = db[ORDER_COUNTERS]
        self._next: Coalescer[str, int] = Coalescer(self._numbers_for, limit=NUMBERS_PER_UPDATE)

    async def next(self, shop_id: str) -> int:
        return await self._next(shop_id)

    async def _numbers_for(self, shops: list[str]) -> list[int]:
        wanted = Counter(shops)
        last = {shop_id: await self._take(shop_id, n) for shop_id, n in wanted.items()}
        # The range of a shop is (last - n, last]: its callers take it from the bottom, in order.
        given = {shop_id: last[shop_id] - n for shop_id, n in wanted.items()}
        numbers = []
        for shop_id in shops:
            given[shop_id] += 1
            numbers.append(given[shop_id])
        return numbers

    async def _take(self, shop_id: str, n: int) -> int:
        """The last number of the n just taken for the shop."""
        for _ in range(3):
            try:
                doc = await self.collection.find_one_and_update(
                    {"_id": shop_id, "shop_id": shop_id},
                    {"$inc": {"last_number": n}},
                    upsert=True,
                    return_document=ReturnDocument.AFTER,
                )
            except DuplicateKeyError:
                continue  # two first orders of a shop raced to create the counter; the loser increments it
            assert doc is not None
            return int(doc["last_number"])
        raise RuntimeError(f"could not number an order of shop {shop_id}")
