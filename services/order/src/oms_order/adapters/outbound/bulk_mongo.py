"""Conditional upserts in one round trip, for the projections whose handlers run concurrently and
whose every write is "set unless the stored document is as new or newer" (ADR 0032)."""

from __future__ import annotations

from oms_runtime.mongo import Document, refused_as_duplicates
from pymongo import UpdateOne
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import BulkWriteError


async def conditional_upserts(collection: AsyncCollection[Document], writes: list[UpdateOne]) -> list[bool]:
    """One unordered bulk write of upserts whose filters hold a "newer than stored" guard: a stored
    document as new or newer makes the filter miss, the insert then clashes on `_id`, and that write
    is answered False (it changed nothing). Any other error raises for the whole batch."""
    if not writes:
        return []
    stale: set[int] = set()
    try:
        await collection.bulk_write(writes, ordered=False)
    except BulkWriteError as exc:
        stale = refused_as_duplicates(exc)
    return [i not in stale for i in range(len(writes))]
