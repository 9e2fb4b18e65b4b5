"""The command loop over DocumentRepository on the real MongoDB-protocol server: races, replays, creation."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, replace

import pytest
from oms_contracts import Actor, Envelope, new_id
from oms_contracts.messages.catalog import ReleaseStock
from oms_runtime.commands import CommandLoop, Decision, Loaded, RetryPolicy
from oms_runtime.mongo import Document
from oms_runtime.runtime import ServiceRuntime
from oms_runtime.settings import ServiceSettings
from oms_runtime.store import DocumentRepository


@dataclass(frozen=True)
class Tally:
    shop_id: str
    tally_id: str
    count: int = 0


def to_doc(t: Tally) -> Document:
    return {"_id": t.tally_id, "shop_id": t.shop_id, "count": t.count}


def of_doc(doc: Document) -> Tally:
    return Tally(doc["shop_id"], doc["_id"], doc["count"])


@pytest.fixture
async def runtime(infra, topic_prefix):
    settings = ServiceSettings(
        service_name="libtest",
        kafka_bootstrap=infra.kafka_bootstrap,
        mongo_url=infra.mongo_url,
        mongo_db=f"test_lib_{new_id()[-8:]}",
        topic_prefix=topic_prefix,
        relay_poll_seconds=0.1,
    )
    rt = ServiceRuntime(settings)
    await rt.start()
    yield rt
    await rt.stop()


def add_one(loaded: Loaded[Tally]) -> Decision[Tally]:
    event = Envelope.new(
        ReleaseStock(order_id=loaded.state.tally_id, reason=f"count {loaded.state.count + 1}"),
        shop_id=loaded.state.shop_id,
        actor=Actor.system("test"),
    )
    return Decision(replace(loaded.state, count=loaded.state.count + 1), [event])


async def test_concurrent_commands_all_count_and_each_event_is_stored_once(runtime, shop_id):
    repository = DocumentRepository(runtime.store("tallies"), to_document=to_doc, from_document=of_doc)
    loop = CommandLoop(repository, RetryPolicy(attempts=20), name="tallies")
    tally_id = new_id()
    new = lambda: Tally(shop_id, tally_id)  # noqa: E731
    await asyncio.gather(*(loop.run(shop_id, tally_id, add_one, new=new) for _ in range(6)))
    stored = await repository.load(shop_id, tally_id)
    assert stored is not None and stored.state.count == 6 and stored.version == 6
    doc = await runtime.db["tallies"].find_one({"_id": tally_id})
    assert doc is not None
    # The relay may have published some already; none is lost or doubled between outbox and topic.
    assert len({entry["event_id"] for entry in doc.get("outbox", [])}) == len(doc.get("outbox", []))


async def test_a_replayed_message_changes_nothing(runtime, shop_id):
    repository = DocumentRepository(runtime.store("tallies"), to_document=to_doc, from_document=of_doc)
    loop = CommandLoop(repository, name="tallies")
    tally_id = new_id()
    created = await loop.run(shop_id, tally_id, add_one, new=lambda: Tally(shop_id, tally_id), applied_event_id="e1")
    again = await loop.run(shop_id, tally_id, add_one, applied_event_id="e1")
    assert created == again == Loaded(Tally(shop_id, tally_id, 1), 1)
    later = await loop.run(shop_id, tally_id, add_one, applied_event_id="e2")
    assert later == Loaded(Tally(shop_id, tally_id, 2), 2)


async def test_another_shops_aggregate_is_not_found(runtime, shop_id):
    repository = DocumentRepository(runtime.store("tallies"), to_document=to_doc, from_document=of_doc)
    loop = CommandLoop(repository, name="tallies")
    tally_id = new_id()
    await loop.run(shop_id, tally_id, add_one, new=lambda: Tally(shop_id, tally_id))
    with pytest.raises(LookupError):
        await loop.run(f"other-{shop_id}", tally_id, add_one)


async def test_a_repository_that_does_not_read_back_returns_the_decided_state(runtime, shop_id):
    """`read_back=False`: a save hands back the decision's state at the new version, as reading the
    document would, without the store sending the document."""
    repository = DocumentRepository(runtime.store("tallies"), to_document=to_doc, from_document=of_doc, read_back=False)
    loop = CommandLoop(repository, name="tallies")
    tally_id = new_id()
    created = await loop.run(shop_id, tally_id, add_one, new=lambda: Tally(shop_id, tally_id))
    assert created == Loaded(Tally(shop_id, tally_id, 1), 1)
    saved = await loop.run_once(created, add_one)
    assert saved == Loaded(Tally(shop_id, tally_id, 2), 2)
    assert await repository.load(shop_id, tally_id) == saved
    assert await loop.run_once(created, add_one) is None  # a stale version still loses
