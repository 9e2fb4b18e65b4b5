"""The aggregate store and outbox relay against the real MongoDB-protocol server and Kafka."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
import uuid
from typing import Any

import pytest
from oms_contracts import DEADLETTER_TOPIC, Actor, Envelope, new_id
from oms_contracts.messages.catalog import ReleaseStock
from oms_contracts.messages.order import OrderChanged
from oms_contracts.registry import CATALOG_COMMANDS, ORDER_CHANGES
from oms_runtime.clock import SystemClock
from oms_runtime.relay import LocalEntry, OutboxRelay, event_id_time
from oms_runtime.runtime import ServiceRuntime
from oms_runtime.settings import ServiceSettings
from oms_runtime.store import AggregateStore, AlreadyApplied, ConcurrencyError, outbox_entry
from oms_testing import eventually
from oms_testing.commands import record_commands
from oms_testing.kafka import TopicReader
from prometheus_client import REGISTRY
from pymongo.errors import DuplicateKeyError


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


def release(order_id: str, shop_id: str) -> Envelope[ReleaseStock]:
    return Envelope.new(ReleaseStock(order_id=order_id, reason="test"), shop_id=shop_id, actor=Actor.system("test"))


async def test_a_lost_race_raises_instead_of_overwriting(runtime, shop_id):
    store = runtime.store("things")
    await store.create({"_id": "a1", "shop_id": shop_id, "n": 0})

    async def bump(n: int) -> str:
        try:
            await store.update(shop_id, "a1", 1, set_fields={"n": n})
            return "won"
        except ConcurrencyError:
            return "lost"

    results = await asyncio.gather(*(bump(i) for i in range(8)))
    assert results.count("won") == 1
    doc = await store.get(shop_id, "a1")
    assert doc is not None and doc["version"] == 2


async def test_another_shop_cannot_update_the_aggregate(runtime, shop_id):
    store = runtime.store("things")
    await store.create({"_id": "a2", "shop_id": shop_id})
    with pytest.raises(ConcurrencyError):
        await store.update("other-shop", "a2", 1, set_fields={"x": 1})
    assert await store.get("other-shop", "a2") is None


async def test_a_consumed_event_applies_once(runtime, shop_id):
    store = runtime.store("things")
    await store.create({"_id": "a3", "shop_id": shop_id, "n": 0})
    await store.update(shop_id, "a3", 1, inc={"n": 1}, applied_event_id="e1")
    with pytest.raises(AlreadyApplied):
        await store.update(shop_id, "a3", 2, inc={"n": 1}, applied_event_id="e1")
    doc = await store.get(shop_id, "a3")
    assert doc is not None and doc["n"] == 1


async def test_events_applied_together_are_recorded_together_and_each_refused_again(runtime, shop_id):
    store = runtime.store("things")
    await store.create({"_id": "a5", "shop_id": shop_id, "n": 0})
    await store.update(shop_id, "a5", 1, inc={"n": 2}, applied_event_ids=["e1", "e2"])
    for replayed in (["e2", "e3"], ["e1"]):
        with pytest.raises(AlreadyApplied):
            await store.update(shop_id, "a5", 2, inc={"n": 1}, applied_event_ids=replayed)
    await store.update(shop_id, "a5", 2, inc={"n": 1}, applied_event_id="e3", applied_event_ids=["e4"])
    doc = await store.get(shop_id, "a5")
    assert doc is not None and doc["n"] == 3 and doc["applied_events"] == ["e1", "e2", "e3", "e4"]


async def test_duplicate_id_is_refused(runtime, shop_id):
    store = runtime.store("things")
    await store.create({"_id": "a4", "shop_id": shop_id})
    with pytest.raises(DuplicateKeyError):
        await store.create({"_id": "a4", "shop_id": shop_id})


async def test_many_created_at_once_refuse_only_those_made_before(runtime, shop_id):
    store = runtime.store("things_many")
    await store.collection.create_index([("shop_id", 1), ("natural", 1)], unique=True)
    await store.create({"_id": "m2", "shop_id": shop_id, "natural": "b"})
    docs = [{"_id": f"m{i}", "shop_id": shop_id, "natural": n} for i, n in enumerate("abcb", start=1)]
    made = await store.create_many(docs)
    # m2 exists; m4 repeats m2's natural key: both refused, the others stored in one insert.
    assert [d["_id"] if d else None for d in made] == ["m1", None, "m3", None]
    assert made[0] == {**docs[0], "version": 1, "outbox": [], "has_outbox": False, "applied_events": []}
    stored = await store.collection.find({"shop_id": shop_id}).sort("_id", 1).to_list()
    assert [(d["_id"], d["version"]) for d in stored] == [("m1", 1), ("m2", 1), ("m3", 1)]
    assert await store.create_many([]) == []
    # One alone (insert_one): refused when taken, stored otherwise.
    assert await store.create_many([{"_id": "m1", "shop_id": shop_id, "natural": "z"}]) == [None]
    assert await store.create_many([{"_id": "m6", "shop_id": shop_id, "natural": "a"}]) == [None]
    [alone] = await store.create_many([{"_id": "m5", "shop_id": shop_id, "natural": "e"}])
    assert alone is not None and alone["version"] == 1 and await store.get(shop_id, "m5") is not None


async def test_creates_made_together_share_one_insert_and_each_gets_its_own_outcome(runtime, shop_id):
    store = runtime.store("things_together")
    await store.collection.create_index([("shop_id", 1), ("natural", 1)], unique=True)
    await store.create({"_id": "t2", "shop_id": shop_id, "natural": "b"})

    async def create(doc: dict[str, Any]) -> str:
        try:
            stored = await store.create(doc, [release(doc["_id"], shop_id)])
        except DuplicateKeyError:
            return "refused"
        return f"v{stored['version']}"

    docs = [{"_id": f"t{i}", "shop_id": shop_id, "natural": n} for i, n in enumerate("abcd", start=1)]
    with record_commands(runtime.settings.database_name) as log:
        outcomes = await asyncio.gather(*(create(doc) for doc in docs))
        # t2 exists already: only its create is refused, the others are stored by the same insert.
        assert outcomes == ["v1", "refused", "v1", "v1"]
        assert log.count("insert", "things_together") == 1, log.summary()
    stored = await store.collection.find({"shop_id": shop_id}).sort("_id", 1).to_list()
    assert [(d["_id"], d["natural"]) for d in stored] == [("t1", "a"), ("t2", "b"), ("t3", "c"), ("t4", "d")]


async def test_many_created_by_callers_side_by_side_share_one_insert(runtime, shop_id):
    store = runtime.store("things_many_together")
    await store.create({"_id": "g0", "shop_id": shop_id})
    with record_commands(runtime.settings.database_name) as log:
        first, second = await asyncio.gather(
            store.create_many([{"_id": "g0", "shop_id": shop_id}, {"_id": "g1", "shop_id": shop_id}]),
            store.create_many([{"_id": "g2", "shop_id": shop_id}]),
        )
        assert log.count("insert", "things_many_together") == 1, log.summary()
    assert [d["_id"] if d else None for d in first] == [None, "g1"]  # g0 was made before: refused
    assert [d["_id"] if d else None for d in second] == ["g2"]


async def test_shared_updates_of_callers_side_by_side_go_in_one_bulk_write(
    runtime_without_scan, shop_id, infra, topic_prefix
):
    """`update_shared`: one `update` command for the callers that come together, each with its own
    outcome, and the relay publishes each one's events from the snapshot it returns (no scan runs)."""
    store = runtime_without_scan.store("shared")
    ids = [new_id() for _ in range(4)]
    for aggregate_id in ids:
        await store.create({"_id": aggregate_id, "shop_id": shop_id, "n": 0, "body": "x" * 1000})
    events = {aggregate_id: release(aggregate_id, shop_id) for aggregate_id in ids}

    async def write(aggregate_id: str, version: int) -> int | str:
        try:
            done = await store.update_shared(
                shop_id, aggregate_id, version, set_fields={"n": 1}, events=[events[aggregate_id]]
            )
        except ConcurrencyError:
            return "lost"
        assert set(done) == {"_id", "version", "outbox"}
        assert [e["event_id"] for e in done["outbox"]] == [events[aggregate_id].event_id]
        return int(done["version"])

    await store.update(shop_id, ids[3], 1, set_fields={"n": 9})  # another writer was first: at version 2
    with record_commands(runtime_without_scan.settings.database_name) as log:
        outcomes = await asyncio.gather(*(write(aggregate_id, 1) for aggregate_id in ids))
        # (The relay may mark a first entry sent meanwhile: its update filters on the outbox, not the version.)
        assert log.count("update", "shared", filtering="version") == 1, log.summary()
        # The one that missed asked on its own, to tell a moved version from a pending entry.
        assert log.count("findAndModify", "shared") == 1, log.summary()
    assert outcomes == [2, 2, 2, "lost"]
    stored = {d["_id"]: d async for d in store.collection.find({"shop_id": shop_id})}
    assert [(stored[i]["n"], stored[i]["version"], stored[i]["body"]) for i in ids[:3]] == [(1, 2, "x" * 1000)] * 3
    assert (stored[ids[3]]["n"], stored[ids[3]]["version"]) == (9, 2)
    async with TopicReader(infra.kafka_bootstrap, topic_prefix + CATALOG_COMMANDS.name) as reader:
        for aggregate_id in ids[:3]:
            await reader.wait_for(lambda r, key=aggregate_id.encode(): r.key == key)

    async def marked_sent() -> bool:
        return await store.collection.count_documents({"_id": {"$in": ids[:3]}, "outbox.0": {"$exists": True}}) == 0

    await eventually(marked_sent, what="every shared update's entry marked sent")


async def test_a_shared_update_behind_a_pending_entry_keeps_it_and_its_order(runtime_without_scan, shop_id):
    """The shared update expects an empty outbox (its snapshot is only its own events): behind an
    entry still pending it makes its own findAndModify, whose snapshot holds both, in order."""
    store = runtime_without_scan.store("shared_pending")
    aggregate_id = new_id()
    earlier, later = release(aggregate_id, shop_id), release(aggregate_id, shop_id)
    await store.collection.insert_one(
        {"_id": aggregate_id, "shop_id": shop_id, "version": 1, "outbox": [outbox_entry(earlier)], "has_outbox": True}
    )
    done = await store.update_shared(shop_id, aggregate_id, 1, set_fields={"n": 1}, events=[later])
    assert done["version"] == 2
    assert [e["event_id"] for e in done["outbox"]] == [earlier.event_id, later.event_id]


async def test_shared_updates_that_apply_a_message_share_the_write_and_refuse_its_replay(runtime_without_scan, shop_id):
    """With `applied_event_id` the shared update records the message in the same write; a replay of
    it (or of a message applied by an earlier write) is refused as AlreadyApplied, not as a lost race."""
    store = runtime_without_scan.store("shared_applied")
    ids = [new_id() for _ in range(3)]
    for aggregate_id in ids:
        await store.create({"_id": aggregate_id, "shop_id": shop_id, "n": 0})
    messages = [new_id() for _ in ids]
    with record_commands(runtime_without_scan.settings.database_name) as log:
        done = await asyncio.gather(
            *(
                store.update_shared(shop_id, aggregate_id, 1, set_fields={"n": 1}, applied_event_id=message)
                for aggregate_id, message in zip(ids, messages, strict=True)
            )
        )
        assert log.count("update", "shared_applied", filtering="version") == 1, log.summary()
        assert log.count("findAndModify", "shared_applied") == 0, log.summary()
    assert [d["version"] for d in done] == [2, 2, 2]
    stored = {d["_id"]: d async for d in store.collection.find({"shop_id": shop_id})}
    assert [(stored[i]["n"], stored[i]["applied_events"]) for i in ids] == [(1, [m]) for m in messages]
    with pytest.raises(AlreadyApplied):  # the replay, at the version it read before its first delivery
        await store.update_shared(shop_id, ids[0], 1, set_fields={"n": 2}, applied_event_id=messages[0])
    with pytest.raises(AlreadyApplied):  # the replay, at the current version
        await store.update_shared(shop_id, ids[1], 2, set_fields={"n": 2}, applied_event_id=messages[1])
    with pytest.raises(ConcurrencyError):  # another message at a version that moved on
        await store.update_shared(shop_id, ids[2], 1, set_fields={"n": 2}, applied_event_id=new_id())
    assert [(d["n"], d["version"]) async for d in store.collection.find({"shop_id": shop_id}).sort("_id", 1)] == [
        (1, 2)
    ] * 3


async def test_shared_updates_push_and_apply_several_messages_in_one_write(runtime_without_scan, shop_id):
    """`push` and `applied_event_ids` (the saves of orders a consumer batch moves): entries appended in
    the shared write, every message recorded by it; a replay of any of them is refused as AlreadyApplied
    (through the update of its own), and a miss behind a moved version pushes nothing."""
    store = runtime_without_scan.store("shared_pushed")
    ids = [new_id() for _ in range(2)]
    for aggregate_id in ids:
        await store.create({"_id": aggregate_id, "shop_id": shop_id, "trail": ["a"]})
    messages = [[new_id(), new_id()] for _ in ids]
    with record_commands(runtime_without_scan.settings.database_name) as log:
        done = await asyncio.gather(
            *(
                store.update_shared(
                    shop_id, aggregate_id, 1, set_fields={"n": 1}, push={"trail": ["b", "c"]}, applied_event_ids=m
                )
                for aggregate_id, m in zip(ids, messages, strict=True)
            )
        )
        assert log.count("update", "shared_pushed", filtering="version") == 1, log.summary()
        assert log.count("findAndModify", "shared_pushed") == 0, log.summary()
    assert [d["version"] for d in done] == [2, 2]
    stored = {d["_id"]: d async for d in store.collection.find({"shop_id": shop_id})}
    assert [(stored[i]["trail"], stored[i]["applied_events"]) for i in ids] == [(["a", "b", "c"], m) for m in messages]
    with pytest.raises(AlreadyApplied):  # one of the two again, with a new one
        await store.update_shared(
            shop_id, ids[0], 2, set_fields={"n": 2}, push={"trail": ["d"]}, applied_event_ids=[new_id(), messages[0][1]]
        )
    with pytest.raises(ConcurrencyError):
        await store.update_shared(shop_id, ids[1], 1, set_fields={"n": 2}, push={"trail": ["d"]})
    assert [d["trail"] async for d in store.collection.find({"shop_id": shop_id})] == [["a", "b", "c"]] * 2


async def test_a_shared_update_of_a_deleted_document_makes_nothing(runtime_without_scan, shop_id):
    store = runtime_without_scan.store("shared_gone")
    kept, gone = new_id(), new_id()
    for aggregate_id in (kept, gone):
        await store.create({"_id": aggregate_id, "shop_id": shop_id})
    await store.collection.delete_one({"_id": gone})
    outcomes = await asyncio.gather(
        store.update_shared(shop_id, kept, 1, set_fields={"n": 1}),
        store.update_shared(shop_id, gone, 1, set_fields={"n": 1}),
        return_exceptions=True,
    )
    assert isinstance(outcomes[0], dict) and outcomes[0]["version"] == 2
    assert isinstance(outcomes[1], ConcurrencyError)
    assert await store.collection.find_one({"_id": gone}) is None


async def test_reads_made_together_share_one_find_and_keep_the_tenant_check(runtime, shop_id):
    store = runtime.store("things_read")
    for i in range(3):
        await store.create({"_id": f"r{i}", "shop_id": shop_id, "n": i})
    await store.create({"_id": "r-other", "shop_id": "another-shop", "n": 9})
    asks = [(shop_id, "r0"), (shop_id, "r1"), (shop_id, "r1"), (shop_id, "r-other"), (shop_id, "r-none")]
    with record_commands(runtime.settings.database_name) as log:
        found = await asyncio.gather(*(store.get(shop, aggregate_id) for shop, aggregate_id in asks))
        assert log.count("find", "things_read") == 1, log.summary()
    assert [d["n"] if d else None for d in found] == [0, 1, 1, None, None]
    assert found[1] is not found[2]  # each caller may change its own copy
    assert (await store.get("another-shop", "r-other") or {}).get("n") == 9


async def test_relay_publishes_outbox_in_order_and_clears_it(runtime, shop_id, infra, topic_prefix):
    store = runtime.store("things")
    order_id = new_id()
    first, second, third = (release(order_id, shop_id) for _ in range(3))
    await store.create({"_id": order_id, "shop_id": shop_id}, [first])
    await store.update(shop_id, order_id, 1, events=[second, third])

    async with TopicReader(infra.kafka_bootstrap, topic_prefix + CATALOG_COMMANDS.name) as reader:
        await eventually(lambda: _count(reader, order_id, 3), what="three published messages")
        ids = [json.loads(r.value)["event_id"] for r in reader.records if r.key == order_id.encode()]
    assert ids == [first.event_id, second.event_id, third.event_id]

    async def cleared() -> bool:
        doc = await store.get(shop_id, order_id)
        return doc is not None and doc["outbox"] == [] and doc["has_outbox"] is False

    await eventually(cleared, what="outbox emptied")
    # The relay delay was observed for each message (the histogram is process-wide: other tests add to it).
    delays = REGISTRY.get_sample_value("oms_outbox_relay_delay_seconds_count", {"collection": "things"})
    assert delays is not None and delays >= 3


def test_the_relay_reads_the_creation_time_of_a_uuid7_event_id() -> None:
    before = time.time()
    created = event_id_time(new_id())
    assert created is not None and before - 0.002 <= created <= time.time() + 0.002
    assert event_id_time("not-a-uuid") is None
    assert event_id_time(str(uuid.uuid4())) is None


async def _count(reader: TopicReader, key: str, n: int) -> bool:
    await reader.poll()
    return sum(1 for r in reader.records if r.key == key.encode()) >= n


def _scanless_settings(infra, topic_prefix, **extra) -> ServiceSettings:
    """A test service whose relay's safety scan runs only when it takes the lease."""
    return infra.settings(
        ServiceSettings, topic_prefix, "lib", service_name=f"libtest{new_id()[-6:]}", relay_poll_seconds=3600, **extra
    )


@pytest.fixture
async def runtime_without_scan(infra, topic_prefix):
    """A relay whose safety scan runs only when it takes the lease: what it publishes later, it was told."""
    rt = ServiceRuntime(_scanless_settings(infra, topic_prefix), run_consumers=False)
    await rt.start()
    yield rt
    await rt.stop()


async def test_written_documents_are_published_by_id_many_at_once_in_order_per_key(
    runtime_without_scan, shop_id, infra, topic_prefix
):
    store = runtime_without_scan.store("things")
    order_ids = [new_id() for _ in range(40)]
    expected: dict[str, list[str]] = {}

    async def write(order_id: str) -> None:
        events = [release(order_id, shop_id) for _ in range(3)]
        await store.create({"_id": order_id, "shop_id": shop_id}, events[:1])
        await store.update(shop_id, order_id, 1, events=events[1:])
        expected[order_id] = [e.event_id for e in events]

    await asyncio.gather(*(write(order_id) for order_id in order_ids))
    wanted = {order_id.encode() for order_id in order_ids}

    async with TopicReader(infra.kafka_bootstrap, topic_prefix + CATALOG_COMMANDS.name) as reader:

        async def all_published() -> bool:
            await reader.poll()
            return sum(1 for r in reader.records if r.key in wanted) >= 3 * len(order_ids)

        await eventually(all_published, what="every message published without a scan")
    for order_id in order_ids:
        ids = [json.loads(r.value)["event_id"] for r in reader.records if r.key == order_id.encode()]
        assert ids == expected[order_id]

    # Marked sent right after Kafka's acknowledgement: maybe after the reader saw the messages.
    async def none_pending() -> bool:
        return await runtime_without_scan.db["things"].count_documents({"shop_id": shop_id, "has_outbox": True}) == 0

    await eventually(none_pending, what="every document marked sent")


async def test_an_update_returning_only_the_store_s_fields_is_still_published(
    runtime_without_scan, shop_id, infra, topic_prefix
):
    """`fields=()`: the caller gets `_id`, `version` and the outbox back, not the document's bulk, and
    the relay publishes from that snapshot (no scan runs here)."""
    store = runtime_without_scan.store("things")
    order_id = new_id()
    await store.create({"_id": order_id, "shop_id": shop_id, "body": "x" * 5000, "n": 0})
    event = release(order_id, shop_id)
    returned = await store.update(shop_id, order_id, 1, set_fields={"n": 1}, events=[event], fields=())
    assert set(returned) == {"_id", "version", "outbox"}
    assert returned["version"] == 2 and [e["event_id"] for e in returned["outbox"]] == [event.event_id]
    named = await store.update(shop_id, order_id, 2, set_fields={"n": 2}, fields=["n"])
    assert set(named) == {"_id", "version", "outbox", "n"} and named["n"] == 2
    async with TopicReader(infra.kafka_bootstrap, topic_prefix + CATALOG_COMMANDS.name) as reader:
        await reader.wait_for(lambda r: r.key == order_id.encode())
    stored = await store.get(shop_id, order_id)
    assert stored is not None and stored["body"] == "x" * 5000 and stored["n"] == 2


async def test_the_safety_scan_publishes_what_no_wake_up_named(runtime, shop_id, infra, topic_prefix):
    """A write by another process (or a replica without the lease, or before a crash) reaches Kafka too."""
    elsewhere = AggregateStore(runtime.db["things"], topic_prefix=topic_prefix)  # nobody is told
    runtime.relay.watch(["things"])
    order_id = new_id()
    event = release(order_id, shop_id)
    await elsewhere.create({"_id": order_id, "shop_id": shop_id}, [event])
    async with TopicReader(infra.kafka_bootstrap, topic_prefix + CATALOG_COMMANDS.name) as reader:
        await reader.wait_for(lambda r: r.key == order_id.encode())


async def test_the_safety_scan_finds_entries_behind_a_cleared_flag(runtime, shop_id, infra, topic_prefix):
    """A crash between marking sent (flag cleared) and repairing the flag of a document a writer appended
    to meanwhile leaves entries behind `has_outbox: false`: the scan looks for entries, so they leave."""
    runtime.relay.watch(["things"])
    order_id = new_id()
    entry = outbox_entry(release(order_id, shop_id), topic_prefix)
    doc = {"_id": order_id, "shop_id": shop_id, "version": 2, "outbox": [entry], "has_outbox": False}
    await runtime.db["things"].insert_one(doc)  # as the crash left it; nobody is told
    async with TopicReader(infra.kafka_bootstrap, topic_prefix + CATALOG_COMMANDS.name) as reader:
        await reader.wait_for(lambda r: r.key == order_id.encode())


async def test_an_entry_appended_while_publishing_stays_pending(runtime_without_scan, shop_id):
    """The relay marks sent only what it published: an entry a writer appended meanwhile stays, flagged
    (its writer's wake-up, or the safety scan for a writer in another process, names it for a later pass).
    The update that empties an outbox still holding exactly what was published misses, and a second
    round trip pulls the published entries by id."""
    rt = runtime_without_scan
    store = AggregateStore(rt.db["things"], topic_prefix=rt.settings.topic_prefix)  # the relay is not told
    order_id, other_id = new_id(), new_id()
    published = release(order_id, shop_id)
    await store.create({"_id": order_id, "shop_id": shop_id}, [published])
    await store.create({"_id": other_id, "shop_id": shop_id}, [release(other_id, shop_id)])
    read = await rt.db["things"].find({"_id": {"$in": [order_id, other_id]}}, {"outbox": 1}).to_list()
    late = release(order_id, shop_id)
    await store.update(shop_id, order_id, 1, events=[late])

    with record_commands(rt.settings.database_name) as log:
        await rt.relay._mark_sent("things", read)

    doc = await store.get(shop_id, order_id)
    assert doc is not None
    assert [e["event_id"] for e in doc["outbox"]] == [late.event_id]
    assert doc["has_outbox"] is True
    other = await store.get(shop_id, other_id)
    assert other is not None and other["outbox"] == [] and other["has_outbox"] is False
    assert log.count("update", "things") == 2, log.summary()  # the clearing bulk, then the pulls
    assert published.event_id in rt.relay._sent and late.event_id not in rt.relay._sent


async def test_a_document_written_again_during_the_pass_has_its_published_entries_pulled_at_once(
    runtime_without_scan, shop_id
):
    """This process wrote the document again while its entries were being published (the write's
    wake-up waits for the next pass): the emptying update would miss, so the relay pulls the published
    entries by id straight away, one update in one round trip, and the new entry stays, flagged."""
    rt = runtime_without_scan
    relay = OutboxRelay(
        rt.db, rt.broker, SystemClock(), service=f"idle{new_id()[-6:]}"
    )  # never runs: no pass of its own
    store = AggregateStore(rt.db["things"], topic_prefix=rt.settings.topic_prefix)
    order_id = new_id()
    published = release(order_id, shop_id)
    await store.create({"_id": order_id, "shop_id": shop_id}, [published])
    read = await rt.db["things"].find({"_id": order_id}, {"outbox": 1}).to_list()
    late = release(order_id, shop_id)
    relay.wake("things", order_id, await store.update(shop_id, order_id, 1, events=[late]))

    with record_commands(rt.settings.database_name) as log:
        await relay._mark_sent("things", read)

    assert log.count("update", "things") == 1 and log.statements("update", "things") == 1, log.summary()
    doc = await store.get(shop_id, order_id)
    assert doc is not None and [e["event_id"] for e in doc["outbox"]] == [late.event_id]
    assert doc["has_outbox"] is True


async def test_an_outbox_emptied_by_another_relay_meanwhile_keeps_a_later_entry(runtime_without_scan, shop_id):
    """Two relays for a moment (a lease taken over): one pulled an entry of ours, a writer appended one,
    so the outbox has as many entries as we published and starts as ours did. The clearing update
    looks at the last entry, so it misses and the appended entry is not lost."""
    rt = runtime_without_scan
    store = AggregateStore(rt.db["things"], topic_prefix=rt.settings.topic_prefix)
    order_id = new_id()
    first, second = release(order_id, shop_id), release(order_id, shop_id)
    await store.create({"_id": order_id, "shop_id": shop_id}, [first, second])
    read = await rt.db["things"].find({"_id": order_id}, {"outbox": 1}).to_list()
    await rt.db["things"].update_one({"_id": order_id}, {"$pull": {"outbox": {"event_id": second.event_id}}})
    late = release(order_id, shop_id)
    await store.update(shop_id, order_id, 1, events=[late])

    await rt.relay._mark_sent("things", read)

    doc = await store.get(shop_id, order_id)
    assert doc is not None and [e["event_id"] for e in doc["outbox"]] == [late.event_id]
    assert doc["has_outbox"] is True


async def test_a_written_document_costs_the_relay_one_round_trip(runtime_without_scan, shop_id, infra, topic_prefix):
    """The store hands the relay the document as written: no read back, no check after the pull, only
    the one bulk write whose one update per document empties the outbox and lowers the flag."""
    rt = runtime_without_scan
    store = rt.store("things")
    order_id = new_id()
    events = [release(order_id, shop_id) for _ in range(3)]

    async def marked(*wanted: Envelope[Any]) -> bool:  # the relay's memory: no store command to wait
        return all(e.event_id in rt.relay._sent for e in wanted)

    async def settled() -> bool:  # the lease taken and the scan that follows it done
        return rt.relay._held and not rt.relay._scan_requested and not rt.relay._wake.is_set()

    await eventually(settled, what="relay settled")
    await asyncio.sleep(0.2)
    async with TopicReader(infra.kafka_bootstrap, topic_prefix + CATALOG_COMMANDS.name) as reader:
        with record_commands(rt.settings.database_name) as log:
            await store.create({"_id": order_id, "shop_id": shop_id}, events[:1])
            await eventually(lambda: marked(events[0]), what="first pass done")
            await store.update(shop_id, order_id, 1, events=events[1:])
            await eventually(lambda: marked(*events), what="second pass done")
        await eventually(lambda: _count(reader, order_id, 3), what="three published messages")
        ids = [json.loads(r.value)["event_id"] for r in reader.records if r.key == order_id.encode()]
    assert ids == [e.event_id for e in events]
    assert log.count(collection="things") == 4, log.summary()  # insert, findAndModify, and one update per pass
    assert log.count("update", "things") == 2
    assert log.statements("update", "things") == 2  # one update per document per pass
    doc = await store.get(shop_id, order_id)
    assert doc is not None and doc["outbox"] == [] and doc["has_outbox"] is False


async def test_a_lingering_relay_publishes_the_writes_made_during_its_linger_in_one_pass(infra, topic_prefix, shop_id):
    """`relay_linger_ms`: after a pass that published, the relay waits before the next, so the writes
    made meanwhile leave together (one marking write for all of them), each in order per key."""
    rt = ServiceRuntime(_scanless_settings(infra, topic_prefix, relay_linger_ms=1000), run_consumers=False)
    await rt.start()
    try:
        store = rt.store("things")
        first_id, later_ids = new_id(), [new_id() for _ in range(3)]
        first = release(first_id, shop_id)
        later = {order_id: [release(order_id, shop_id), release(order_id, shop_id)] for order_id in later_ids}

        async def marked(*wanted: Envelope[Any]) -> bool:
            return all(e.event_id in rt.relay._sent for e in wanted)

        async def settled() -> bool:  # the lease taken, the scan that follows it done, no linger running
            return rt.relay._held and not rt.relay._scan_requested and not rt.relay._wake.is_set()

        # Nothing was pending when it took the lease, so its first pass published nothing: no linger runs.
        await eventually(settled, what="relay settled")
        async with TopicReader(infra.kafka_bootstrap, topic_prefix + CATALOG_COMMANDS.name) as reader:
            with record_commands(rt.settings.database_name) as log:
                await store.create({"_id": first_id, "shop_id": shop_id}, [first])
                await eventually(lambda: marked(first), what="the first write published at once")
                # The relay lingers now: these are written meanwhile, each document twice.
                for order_id, (a, b) in later.items():
                    await store.create({"_id": order_id, "shop_id": shop_id}, [a])
                    await store.update(shop_id, order_id, 1, events=[b])
                everything = [e for pair in later.values() for e in pair]
                await eventually(lambda: marked(*everything), what="the later writes published")
            for order_id, events in later.items():
                await eventually(lambda oid=order_id: _count(reader, oid, 2), what="both messages of each key")
                ids = [json.loads(r.value)["event_id"] for r in reader.records if r.key == order_id.encode()]
                assert ids == [e.event_id for e in events]
        # One pass for the first write, one for the six entries of the three later documents.
        assert log.count("update", "things") == 2, log.summary()
        assert log.statements("update", "things") == 4
    finally:
        await rt.stop()


async def test_a_stale_snapshot_does_not_publish_again(runtime_without_scan, shop_id, infra, topic_prefix):
    """A snapshot taken before the relay pulled its entries (a wake-up that came late) leaves out what
    this relay already published: no duplicate on the topic."""
    rt = runtime_without_scan
    store = rt.store("things")
    order_id = new_id()
    first, second = release(order_id, shop_id), release(order_id, shop_id)
    created = await store.create({"_id": order_id, "shop_id": shop_id}, [first])
    async with TopicReader(infra.kafka_bootstrap, topic_prefix + CATALOG_COMMANDS.name) as reader:
        await eventually(lambda: _count(reader, order_id, 1), what="first published")
        rt.relay.wake("things", order_id, created)  # late: its entry has been published and pulled
        await store.update(shop_id, order_id, 1, events=[second])
        await eventually(lambda: _count(reader, order_id, 2), what="second published")
        await asyncio.sleep(0.5)  # room for a duplicate to show up; the assertion below is what matters
        await reader.poll()
        ids = [json.loads(r.value)["event_id"] for r in reader.records if r.key == order_id.encode()]
    assert ids == [first.event_id, second.event_id]


@pytest.fixture
async def runtime_with_a_short_lease(infra, topic_prefix):
    """A relay without a timed scan whose lease lasts 2 s (renewed every second)."""
    rt = ServiceRuntime(_scanless_settings(infra, topic_prefix, relay_lease_seconds=2), run_consumers=False)
    await rt.start()
    yield rt
    await rt.stop()


async def test_an_idle_relay_keeps_renewing_its_lease(runtime_with_a_short_lease):
    """With nothing to publish the relay still renews its lease (it once let it lapse and spun)."""
    leases = runtime_with_a_short_lease.db["leases"]
    name = f"outbox-relay:{runtime_with_a_short_lease.settings.service_name}"

    async def taken() -> Any:
        return await leases.find_one({"_id": name})

    first = await eventually(taken, what="lease taken")

    async def renewed() -> bool:
        doc = await leases.find_one({"_id": name})
        return doc is not None and doc["expires_at"] > first["expires_at"]

    await eventually(renewed, what="lease renewed while idle")


async def test_a_relay_without_the_lease_sleeps_until_it_asks_for_it_again(runtime_without_scan):
    """A replica whose relay does not hold the lease asks for it every 5 s, and does nothing in
    between (it woke every 50 ms: the safety scan's time, never kept without the lease, was long past)."""
    rt = runtime_without_scan
    name = f"outbox-relay:{rt.settings.service_name}"
    await eventually(lambda: rt.db["leases"].find_one({"_id": name}), what="the runtime's relay holds the lease")
    standby = OutboxRelay(rt.db, rt.broker, rt.clock, service=rt.settings.service_name, holder="another-replica")
    asks: list[float] = []
    holds = standby._holds_lease

    async def counted() -> bool:
        asks.append(time.monotonic())
        return await holds()

    standby._holds_lease = counted  # type: ignore[method-assign]
    task = asyncio.create_task(standby.run())
    try:
        # Two asks, and the time between them: a relay that spins asks again within milliseconds.
        await eventually(lambda: len(asks) >= 2, timeout=20, what="the standby asked twice")
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
    assert not standby._held
    assert asks[1] - asks[0] >= 4.5, asks


async def test_a_replica_without_the_lease_nudges_the_holder_which_publishes_its_write(
    runtime_with_a_short_lease, shop_id, infra, topic_prefix
):
    """Another replica's write is not left to a timed scan (none runs here): that replica's relay nudges the
    lease when its ask fails, and the holder scans at its next renewal."""
    rt = runtime_with_a_short_lease
    name = f"outbox-relay:{rt.settings.service_name}"
    await eventually(lambda: rt.db["leases"].find_one({"_id": name}), what="the runtime's relay holds the lease")
    standby = OutboxRelay(
        rt.db, rt.broker, rt.clock, service=rt.settings.service_name, holder="another-replica", lease_seconds=2
    )
    store = AggregateStore(rt.db["things"], on_pending=standby.wake, topic_prefix=topic_prefix)
    rt.relay.watch(["things"])
    task = asyncio.create_task(standby.run())
    try:
        await eventually(lambda: standby._asked, what="the standby asked once (its first ask nudges)")
        # Let the holder's renewal read that first nudge, so the one that matters is the write's.
        await eventually(lambda: rt.db["leases"].find_one({"_id": name, "nudged": {"$exists": False}}), what="read")
        order_id = new_id()
        await store.create({"_id": order_id, "shop_id": shop_id}, [release(order_id, shop_id)])
        async with TopicReader(infra.kafka_bootstrap, topic_prefix + CATALOG_COMMANDS.name) as reader:
            await reader.wait_for(lambda r: r.key == order_id.encode())
        assert not standby._held
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def test_a_process_that_writes_without_a_relay_nudges_the_holder_when_it_hands_over(
    runtime_with_a_short_lease, shop_id, infra, topic_prefix
):
    """A command-line tool (no relay of its own) leaves its writes to the serving relay and nudges it."""
    rt = runtime_with_a_short_lease
    name = f"outbox-relay:{rt.settings.service_name}"
    await eventually(lambda: rt.db["leases"].find_one({"_id": name}), what="the runtime's relay holds the lease")
    tool = ServiceRuntime(rt.settings, run_relay=False, run_consumers=False, run_loops=False)
    tool.relay.lease.holder = "a-tool"  # another process's: this one's would release the runtime's lease
    try:
        rt.relay.watch(["things"])
        order_id = new_id()
        await tool.store("things").create({"_id": order_id, "shop_id": shop_id}, [release(order_id, shop_id)])
        await tool.relay.hand_over()
        async with TopicReader(infra.kafka_bootstrap, topic_prefix + CATALOG_COMMANDS.name) as reader:
            await reader.wait_for(lambda r: r.key == order_id.encode())
    finally:
        await tool.mongo.close()


async def test_a_relay_whose_producer_stopped_sending_renews_it_and_publishes(
    runtime_without_scan, shop_id, infra, topic_prefix
):
    """A producer that sends nothing more (aiokafka's idempotent producer after OutOfOrderSequenceNumber
    once a broker restarted; here: the broker's producer closed behind the relay's back) is renewed
    after a few failed passes, and what waited in the outbox leaves."""
    rt = runtime_without_scan
    store = rt.store("things")
    await rt.broker.stop()
    order_id = new_id()
    message = release(order_id, shop_id)
    await store.create({"_id": order_id, "shop_id": shop_id}, [message])

    async with TopicReader(infra.kafka_bootstrap, topic_prefix + CATALOG_COMMANDS.name) as reader:
        found = await reader.wait_for(lambda r: r.key == order_id.encode(), timeout=30)
    assert json.loads(found.value)["event_id"] == message.event_id

    async def cleared() -> bool:
        doc = await store.get(shop_id, order_id)
        return doc is not None and doc["outbox"] == []

    await eventually(cleared, what="outbox emptied")


def test_the_producer_errors_after_which_aiokafka_sends_nothing_renew_it_at_once() -> None:
    from aiokafka.errors import KafkaTimeoutError, OutOfOrderSequenceNumber
    from oms_runtime.relay import PublishFailed

    assert PublishFailed(OutOfOrderSequenceNumber()).fatal
    assert not PublishFailed(KafkaTimeoutError()).fatal


def changed(order_id: str, shop_id: str, version: int) -> Envelope[OrderChanged]:
    return Envelope.new(OrderChanged(order_id=order_id, version=version), shop_id=shop_id, actor=Actor.system("test"))


async def test_a_topic_delivered_locally_goes_to_its_handler_and_is_marked_sent_with_the_rest(
    runtime_without_scan, shop_id, infra, topic_prefix
):
    """ADR 0046: entries of a topic delivered in-process never reach Kafka; the pass hands them to the
    handler, publishes the others in order, and empties the outbox once both are done."""
    rt = runtime_without_scan
    handed: list[tuple[Any, str]] = []

    async def handler(entries: list[LocalEntry]) -> list[tuple[LocalEntry, str]]:
        handed.extend((e.doc_id, e.entry["event_id"]) for e in entries)
        return []

    rt.deliver_locally(ORDER_CHANGES, handler, consumer="list")
    store = rt.store("local_things")
    doc_id = new_id()
    first, signal, second = release(doc_id, shop_id), changed(doc_id, shop_id, 1), release(doc_id, shop_id)
    await store.create({"_id": doc_id, "shop_id": shop_id}, [first, signal, second])

    async with TopicReader(infra.kafka_bootstrap, topic_prefix + CATALOG_COMMANDS.name) as reader:
        await eventually(lambda: _count(reader, doc_id, 2), what="the two commands published")
        ids = [json.loads(r.value)["event_id"] for r in reader.records if r.key == doc_id.encode()]
    assert ids == [first.event_id, second.event_id]
    assert handed == [(doc_id, signal.event_id)]

    async def cleared() -> bool:
        doc = await store.get(shop_id, doc_id)
        return doc is not None and doc["outbox"] == [] and doc["has_outbox"] is False

    await eventually(cleared, what="outbox emptied")
    async with TopicReader(infra.kafka_bootstrap, topic_prefix + ORDER_CHANGES.name) as changes:
        await changes.poll()
        assert not [r for r in changes.records if r.key == doc_id.encode()]


async def test_a_local_handler_that_fails_leaves_every_entry_of_the_pass_for_the_next(
    runtime_without_scan, shop_id, infra, topic_prefix
):
    rt = runtime_without_scan
    calls: list[int] = []

    async def handler(entries: list[LocalEntry]) -> list[tuple[LocalEntry, str]]:
        calls.append(len(entries))
        if len(calls) == 1:
            raise ConnectionError("the store is away")
        return []

    rt.deliver_locally(ORDER_CHANGES, handler, consumer="list")
    store = rt.store("local_failing")
    doc_id = new_id()
    await store.create({"_id": doc_id, "shop_id": shop_id}, [release(doc_id, shop_id), changed(doc_id, shop_id, 1)])
    await eventually(lambda: len(calls) >= 1, what="the first pass")
    doc = await store.get(shop_id, doc_id)
    assert doc is not None and len(doc["outbox"]) == 2 and doc["has_outbox"] is True
    rt.relay.wake()  # the scan, as after a failed pass (the test's relay scans only when asked)

    async def cleared() -> bool:
        doc = await store.get(shop_id, doc_id)
        return doc is not None and doc["outbox"] == []

    await eventually(cleared, what="outbox emptied by a later pass")
    assert calls[:2] == [1, 1]


async def test_an_entry_its_local_handler_refuses_is_dead_lettered_and_marked_sent(
    runtime_without_scan, shop_id, infra, topic_prefix
):
    rt = runtime_without_scan

    async def handler(entries: list[LocalEntry]) -> list[tuple[LocalEntry, str]]:
        return [(e, "Broken: never") for e in entries]

    rt.deliver_locally(ORDER_CHANGES, handler, consumer="list")
    store = rt.store("local_refused")
    doc_id = new_id()
    signal = changed(doc_id, shop_id, 1)
    async with TopicReader(infra.kafka_bootstrap, topic_prefix + DEADLETTER_TOPIC) as deadletter:
        await store.create({"_id": doc_id, "shop_id": shop_id}, [signal])
        record = await deadletter.wait_for(lambda r: r.key == doc_id.encode())
    headers = {k: v.decode() for k, v in record.headers}
    assert headers["x-dlq-consumer"] == f"{topic_prefix}{rt.settings.service_name}.list"
    assert headers["x-dlq-reason"] == "Broken: never"
    assert headers["x-type"] == "OrderChanged"
    assert json.loads(record.value)["event_id"] == signal.event_id

    async def cleared() -> bool:
        doc = await store.get(shop_id, doc_id)
        return doc is not None and doc["outbox"] == []

    await eventually(cleared, what="outbox emptied")
