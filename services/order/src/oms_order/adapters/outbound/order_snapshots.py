"""The order documents this process wrote or read last, by `_id`: a bounded, per-process memory that
spares the read before a write and the list projection's read of a version it has just written
(ADR 0032).

It is never the truth. A write that starts from a snapshot is filtered on the snapshot's version, so
a snapshot another writer has overtaken (a replica, another process, the relay's next pass changes
only the outbox) makes the write miss and the caller reads the document afresh; a read answers from
it only what it has proven current (a version at least the one asked for, or the write that emitted
the event asked about). A stored version of a document is immutable but for its outbox, which the
snapshot does not keep.

With a document it keeps the order parsed from it (`StoredOrder`), when the repository parsed it
anyway (a read, a save): the next write's starting point then costs no second validation of the same
document. A parsed order is shared, so nobody may change it in place (decisions work on a copy).
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass

from oms_runtime.mongo import Document

from oms_order.application.ports import StoredOrder

# What a snapshot leaves out: the outbox (the relay pulls from it without a new version) and the
# applied event ids (checked by the store's own filter, never from memory).
_NOT_KEPT = frozenset({"outbox", "has_outbox", "applied_events"})

DEFAULT_SNAPSHOTS_KEPT = 2000
# Event ids remembered per order (those its kept snapshots listed in their outbox).
EMITTED_KEPT = 64


@dataclass(slots=True)
class _Snapshot:
    doc: Document  # the document without the outbox and the applied ids
    emitted: tuple[str, ...]  # the event ids its write (and the kept ones before) put in the outbox
    parsed: StoredOrder | None  # the order parsed from `doc` (same version), when one was


class OrderSnapshots:
    def __init__(self, capacity: int = DEFAULT_SNAPSHOTS_KEPT) -> None:
        self.capacity = max(capacity, 0)
        self._kept: OrderedDict[str, _Snapshot] = OrderedDict()

    def __len__(self) -> int:
        return len(self._kept)

    def keep(self, doc: Document, parsed: StoredOrder | None = None) -> None:
        """Remember `doc` as the store answered it (a full document: version, state, audit), and the
        order `parsed` from it if the caller has it. An older version than the one kept is ignored:
        concurrent handlers may answer out of order."""
        if self.capacity == 0:
            return
        order_id = str(doc["_id"])
        version = doc.get("version")
        if not isinstance(version, int):
            return
        known = self._kept.get(order_id)
        if known is not None and known.doc["version"] > version:
            self._kept.move_to_end(order_id)
            return
        # Every event a kept snapshot listed was written at its version or before, so a newer snapshot
        # is after it too: the ids carry over (the newest EMITTED_KEPT of them).
        listed = tuple(str(e.get("event_id")) for e in doc.get("outbox") or ())
        carried = known.emitted if known is not None else ()
        emitted = tuple(dict.fromkeys((*carried, *listed)))[-EMITTED_KEPT:]
        self._kept[order_id] = _Snapshot(
            {k: v for k, v in doc.items() if k not in _NOT_KEPT},
            emitted,
            parsed if parsed is not None and parsed.version == version else None,
        )
        self._kept.move_to_end(order_id)
        while len(self._kept) > self.capacity:
            self._kept.popitem(last=False)

    def parsed(self, shop_id: str, order_id: str) -> StoredOrder | None:
        """The order parsed from the last snapshot, if one was kept with it."""
        known = self._known(shop_id, order_id)
        return known.parsed if known is not None else None

    def attach(self, parsed: StoredOrder) -> None:
        """Keep `parsed` with the snapshot it was parsed from (if that is still the one kept)."""
        known = self._kept.get(parsed.order.id)
        if known is not None and known.doc["version"] == parsed.version:
            known.parsed = parsed

    def latest(self, shop_id: str, order_id: str) -> Document | None:
        """The last snapshot of the order (maybe overtaken: only a starting point for a version-checked write)."""
        known = self._known(shop_id, order_id)
        return known.doc if known is not None else None

    def at_least(self, shop_id: str, order_id: str, version: int) -> Document | None:
        """The snapshot when it is at `version` or newer: as current as a read that version asks for."""
        doc = self.latest(shop_id, order_id)
        return doc if doc is not None and doc["version"] >= version else None

    def written_with(self, shop_id: str, order_id: str, event_id: str) -> Document | None:
        """The snapshot when it is at or after the write that put `event_id` in the outbox."""
        known = self._known(shop_id, order_id)
        return known.doc if known is not None and event_id in known.emitted else None

    def _known(self, shop_id: str, order_id: str) -> _Snapshot | None:
        known = self._kept.get(order_id)
        return known if known is not None and known.doc.get("shop_id") == shop_id else None
