"""Many orders race for the last units through TWO real catalog processes sharing one consumer
group, on the real broker and store; then the whole reservation traffic is replayed twice.

Afterwards no SKU is oversold, every order is fully reserved or cleanly rejected, on hand =
available + reserved everywhere, the ledger sums to the balances, and the replays changed nothing.
"""

from __future__ import annotations

import asyncio
import os
import random
import signal
import socket
import subprocess
import sys
from collections import Counter, defaultdict
from collections.abc import AsyncIterator, Iterator
from contextlib import AsyncExitStack
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from oms_catalog.adapters.outbound.mongo import INDEXES, LEDGER, RESERVATIONS, STOCK
from oms_catalog.bootstrap import Catalog, build
from oms_catalog.domain.catalog import Sku, Warehouse
from oms_catalog.settings import CatalogSettings
from oms_contracts import Actor, Envelope, Money, decode, new_id
from oms_contracts.messages.catalog import ReleaseStock, ReserveStock
from oms_contracts.messages.common import SkuQuantity
from oms_contracts.messages.fulfilment import ShipmentShipped
from oms_contracts.registry import CATALOG_COMMANDS, CATALOG_RESERVATIONS, FULFILMENT_EVENTS, Topic
from oms_runtime.cli import migrate
from oms_runtime.consumer import INBOX_INDEXES
from oms_testing import eventually
from oms_testing.kafka import TopicReader

ORDER_SERVICE = Actor.system("order")
ADMIN = Actor.system("test")
OUTCOMES = {"StockReserved", "StockReservationRejected"}
# Scarce stock: (sku, warehouse) -> units. 31 units in all; the orders ask for several times that.
SEED = {
    ("H1", "w-msk"): 4,
    ("H1", "w-spb"): 3,
    ("H2", "w-msk"): 2,
    ("H2", "w-spb"): 5,
    ("H3", "w-spb"): 6,
    ("H4", "w-msk"): 7,
    ("H5", "w-msk"): 1,
    ("H5", "w-spb"): 3,
}
SKUS = sorted({sku for sku, _ in SEED})
ORDERS = 60
REPO = Path(__file__).resolve().parents[4]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Process:
    proc: subprocess.Popen[bytes]
    port: int
    log: Path


@pytest.fixture
def settings(infra: Any, topic_prefix: str) -> CatalogSettings:
    return infra.settings(CatalogSettings, topic_prefix, "catalog2p", log_json=False)


@pytest.fixture
def processes(settings: CatalogSettings, tmp_path: Path) -> Iterator[list[Process]]:
    started: list[Process] = []
    for i in range(2):
        port = _free_port()
        log = tmp_path / f"catalog-{i}.log"
        env = {
            **os.environ,
            "OMS_KAFKA_BOOTSTRAP": settings.kafka_bootstrap,
            "OMS_MONGO_URL": settings.mongo_url,
            "OMS_MONGO_DB": settings.database_name,
            "OMS_TOPIC_PREFIX": settings.topic_prefix,
            "OMS_HTTP_PORT": str(port),
            "OMS_RELAY_POLL_SECONDS": "0.1",
            "OMS_LEDGER_FLUSH_SECONDS": "0.3",
            "OMS_LOG_JSON": "false",
            "OMS_LOG_LEVEL": "WARNING",
        }
        with log.open("wb") as out:
            proc = subprocess.Popen(
                [sys.executable, "-m", "oms_catalog", "serve"], env=env, cwd=REPO, stdout=out, stderr=subprocess.STDOUT
            )
        started.append(Process(proc, port, log))
    try:
        yield started
    finally:
        for p in started:
            if p.proc.poll() is None:
                p.proc.send_signal(signal.SIGTERM)
        for p in started:
            try:
                p.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                p.proc.kill()
                p.proc.wait()


@pytest.fixture
async def local(settings: CatalogSettings) -> AsyncIterator[Catalog]:
    """The application layer on the test's loop (seeding and reading), on the processes' database."""
    await migrate(settings, [*INDEXES, *INBOX_INDEXES])
    parts = build(settings)
    try:
        yield parts
    finally:
        await parts.runtime.mongo.close()


async def _ready(process: Process) -> bool:
    assert process.proc.poll() is None, process.log.read_text()[-3000:]
    try:
        async with httpx.AsyncClient() as client:
            r = await client.get(f"http://127.0.0.1:{process.port}/health/ready", timeout=2)
        return r.status_code == 200
    except httpx.HTTPError:
        return False


async def _seed(parts: Catalog, shop_id: str) -> None:
    for code in SKUS:
        await parts.catalog.upsert_sku(shop_id, Sku(code, f"Hot {code}", Money.of("100", "RUB")), ADMIN)
    await parts.catalog.add_warehouse(shop_id, Warehouse("w-msk", "Moscow", "msk"))
    await parts.catalog.add_warehouse(shop_id, Warehouse("w-spb", "Saint Petersburg", "spb"))
    for (sku, warehouse), units in SEED.items():
        await parts.stock.receive(
            shop_id, receipt_id=f"seed-{sku}-{warehouse}", sku=sku, warehouse_id=warehouse, quantity=units,
            note="seed", actor=ADMIN,
        )  # fmt: skip


def _orders(shop_id: str, rng: random.Random) -> list[Envelope[Any]]:
    commands = []
    for _ in range(ORDERS):
        skus = rng.sample(SKUS, rng.randint(1, 3))
        commands.append(
            Envelope.new(
                ReserveStock(
                    order_id=new_id(),
                    lines=[SkuQuantity(sku=s, quantity=rng.randint(1, 3)) for s in skus],
                    region=rng.choice(["msk", "spb", None]),
                ),
                shop_id=shop_id,
                actor=ORDER_SERVICE,
            )
        )
    return commands


async def _send(bootstrap: str, messages: list[tuple[str, bytes, bytes]]) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", enable_idempotence=True)
    await producer.start()
    try:
        await asyncio.gather(*[await producer.send(topic, value, key=key) for topic, value, key in messages])
    finally:
        await producer.stop()


async def _stock_docs(parts: Catalog, shop_id: str) -> list[dict[str, Any]]:
    return await parts.runtime.db[STOCK].find({"shop_id": shop_id}).sort("_id", 1).to_list(None)


async def _check_invariants(parts: Catalog, shop_id: str) -> list[dict[str, Any]]:
    docs = await _stock_docs(parts, shop_id)
    assert len(docs) == len(SEED)
    for doc in docs:
        assert doc["on_hand"] == doc["available"] + doc["reserved"], doc["_id"]
        assert min(doc["on_hand"], doc["available"], doc["reserved"]) >= 0, doc["_id"]
        assert doc["reserved"] == sum((doc.get("reservations") or {}).values()), doc["_id"]
    # The ledger (once every pending entry has moved there) sums to the balances.
    await eventually(
        lambda: _no_pending_ledger(parts, shop_id), timeout=30, what="ledger entries flushed from stock documents"
    )
    sums: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0])
    async for entry in parts.runtime.db[LEDGER].find({"shop_id": shop_id}):
        s = sums[(entry["sku"], entry["warehouse_id"])]
        s[0] += entry["on_hand_delta"]
        s[1] += entry["reserved_delta"]
    for doc in docs:
        assert sums[(doc["sku"], doc["warehouse_id"])] == [doc["on_hand"], doc["reserved"]], doc["_id"]
    return docs


async def _no_pending_ledger(parts: Catalog, shop_id: str) -> bool:
    pending = {"shop_id": shop_id, "ledger_pending._id": {"$exists": True}}
    return await parts.runtime.db[STOCK].count_documents(pending) == 0


async def _drained(admin: AIOKafkaAdminClient, offsets: AIOKafkaConsumer, groups: list[tuple[str, Topic]]) -> bool:
    """Every message on the topics has been committed by the consumer groups ((group, topic) pairs)."""
    for group, topic in groups:
        partitions = [TopicPartition(topic.name, p) for p in range(topic.partitions)]
        ends = await offsets.end_offsets(partitions)
        committed = await admin.list_consumer_group_offsets(group)
        for tp, end in ends.items():
            if end and (tp not in committed or committed[tp].offset < end):
                return False
    return True


def _mine(reader: TopicReader, shop_id: str) -> list[Envelope[Any]]:
    return [e for e in (decode(r.value) for r in reader.records) if e.shop_id == shop_id]


async def test_two_processes_never_oversell_and_replays_change_nothing(
    settings: CatalogSettings, processes: list[Process], local: Catalog, shop_id: str
) -> None:
    bootstrap, prefix = settings.kafka_bootstrap, settings.topic_prefix
    await _seed(local, shop_id)
    for process in processes:
        await eventually(lambda p=process: _ready(p), timeout=60, what=f"catalog on port {process.port} ready")

    rng = random.Random(4)
    reserves = _orders(shop_id, rng)
    ordered = {e.payload.order_id: {ln.sku: ln.quantity for ln in e.payload.lines} for e in reserves}
    traffic: list[tuple[str, Envelope[Any]]] = [(prefix + CATALOG_COMMANDS.name, e) for e in reserves]
    async with TopicReader(bootstrap, prefix + CATALOG_RESERVATIONS.name) as reader, AsyncExitStack() as stack:
        await _send(bootstrap, [(t, e.to_json(), e.key.encode()) for t, e in traffic])

        async def all_answered() -> bool:
            await reader.poll()
            answered = {e.payload.order_id for e in _mine(reader, shop_id) if e.type in OUTCOMES}
            return answered >= set(ordered)

        await eventually(all_answered, timeout=120, what="an outcome for every order")
        outcomes = [e for e in _mine(reader, shop_id) if e.type in OUTCOMES]
        by_order = Counter(e.payload.order_id for e in outcomes)
        assert set(by_order.values()) == {1}, "each order has exactly one outcome"
        reserved = {e.payload.order_id: e for e in outcomes if e.type == "StockReserved"}
        rejected = {e.payload.order_id for e in outcomes if e.type == "StockReservationRejected"}
        assert reserved and rejected, "the stock is scarce: some orders win, some lose"

        # Every reserved order got exactly what it ordered; every rejected one holds nothing.
        docs = await _check_invariants(local, shop_id)
        held: dict[str, dict[str, int]] = defaultdict(dict)
        for doc in docs:
            for order_id, qty in (doc.get("reservations") or {}).items():
                held[order_id][f"{doc['sku']}@{doc['warehouse_id']}"] = qty
        for order_id, event in reserved.items():
            got: Counter[str] = Counter()
            for allocation in event.payload.allocations:
                for ln in allocation.lines:
                    got[ln.sku] += ln.quantity
                    assert held[order_id][f"{ln.sku}@{allocation.warehouse_id}"] == ln.quantity
            assert dict(got) == ordered[order_id]
        for order_id in rejected:
            assert order_id not in held, f"rejected order {order_id} holds {held.get(order_id)}"
            doc = await local.runtime.db[RESERVATIONS].find_one({"_id": order_id, "shop_id": shop_id})
            assert doc is not None and doc["status"] == "rejected"
        # No SKU oversold: what is held plus what is left is exactly what came in.
        for sku in SKUS:
            received = sum(units for (s, _), units in SEED.items() if s == sku)
            assert sum(d["reserved"] + d["available"] for d in docs if d["sku"] == sku) == received
            assert sum(q for o in reserved for s, q in ordered[o].items() if s == sku) <= received

        # Some orders are cancelled, some shipped (one shipment per warehouse of the allocation).
        winners = sorted(reserved)
        more: list[tuple[str, Envelope[Any]]] = []
        for order_id in winners[:4]:
            release = Envelope.new(
                ReleaseStock(order_id=order_id, reason="cancelled"), shop_id=shop_id, actor=ORDER_SERVICE
            )
            more.append((prefix + CATALOG_COMMANDS.name, release))
        shipped = winners[4:8]
        for order_id in shipped:
            allocations = reserved[order_id].payload.allocations
            for allocation in allocations:
                event = Envelope.new(
                    ShipmentShipped(
                        order_id=order_id,
                        shipment_id=new_id(),
                        warehouse_id=allocation.warehouse_id,
                        lines=allocation.lines,
                        shipments_in_order=len(allocations),
                        carrier="test",
                        tracking_number="T1",
                    ),
                    shop_id=shop_id,
                    actor=Actor.system("fulfilment"),
                )
                more.append((prefix + FULFILMENT_EVENTS.name, event))
        await _send(bootstrap, [(t, e.to_json(), e.key.encode()) for t, e in more])
        traffic += more
        commits = sum(len(reserved[o].payload.allocations) for o in shipped)

        async def settled() -> bool:
            await reader.poll()
            types = Counter(e.type for e in _mine(reader, shop_id))
            return types["StockReleased"] == 4 and types["StockCommitted"] == commits

        await eventually(settled, timeout=60, what="releases and commits answered")
        # The service's one Kafka group reads both topics (ADR 0031).
        groups = [
            (f"{prefix}catalog", replace(CATALOG_COMMANDS, name=prefix + CATALOG_COMMANDS.name)),
            (f"{prefix}catalog", replace(FULFILMENT_EVENTS, name=prefix + FULFILMENT_EVENTS.name)),
        ]
        admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
        await admin.start()
        stack.push_async_callback(admin.close)

        def drained() -> Any:
            return _drained(admin, reader.consumer, groups)

        await eventually(drained, timeout=60, what="consumer groups caught up")
        before = await _check_invariants(local, shop_id)
        await eventually(lambda: _outboxes_empty(local, shop_id), timeout=30, what="every event published")
        await eventually(lambda: _read_to_end(reader), timeout=30, what="reader at the end of the topic")
        events_before = Counter((e.type, e.payload.order_id) for e in _mine(reader, shop_id))

        # REPLAY the whole reservation traffic twice: once as delivered again (same event ids),
        # once as if re-sent by the producers (new event ids, so the inbox cannot filter them).
        again = [(t, e.to_json(), e.key.encode()) for t, e in traffic]
        fresh = [
            (t, Envelope.new(e.payload, shop_id=shop_id, actor=e.actor).to_json(), e.key.encode()) for t, e in traffic
        ]
        await _send(bootstrap, again + fresh)
        await eventually(drained, timeout=120, what="replays consumed")
        await eventually(lambda: _outboxes_empty(local, shop_id), timeout=30, what="nothing left to publish")
        after = await _check_invariants(local, shop_id)

        def balances(docs: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
            keys = ("_id", "on_hand", "reserved", "available", "version")
            return [(*(d[k] for k in keys), sorted((d.get("reservations") or {}).items())) for d in docs]

        assert balances(after) == balances(before)
        await eventually(lambda: _read_to_end(reader), timeout=30, what="reader at the end of the topic")
        events_after = Counter((e.type, e.payload.order_id) for e in _mine(reader, shop_id))
        assert events_after == events_before
        assert len(await _stock_docs(local, shop_id)) == len(SEED)
        # Both processes really took part: each processed ReserveStock commands of its partitions.
        for process in processes:
            assert process.proc.poll() is None, process.log.read_text()[-3000:]
            assert await _processed(process, "ReserveStock") > 0, f"process on {process.port} handled nothing"

    # Both processes stop cleanly on SIGTERM (uvicorn shuts down gracefully, then re-raises the
    # signal it caught: the exit status is -SIGTERM, and nothing failed on the way out).
    for process in processes:
        process.proc.send_signal(signal.SIGTERM)
    for process in processes:
        assert process.proc.wait(timeout=30) in (0, -signal.SIGTERM), process.log.read_text()[-3000:]
        assert "Traceback" not in process.log.read_text(), process.log.read_text()[-3000:]


async def _processed(process: Process, message_type: str) -> float:
    async with httpx.AsyncClient() as client:
        text = (await client.get(f"http://127.0.0.1:{process.port}/metrics", timeout=5)).text
    total = 0.0
    for line in text.splitlines():
        wanted = f'type="{message_type}"' in line and 'outcome="processed"' in line
        if line.startswith("oms_messages_consumed_total{") and wanted:
            total += float(line.rsplit(" ", 1)[1])
    return total


async def _read_to_end(reader: TopicReader) -> bool:
    """The reader has every record the topic holds now (on every partition)."""
    await reader.poll()
    partitions = list(reader.consumer.assignment())
    if not partitions:
        return False
    ends = await reader.consumer.end_offsets(partitions)
    for tp, end in ends.items():
        if await reader.consumer.position(tp) < end:
            return False
    return True


async def _outboxes_empty(parts: Catalog, shop_id: str) -> bool:
    for name in (STOCK, RESERVATIONS):
        if await parts.runtime.db[name].count_documents({"shop_id": shop_id, "has_outbox": True}):
            return False
    return True
