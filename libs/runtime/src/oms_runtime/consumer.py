"""Idempotent, at-least-once consumption in batches: concurrent across keys, in order within a key.

A service's logical consumers (`runtime.consumer(name).on(Type, handler)`, a `MessageConsumer` each)
share ONE Kafka consumer group (`ConsumerGroup`, one aiokafka consumer subscribed to the union of
their topics, ADR "one Kafka group per service"); a consumer built with `own_group=True` reads in a
group of its own, so nothing of the service's other traffic can delay it. The group reads in
batches (`getmany`). A record is dispatched to every logical consumer that handles its `x-type`
(the header is read before the body is decoded; the body is decoded once per record). Each logical
consumer's share is grouped by message key; the lanes (logical consumer and key) run concurrently
(up to `consumer_concurrency`), the messages of one lane strictly one after another; two logical
consumers of one key run side by side, as two groups did. The offsets of a batch are committed
only after every logical consumer stored, dead-lettered or parked its share, so a crash
redelivers and never skips (see "Committing"). A message whose `x-type` no logical consumer handles is skipped
without decoding its body; one that a handler's `when` (a pure test of the message) turns down is
skipped after decoding, before the inbox: it costs no round trip. A consumer with a lane handler
(`together`) hands the messages of one key that one batch brings to it at once, so that it can store
their effect in one write (ADR 0037); they are marked handled only after it returned, and handled
one by one when it fails.

Deduplication: a message whose `event_id` a logical consumer processed is skipped for that
consumer (the `inbox` collection, ids `<group>:<event_id>` with the logical consumer's own group
name `<prefix><service>.<name>`; one `$in` lookup per batch for all logical consumers and one
unordered insert after it); handlers also make their own update idempotent, because the process can
stop between the effect and the inbox record. A consumer whose every handler is a projection that a
replay cannot change (it replaces a row only by a newer version, `as_of` or the like, in one
conditional write) is built with `inbox=False`: it keeps no inbox records and looks none up
(ADR 0027); so is one whose every handler's effect is one insert unique on a key the message names
(an aggregate created with its first events: a replay is refused whenever it comes, ADR 0027
amended). A handler with any other effect (events on an existing aggregate, emails, counters)
never belongs to such a consumer.

Failures: a handler that raises is retried with backoff (`consumer_attempts`), then the message
goes to the dead-letter topic with the reason; `PermanentError` goes there at once. A handler that
raises `DependencyNotReady` (what it needs has not arrived yet, e.g. a projection lags) parks the
message in the `parked` collection; later messages of its lane (topic and key) for this logical
consumer park behind it, so order per key holds, while the other lanes, the other logical consumers
and the commit go on. Parked messages are re-driven with backoff and dead-lettered only after
`park_deadline_seconds`. A failing message delays only its own lane (and the batch's commit, which
is the whole service's: the cost of sharing the group).

Committing: the offsets of handled batches are committed at most `commit_interval_ms` after the
first of them was handled (and at once on a rebalance or a stop), not after every batch: at a few
messages per batch, a commit per batch was a request and a log append at the broker for every two
or three messages. A crash redelivers what was handled since the last commit; the inbox and the
handlers' own idempotency absorb it, as they absorb any redelivery.

Fetching: every assigned partition is paused while a batch is handled and resumed before the next
`getmany`, so a fetch leaves only while the group waits for records, and then for every partition.
aiokafka keeps one fetch in flight per broker and leaves out of it the partitions whose records are
still buffered; unpaused, a slow batch let records of its busy partition be buffered, the next fetch
go out for the other (quiet) partitions alone and wait at the broker for up to `fetch_wait_ms`, and
the busy partition was not fetched again until that long poll returned: seconds of idle consumer
with a backlog (docs/notes.md, reservelag). Paused, nothing is prefetched during a batch; the next
fetch costs one round trip and returns at once with whatever arrived.

Lingering (`linger_ms`, for a service whose events carry no latency promise): after a batch smaller
than `batch_size` the group waits that long before fetching again. A group that handles its records
in a millisecond or two fetches again at once and gets what arrived meanwhile (13 records at c64 for
webhooks, 0.38 fetches per order), and the fetch (request, response, records decoded by aiokafka) cost
it more than the records; lingering makes the batches larger and the fetches fewer. A record waits up
to `linger_ms` longer; an idle group is not affected (its fetch long-polls as before); a group of its
own (a latency promise) never lingers.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import traceback
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol, TypeVar

import structlog
from aiokafka import AIOKafkaConsumer, ConsumerRebalanceListener, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import CommitFailedError, KafkaError
from faststream.kafka import KafkaBroker
from oms_contracts import DEADLETTER_TOPIC, Envelope, Payload, decode, topic_for
from oms_contracts.envelope import InvalidMessage
from opentelemetry import context as otel_context
from opentelemetry import trace
from pymongo.asynchronous.database import AsyncDatabase

from oms_runtime.clock import Clock
from oms_runtime.errors import AlreadyApplied as AlreadyApplied
from oms_runtime.errors import DependencyNotReady as DependencyNotReady
from oms_runtime.errors import PermanentError as PermanentError
from oms_runtime.metrics import (
    CONSUMER_BATCH_RECORDS,
    CONSUMER_LAG,
    DEADLETTERED,
    MESSAGE_HANDLING_SECONDS,
    MESSAGES_CONSUMED,
)
from oms_runtime.mongo import Document, IndexSpec, insert_new_many
from oms_runtime.telemetry import extract_trace_context, get_logger, spans_exported, tracer

log = get_logger(__name__)

Handler = Callable[[Envelope[Any]], Awaitable[None]]
# Several messages of one key, in order, applied at once (`MessageConsumer.together`).
LaneHandler = Callable[[Sequence[Envelope[Any]]], Awaitable[None]]
# Whether a message concerns the handler at all, from the message alone (a replay gets the same answer).
Relevant = Callable[[Envelope[Any]], bool]
Lane = TypeVar("Lane")

# How often aiokafka's background fetcher wakes up when nothing happens is its `consumer_timeout_ms`
# (200 ms by default: five wake-ups a second per consumer). It is only a safety poll: the fetch in
# flight returning (data, or the long poll's end), records consumed, a seek, a resumed partition, a
# rebalance, a metadata refresh it asked for and a backoff each wake it at once. So it is the long
# poll's own length (`fetch_wait_ms`): an idle fetcher wakes when its fetch returns, not in between
# (it woke every 2 s before, seven times per 15 s fetch; docs/adr/0039, amendment).

INBOX_INDEXES = [
    IndexSpec("inbox", [("shop_id", 1), ("processed_at", 1)]),
    IndexSpec("parked", [("shop_id", 1), ("group", 1), ("parked_at", 1)]),
    # The consumer looks across tenants for the parked messages of its own lanes: like the outbox
    # index, by design not shop_id first.
    IndexSpec("parked", [("group", 1), ("lane", 1), ("seq", 1)], name="parked_by_lane"),
]


class RawMessage(Protocol):
    """What the consumer needs of a Kafka record (aiokafka's ConsumerRecord, or a parked copy)."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    headers: Sequence[tuple[str, bytes]]


@dataclass
class ParkedRecord:
    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    headers: Sequence[tuple[str, bytes]]


@dataclass
class _Item:
    record: RawMessage
    envelope: Envelope[Any]
    consumer: MessageConsumer
    handler: Handler
    inbox_id: str
    key: str
    parked: Document | None = None
    reason: str = ""

    @property
    def lane(self) -> str:
        """What parks behind a parked message (within its logical consumer): its key on its topic.
        Kafka orders a key within its partition only; a message of the same key on another topic
        (often the very dependency, e.g. OrderPlaced for a PaymentRequested) must not wait behind it."""
        return f"{self.record.topic}|{self.key}"


@dataclass
class _Batch:
    """What handling a batch leaves to store before its commit (all logical consumers' share)."""

    done: set[str]
    inbox: list[Document] = field(default_factory=list)
    parked: list[Document] = field(default_factory=list)


@dataclass
class _Route:
    """Who gets a record of one type on one topic: the logical consumers handling the type, and the
    ones subscribed to the topic that do not (each counts the record `ignored`, as its group did)."""

    handling: list[MessageConsumer]
    ignoring: list[MessageConsumer]


def ordering_key(record: RawMessage) -> str:
    """Messages with the same key keep their order; keyless ones keep their partition's order."""
    if record.key:
        return record.key.decode(errors="backslashreplace")
    return f"{record.topic}/{record.partition}"


def header(record: RawMessage, name: str) -> str | None:
    for key, value in record.headers or ():
        if key == name:
            return value.decode(errors="replace") if isinstance(value, bytes) else str(value)
    return None


async def _processed(db: AsyncDatabase[Document], inbox_ids: set[str]) -> set[str]:
    """Which of the inbox ids are recorded: one `$in` lookup."""
    if not inbox_ids:
        return set()
    found = await db["inbox"].find({"_id": {"$in": list(inbox_ids)}}, {"_id": 1}).to_list()
    return {d["_id"] for d in found}


async def _store(db: AsyncDatabase[Document], batch: _Batch) -> None:
    """What a batch leaves behind, before its commit: parked messages, then inbox records, one
    unordered insert each."""
    for collection, docs in (("parked", batch.parked), ("inbox", batch.inbox)):
        # A record refused as a duplicate is a redelivery of something recorded before: already there.
        await insert_new_many(db[collection], docs)


async def _for_each_lane(
    concurrency: int, lanes: dict[Lane, list[Any]], handle: Callable[[Lane, list[Any]], Awaitable[None]]
) -> None:
    """Each lane's items in order; up to `concurrency` lanes at once."""
    if len(lanes) == 1:
        lane, items = next(iter(lanes.items()))
        await handle(lane, items)
        return
    queue = list(lanes.items())
    queue.reverse()

    async def worker() -> None:
        while queue:
            lane, items = queue.pop()
            await handle(lane, items)

    # A task group: if one lane fails (the store or the dead-letter topic unreachable), the others
    # are cancelled and awaited before the batch is read again, so no lane runs twice at once.
    async with asyncio.TaskGroup() as group:
        for _ in range(min(concurrency, len(queue))):
            group.create_task(worker())


async def publish_dead_letter(
    broker: KafkaBroker,
    topic_prefix: str,
    consumers: Sequence[str],
    record: RawMessage,
    reason: str,
    detail: str | None = None,
) -> None:
    """One copy on the dead-letter topic, naming the logical consumer(s) it failed for."""
    headers = {k: (v.decode(errors="replace") if isinstance(v, bytes) else str(v)) for k, v in (record.headers or ())}
    headers.update(
        {
            "x-dlq-reason": reason[:1000],
            "x-dlq-topic": record.topic,
            "x-dlq-partition": str(record.partition),
            "x-dlq-offset": str(record.offset),
            "x-dlq-consumer": ",".join(consumers),
        }
    )
    if detail:
        headers["x-dlq-detail"] = detail[-2000:]
    await broker.publish(record.value or b"", topic=topic_prefix + DEADLETTER_TOPIC, key=record.key, headers=headers)
    for consumer in consumers:
        DEADLETTERED.labels(consumer, record.topic, reason.split(":", 1)[0][:60]).inc()
    log.warning("message dead-lettered", consumer=consumers, topic=record.topic, offset=record.offset, reason=reason)


class MessageConsumer:
    """One logical consumer of a service (`<prefix><service>.<name>`): the handlers of its payload
    types, its inbox records, its parked lanes and its metrics. It reads in a `ConsumerGroup`, most
    often the one the service's other logical consumers read in."""

    def __init__(
        self,
        *,
        name: str,
        service: str,
        broker: KafkaBroker,
        db: AsyncDatabase[Document],
        clock: Clock,
        attempts: int = 4,
        backoff_seconds: float = 0.2,
        topic_prefix: str = "",
        concurrency: int = 32,
        park_deadline_seconds: float = 3600.0,
        park_backoff_seconds: float = 0.5,
        park_backoff_max_seconds: float = 60.0,
        inbox: bool = True,
    ) -> None:
        self.topic_prefix = topic_prefix
        self.inbox = inbox
        self.service = service
        self.name = name
        # The logical group: inbox ids, parked documents, dead letters and message metrics carry it
        # (the Kafka group it once was; records written then still deduplicate).
        self.group = f"{topic_prefix}{service}.{name}"
        self.broker = broker
        self.db = db
        self.clock = clock
        self.attempts = attempts
        self.backoff_seconds = backoff_seconds
        self.concurrency = concurrency
        self.park_deadline = timedelta(seconds=park_deadline_seconds)
        self.park_backoff_seconds = park_backoff_seconds
        self.park_backoff_max_seconds = park_backoff_max_seconds
        self.handlers: dict[str, Handler] = {}
        self.relevant: dict[str, Relevant] = {}
        self.lane_handler: LaneHandler | None = None
        self.topics: list[str] = []
        # The Kafka group it reads in (set by ConsumerGroup.add).
        self.kafka_group: ConsumerGroup | None = None
        # Lanes of this consumer with parked messages (of assigned partitions) -> when the first is due.
        self._parked_lanes: dict[str, datetime] = {}
        self._seq = 0
        self._counters: dict[tuple[str, str], Any] = {}
        self._timers: dict[str, Any] = {}

    def on(self, payload_type: type[Payload], handler: Handler, *, when: Relevant | None = None) -> MessageConsumer:
        """Handle messages of `payload_type`. `when`: a pure test of the message; the ones it turns down
        are counted `ignored` and skipped before the inbox (no round trip for what the handler would
        return from at once)."""
        self.handlers[payload_type.TYPE] = handler
        if when is not None:
            self.relevant[payload_type.TYPE] = when
        topic = self.topic_prefix + topic_for(payload_type).name
        if topic not in self.topics:
            self.topics.append(topic)
        if self.kafka_group is not None:
            self.kafka_group.forget_routes()
        return self

    def together(self, handler: LaneHandler) -> MessageConsumer:
        """Hand the messages of one key that one batch brings (two or more, in order, none handled
        before) to `handler` at once, so that it can store their effect in one write. Its effect must
        be all or nothing (one single-document update recording every message's id, or a newest-wins
        write): when it raises, the messages are handled one by one by their own handlers, which
        must then find what it stored (a replay of each). Before it returns nothing is marked handled:
        the inbox records and the commit still follow the write."""
        self.lane_handler = handler
        return self

    def item(self, record: RawMessage, envelope: Envelope[Any], key: str) -> _Item | None:
        """This consumer's share of a decoded record, or None (counted ignored) when it wants none."""
        handler = self.handlers.get(envelope.type)
        relevant = self.relevant.get(envelope.type)
        if handler is None or (relevant is not None and not relevant(envelope)):
            self._count(envelope.type, "ignored").inc()
            return None
        return _Item(record, envelope, self, handler, f"{self.group}:{envelope.event_id}", key)

    # ---- one lane of a batch -------------------------------------------------------------------

    async def handle_lane(self, items: list[_Item], batch: _Batch) -> None:
        """The messages of one key for this consumer, in order."""
        if self.lane_handler is not None and len(items) > 1:
            items = await self._handle_together(self.lane_handler, items, batch)
        for item in items:
            if item.inbox_id in batch.done:
                self._count(item.envelope.type, "duplicate").inc()
                continue
            lane = item.lane
            if lane in self._parked_lanes:
                self._park(item, batch, reason=f"waits behind a parked message of {lane}")
                continue
            outcome = await self._handle(item)
            if outcome == "parked":
                self._park(item, batch, reason=item.reason)
                continue
            batch.done.add(item.inbox_id)
            if outcome in ("processed", "duplicate") and self.inbox:
                batch.inbox.append(self._inbox_record(item))

    async def _handle_together(self, handler: LaneHandler, items: list[_Item], batch: _Batch) -> list[_Item]:
        """The lane's messages through `handler` at once; what is left to handle one by one (all of
        them when it cannot take them or fails, none when it stored them)."""
        fresh = [i for i in items if i.inbox_id not in batch.done]
        if len(fresh) < 2 or len({i.inbox_id for i in fresh}) < len(fresh):
            return items
        if any(i.lane in self._parked_lanes for i in fresh):
            return items  # what waits behind a parked message keeps waiting, one by one
        token = otel_context.attach(extract_trace_context(fresh[-1].record.headers or ()))
        started = time.perf_counter()
        try:
            await handler([i.envelope for i in fresh])
        except Exception as exc:
            log.info("messages handled one by one", consumer=self.group, count=len(fresh), why=repr(exc)[:200])
            return items
        finally:
            otel_context.detach(token)
        share = (time.perf_counter() - started) / len(fresh)
        for item in fresh:
            self._timer(item.envelope.type).observe(share)
            self._count(item.envelope.type, "processed").inc()
            batch.done.add(item.inbox_id)
            if self.inbox:
                batch.inbox.append(self._inbox_record(item))
        taken = {id(i) for i in fresh}
        return [i for i in items if id(i) not in taken]

    def _park(self, item: _Item, batch: _Batch, *, reason: str) -> None:
        """Park one message; later messages of its lane (topic and key) for this consumer park behind it."""
        now = self.clock.now()
        batch.done.add(item.inbox_id)
        self._seq = max(time.time_ns(), self._seq + 1)
        record = item.record
        batch.parked.append(
            {
                "_id": item.inbox_id,
                "shop_id": item.envelope.shop_id,
                "group": self.group,
                "lane": item.lane,
                "seq": self._seq,
                "type": item.envelope.type,
                "topic": record.topic,
                "partition": record.partition,
                "offset": record.offset,
                "record_key": record.key,
                "value": record.value or b"",
                "headers": [[k, v] for k, v in record.headers or ()],
                "parked_at": now,
                "deadline": now + self.park_deadline,
                "attempts": 1,
                "next_attempt_at": now + timedelta(seconds=self.park_backoff_seconds),
                "reason": reason[:1000],
            }
        )
        self._count(item.envelope.type, "parked").inc()
        if item.lane not in self._parked_lanes:
            self._parked_lanes[item.lane] = now + timedelta(seconds=self.park_backoff_seconds)
            log.info("message parked until what it needs arrives", consumer=self.group, lane=item.lane)

    def _inbox_record(self, item: _Item) -> Document:
        return {"_id": item.inbox_id, "shop_id": item.envelope.shop_id, "processed_at": self.clock.now()}

    # ---- one message ---------------------------------------------------------------------------

    async def _handle(self, item: _Item) -> str:
        envelope = item.envelope
        token = otel_context.attach(extract_trace_context(item.record.headers or ()))
        structlog.contextvars.bind_contextvars(
            correlation_id=envelope.correlation_id, event_id=envelope.event_id, shop_id=envelope.shop_id
        )
        started = time.perf_counter()
        try:
            if spans_exported():
                with tracer().start_as_current_span(
                    f"consume {envelope.type}",
                    kind=trace.SpanKind.CONSUMER,
                    attributes={"messaging.destination.name": item.record.topic, "oms.consumer": self.group},
                ):
                    outcome = await self._run_handler(item)
            else:
                # No exporter: the writer's trace context is enough for what this handler writes.
                outcome = await self._run_handler(item)
        finally:
            otel_context.detach(token)
            structlog.contextvars.unbind_contextvars("correlation_id", "event_id", "shop_id")
        self._timer(envelope.type).observe(time.perf_counter() - started)
        if outcome != "parked":
            self._count(envelope.type, outcome).inc()
        return outcome

    async def _run_handler(self, item: _Item) -> str:
        envelope = item.envelope
        for attempt in range(1, self.attempts + 1):
            try:
                await item.handler(envelope)
                return "processed"
            except AlreadyApplied:
                return "duplicate"
            except DependencyNotReady as exc:
                item.reason = f"{type(exc).__name__}: {exc}"
                return "parked"
            except PermanentError as exc:
                await self.dead_letter(item.record, f"{type(exc).__name__}: {exc}")
                return "deadlettered"
            except Exception as exc:
                if attempt == self.attempts:
                    log.exception("handler failed; dead-lettering", type=envelope.type, attempts=attempt)
                    reason = f"{type(exc).__name__}: {exc} (after {attempt} attempts)"
                    await self.dead_letter(item.record, reason, detail=traceback.format_exc(limit=5))
                    return "deadlettered"
                log.warning("handler failed; retrying", type=envelope.type, attempt=attempt, error=str(exc))
                await asyncio.sleep(self.backoff_seconds * 2 ** (attempt - 1))
        raise AssertionError("unreachable")

    async def dead_letter(self, record: RawMessage, reason: str, detail: str | None = None) -> None:
        await publish_dead_letter(self.broker, self.topic_prefix, [self.group], record, reason, detail)

    # ---- parked messages -----------------------------------------------------------------------

    def load_parked(self, docs: Iterable[Document]) -> None:
        """Which lanes have parked messages, from this consumer's parked documents of the assigned
        partitions (after a (re)assignment of its Kafka group)."""
        self._parked_lanes.clear()
        for doc in docs:
            due = doc["next_attempt_at"]
            self._parked_lanes[doc["lane"]] = min(due, self._parked_lanes.get(doc["lane"], due))

    def first_due(self) -> datetime | None:
        return min(self._parked_lanes.values()) if self._parked_lanes else None

    async def redrive(self) -> None:
        """Try the parked messages of every lane that is due, in order; stop a lane at its first miss."""
        now = self.clock.now()
        due = [lane for lane, at in self._parked_lanes.items() if at <= now]
        if not due:
            return
        docs = await self.db["parked"].find({"group": self.group, "lane": {"$in": due}}).sort("seq", 1).to_list()
        by_lane: dict[str, list[Document]] = {lane: [] for lane in due}
        for doc in docs:
            by_lane.setdefault(doc["lane"], []).append(doc)
        done = await _processed(self.db, {d["_id"] for d in docs}) if self.inbox else set()
        await _for_each_lane(
            self.concurrency, by_lane, lambda lane, lane_docs: self._redrive_lane(lane, lane_docs, done, now)
        )

    async def _redrive_lane(self, lane: str, docs: list[Document], done: set[str], now: datetime) -> None:
        parked = self.db["parked"]
        for doc in docs:
            if doc["_id"] not in done:
                record = ParkedRecord(
                    doc["topic"],
                    doc["partition"],
                    doc["offset"],
                    doc.get("record_key"),
                    doc["value"],
                    [(k, v) for k, v in doc.get("headers", [])],
                )
                item = await self._parked_item(record)
                if item is not None:
                    item.parked = doc
                    outcome = await self._handle(item)
                    if outcome == "parked":
                        if now < doc["deadline"]:
                            await self._retry_later(lane, doc, now)
                            return
                        since = doc["parked_at"]
                        reason = f"{item.reason} (still missing after {doc['attempts']} attempts since {since})"
                        await self.dead_letter(record, reason)
                        self._count(item.envelope.type, "deadlettered").inc()
                    elif outcome in ("processed", "duplicate") and self.inbox:
                        await _store(self.db, _Batch(set(), inbox=[self._inbox_record(item)]))
            await parked.delete_one({"_id": doc["_id"]})
        self._parked_lanes.pop(lane, None)

    async def _parked_item(self, record: RawMessage) -> _Item | None:
        try:
            envelope = decode(record.value or b"")
        except InvalidMessage as exc:  # it was decoded once before it was parked: not expected
            await self.dead_letter(record, str(exc))
            self._count("invalid", "deadlettered").inc()
            return None
        return self.item(record, envelope, ordering_key(record))

    async def _retry_later(self, lane: str, doc: Document, now: datetime) -> None:
        attempts = doc["attempts"] + 1
        delay = min(self.park_backoff_max_seconds, self.park_backoff_seconds * 2 ** (attempts - 1))
        next_at = now + timedelta(seconds=delay)
        await self.db["parked"].update_one(
            {"_id": doc["_id"]}, {"$set": {"attempts": attempts, "next_attempt_at": next_at}}
        )
        self._parked_lanes[lane] = next_at

    # ---- metrics -------------------------------------------------------------------------------

    def _count(self, message_type: str, outcome: str) -> Any:
        child = self._counters.get((message_type, outcome))
        if child is None:
            child = self._counters[(message_type, outcome)] = MESSAGES_CONSUMED.labels(
                self.group, message_type, outcome
            )
        return child

    def _timer(self, message_type: str) -> Any:
        child = self._timers.get(message_type)
        if child is None:
            child = self._timers[message_type] = MESSAGE_HANDLING_SECONDS.labels(self.group, message_type)
        return child


class ConsumerGroup:
    """One Kafka consumer group (`group_id`) and its aiokafka consumer, subscribed to the topics of its
    logical consumers: it fetches, dispatches each record to the logical consumers that handle its
    type, stores what the batch leaves behind in one insert per collection and commits."""

    def __init__(
        self,
        *,
        group_id: str,
        service: str,
        broker: KafkaBroker,
        db: AsyncDatabase[Document],
        clock: Clock,
        bootstrap: str = "",
        backoff_seconds: float = 0.2,
        topic_prefix: str = "",
        batch_size: int = 500,
        concurrency: int = 32,
        fetch_wait_ms: int = 15000,
        commit_interval_ms: int = 1000,
        linger_ms: int = 0,
        heartbeat_ms: int = 5000,
        session_ms: int = 10000,
        instance_id: str | None = None,
    ) -> None:
        self.group_id = group_id
        self.service = service
        self.broker = broker
        self.db = db
        self.clock = clock
        self.bootstrap = bootstrap
        self.backoff_seconds = backoff_seconds
        self.topic_prefix = topic_prefix
        self.batch_size = batch_size
        self.concurrency = concurrency
        self.fetch_wait_ms = fetch_wait_ms
        self.heartbeat_ms = heartbeat_ms
        self.session_ms = session_ms
        self.instance_id = instance_id  # a static member's group.instance.id (settings.consumer_instance_id)
        self.commit_interval = commit_interval_ms / 1000
        self.linger = linger_ms / 1000
        self._batch_records = CONSUMER_BATCH_RECORDS.labels(group_id)
        self.members: list[MessageConsumer] = []
        self._routes: dict[tuple[str, str], _Route] = {}
        self._kafka: AIOKafkaConsumer | None = None
        self._task: asyncio.Task[None] | None = None
        self._stopping = False
        self._in_batch = False
        # Held while a batch (or a re-drive) is handled and committed; a rebalance waits for it.
        self._lock = asyncio.Lock()
        self._lag_partitions: set[tuple[str, int]] = set()
        self._coordinator: int | None = None  # the group coordinator's node id, for lag measurement
        # Offsets of handled batches not committed yet (module doc, "Committing"), and when the
        # oldest of them was handled.
        self._uncommitted: dict[TopicPartition, int] = {}
        self._uncommitted_since = 0.0

    def add(self, consumer: MessageConsumer) -> MessageConsumer:
        if any(m.group == consumer.group for m in self.members):
            raise ValueError(f"two consumers named {consumer.group}: their inbox records would collide")
        consumer.kafka_group = self
        self.members.append(consumer)
        self.forget_routes()
        return consumer

    @property
    def topics(self) -> list[str]:
        return list(dict.fromkeys(topic for member in self.members for topic in member.topics))

    @property
    def handles_anything(self) -> bool:
        return any(member.handlers for member in self.members)

    def forget_routes(self) -> None:
        self._routes.clear()

    def _route(self, topic: str, message_type: str) -> _Route:
        route = self._routes.get((topic, message_type))
        if route is None:
            subscribed = [m for m in self.members if topic in m.topics]
            route = self._routes[(topic, message_type)] = _Route(
                [m for m in subscribed if message_type in m.handlers],
                [m for m in subscribed if message_type not in m.handlers],
            )
        return route

    # ---- life cycle ----------------------------------------------------------------------------

    async def start(self) -> None:
        if not self.handles_anything or self._kafka is not None:
            return
        self._stopping = False
        self._in_batch = False
        self.forget_routes()
        self._kafka = AIOKafkaConsumer(
            bootstrap_servers=self.bootstrap,
            group_id=self.group_id,
            client_id=f"{self.service}.{self.group_id}",
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            fetch_max_wait_ms=self.fetch_wait_ms,
            max_poll_records=self.batch_size,
            consumer_timeout_ms=self.fetch_wait_ms,
            heartbeat_interval_ms=self.heartbeat_ms,
            session_timeout_ms=self.session_ms,
            group_instance_id=self.instance_id,
        )
        self._kafka.subscribe(self.topics, listener=_Rebalance(self))
        await self._kafka.start()
        self._task = asyncio.create_task(self._run(), name=f"consumer {self.group_id}")

    async def stop(self, timeout: float = 10.0) -> None:
        """Let the batch in hand finish and commit (within `timeout`), then leave the group."""
        self._stopping = True
        if self._task is not None:
            if not self._in_batch:
                self._task.cancel()  # waiting for messages: nothing in hand to finish or commit
            done, _ = await asyncio.wait([self._task], timeout=timeout)
            if not done:
                log.error("consumer did not finish its batch in time; abandoned", consumer=self.group_id)
                self._task.cancel()
                await asyncio.wait([self._task], timeout=1.0)
            self._task = None
        if self._kafka is not None:
            try:
                await self.commit_handled()
            except KafkaError:
                log.warning(
                    "offsets of handled batches not committed; they will be redelivered", consumer=self.group_id
                )
            kafka, self._kafka = self._kafka, None
            await kafka.stop()
        for topic, partition in self._lag_partitions:
            with contextlib.suppress(KeyError):
                CONSUMER_LAG.remove(self.group_id, topic, str(partition))
        self._lag_partitions.clear()

    async def _run(self) -> None:
        assert self._kafka is not None
        kafka = self._kafka
        while not self._stopping:
            try:
                fetched = await kafka.getmany(timeout_ms=self._wait_ms(), max_records=self.batch_size)
            except asyncio.CancelledError:
                raise
            except KafkaError:
                log.exception("fetch failed; retrying", consumer=self.group_id)
                await asyncio.sleep(1.0)
                continue
            if fetched:
                # No fetch may leave while the batch is handled (module doc, "Fetching"); pausing is
                # synchronous, before the first await, so the fetcher cannot send one in between.
                paused = _pause_fetching(kafka)
                try:
                    async with self._handling():
                        records = [r for batch in fetched.values() for r in batch]
                        self._batch_records.observe(len(records))
                        await self.handle_batch(records)
                        self._handled(fetched)
                    if self.linger and len(records) < self.batch_size:
                        # Module doc, "Lingering"; still paused, so the next fetch covers every partition.
                        await asyncio.sleep(self.linger)
                except asyncio.CancelledError:
                    raise
                except Exception:
                    # The store (or the dead-letter topic) is unreachable: nothing of the batch is
                    # committed; read it again from its first offsets after a pause.
                    log.exception("batch failed; it will be read again", consumer=self.group_id)
                    for tp, records in fetched.items():
                        with contextlib.suppress(Exception):
                            kafka.seek(tp, records[0].offset)
                    await asyncio.sleep(max(self.backoff_seconds, 1.0))
                    continue
                finally:
                    _resume_fetching(kafka, paused)
            if self._uncommitted and time.monotonic() >= self._commit_due():
                try:
                    async with self._handling():
                        await self.commit_handled()
                except KafkaError:
                    log.exception("commit failed; retrying", consumer=self.group_id)
                    await asyncio.sleep(1.0)
            now = self.clock.now()
            due = [m for m in self.members if (at := m.first_due()) is not None and at <= now]
            for member in due:
                try:
                    async with self._handling():
                        await member.redrive()
                except asyncio.CancelledError:
                    raise
                except Exception:
                    log.exception("re-driving parked messages failed; re-tried later", consumer=member.group)
                    await asyncio.sleep(1.0)

    def _wait_ms(self) -> int:
        """How long a fetch may wait when nothing comes: until the first parked lane is due, at most
        the fetch wait (an idle group makes few requests; stop() does not wait for it)."""
        wait_ms = self.fetch_wait_ms
        if self._uncommitted:
            wait_ms = min(wait_ms, max(0, int((self._commit_due() - time.monotonic()) * 1000)))
        dues = [at for m in self.members if (at := m.first_due()) is not None]
        if not dues:
            return wait_ms
        due_in = (min(dues) - self.clock.now()).total_seconds()
        return max(10, min(wait_ms, int(due_in * 1000)))

    def _commit_due(self) -> float:
        return self._uncommitted_since + self.commit_interval

    @contextlib.asynccontextmanager
    async def _handling(self) -> AsyncIterator[None]:
        """Messages in hand: a rebalance waits for them to be committed, stop() for them to finish."""
        async with self._lock:
            self._in_batch = True
            try:
                yield
            finally:
                self._in_batch = False

    def _handled(self, fetched: dict[TopicPartition, list[Any]]) -> None:
        """A batch is stored: its offsets join those waiting for the next commit."""
        if not self._uncommitted:
            self._uncommitted_since = time.monotonic()
        for tp, records in fetched.items():
            self._uncommitted[tp] = records[-1].offset + 1

    async def commit_handled(self) -> None:
        """Commit the offsets of every batch handled so far (called with the batch lock held)."""
        kafka, offsets = self._kafka, self._uncommitted
        if kafka is None or not offsets:
            return
        self._uncommitted = {}
        try:
            await kafka.commit(offsets)
        except CommitFailedError:
            # The group rebalanced: the partitions' new owner reads these again (idempotent).
            log.warning("commit refused after a rebalance; messages will be redelivered", consumer=self.group_id)
            return
        except KafkaError:
            # Not committed: kept for the next try (a stop or a rebalance tries again at once).
            for tp, offset in offsets.items():
                self._uncommitted.setdefault(tp, offset)
            raise
        for tp, offset in offsets.items():
            end = kafka.highwater(tp)
            if end is not None:
                self._lag(tp.topic, tp.partition).set(max(0, end - offset))

    # ---- one batch -----------------------------------------------------------------------------

    async def handle_batch(self, records: Iterable[RawMessage]) -> None:
        """Handle fetched records; returns when each logical consumer's share is stored,
        dead-lettered, parked or skipped."""
        items: list[_Item] = []
        for record in records:
            await self._prepare(record, items)
        if not items:
            return
        done = await _processed(self.db, {i.inbox_id for i in items if i.consumer.inbox})
        batch = _Batch(done)
        lanes: dict[tuple[MessageConsumer, str], list[_Item]] = {}
        for item in items:
            lanes.setdefault((item.consumer, item.key), []).append(item)
        await _for_each_lane(self.concurrency, lanes, lambda lane, lane_items: lane[0].handle_lane(lane_items, batch))
        await self._store(batch)

    async def _store(self, batch: _Batch) -> None:
        await _store(self.db, batch)

    async def _prepare(self, record: RawMessage, items: list[_Item]) -> None:
        """Each logical consumer's item of one record; the body decoded once, and only if someone wants it."""
        declared = header(record, "x-type")
        if declared is not None:
            route = self._route(record.topic, declared)
            for member in route.ignoring:
                member._count(declared, "ignored").inc()
            if not route.handling:
                return
        try:
            envelope = decode(record.value or b"")
        except InvalidMessage as exc:
            # Dead-lettered once, naming every logical consumer it was for (the ones its header names
            # it for, or all that read its topic): each of their groups used to dead-letter a copy.
            if declared is not None:
                meant_for = route.handling
            else:
                meant_for = [m for m in self.members if record.topic in m.topics]
            names = [m.group for m in meant_for] or [self.group_id]
            await publish_dead_letter(self.broker, self.topic_prefix, names, record, str(exc))
            for member in meant_for:
                member._count("invalid", "deadlettered").inc()
            return
        if declared != envelope.type:
            route = self._route(record.topic, envelope.type)
            if declared is None:  # (a header that lied was counted above)
                for member in route.ignoring:
                    member._count(envelope.type, "ignored").inc()
        key = ordering_key(record)
        for member in route.handling:
            item = member.item(record, envelope, key)
            if item is not None:
                items.append(item)

    # ---- parked messages -----------------------------------------------------------------------

    async def load_parked(self, partitions: Iterable[TopicPartition]) -> None:
        """Which lanes of the assigned partitions have parked messages, for every logical consumer."""
        assigned = {(tp.topic, tp.partition) for tp in partitions}
        by_group: dict[str, list[Document]] = {m.group: [] for m in self.members}
        if assigned:
            cursor = self.db["parked"].find(
                {"group": {"$in": list(by_group)}},
                {"group": 1, "lane": 1, "topic": 1, "partition": 1, "next_attempt_at": 1},
            )
            async for doc in cursor:
                if (doc["topic"], doc["partition"]) in assigned and doc["group"] in by_group:
                    by_group[doc["group"]].append(doc)
        for member in self.members:
            member.load_parked(by_group[member.group])

    # ---- lag -----------------------------------------------------------------------------------

    def assignment(self) -> set[TopicPartition]:
        """The partitions this group's consumer holds now (none before start or after stop)."""
        return set(self._kafka.assignment()) if self._kafka is not None else set()

    async def measure_lag(
        self, admin: AIOKafkaAdminClient, offsets: AIOKafkaConsumer, ends: dict[TopicPartition, int]
    ) -> None:
        """End offset minus committed offset of each assigned partition: grows while a partition is stuck.

        `ends`: the end offsets, read by the runtime for all its groups at once; `offsets`: a consumer of
        no group (it never fetches) for the start of a partition nothing was committed on. Neither goes
        through this group's consumer, whose connection may be held by a fetch's long poll (a broker
        answers one connection's requests in order). The committed offsets are asked of the group's
        coordinator, found once and again only after a failure."""
        kafka = self._kafka
        if kafka is None:
            return
        assigned = [tp for tp in kafka.assignment() if tp in ends]
        current = {(tp.topic, tp.partition) for tp in kafka.assignment()}
        for topic, partition in self._lag_partitions - current:
            with contextlib.suppress(KeyError):
                CONSUMER_LAG.remove(self.group_id, topic, str(partition))
        self._lag_partitions &= current
        if not assigned:
            return
        if self._coordinator is None:
            self._coordinator = await admin.find_coordinator(self.group_id)
        try:
            committed = await admin.list_consumer_group_offsets(
                self.group_id, group_coordinator_id=self._coordinator, partitions=assigned
            )
        except Exception:
            self._coordinator = None  # moved, or gone: found again at the next measurement
            raise
        missing = [tp for tp in assigned if tp not in committed or committed[tp].offset < 0]
        starts = await offsets.beginning_offsets(missing) if missing else {}
        for tp in assigned:
            position = committed[tp].offset if tp not in starts else starts[tp]
            self._lag(tp.topic, tp.partition).set(max(0, ends[tp] - position))

    def _lag(self, topic: str, partition: int) -> Any:
        self._lag_partitions.add((topic, partition))
        return CONSUMER_LAG.labels(self.group_id, topic, str(partition))


def _pause_fetching(kafka: AIOKafkaConsumer) -> set[TopicPartition]:
    """Pause every assigned partition: the fetcher sends nothing until `_resume_fetching`."""
    assigned: set[TopicPartition] = set(kafka.assignment())
    if assigned:
        kafka.pause(*assigned)
    return assigned


def _resume_fetching(kafka: AIOKafkaConsumer, paused: set[TopicPartition]) -> None:
    """Resume what `_pause_fetching` paused and is still assigned (a rebalance hands out fresh,
    unpaused partitions)."""
    still = paused & set(kafka.assignment())
    if still:
        kafka.resume(*still)


class _Rebalance(ConsumerRebalanceListener):  # type: ignore[misc]
    """Partitions leave only after the batch in hand is committed; new ones bring their parked lanes."""

    def __init__(self, group: ConsumerGroup) -> None:
        self.group = group

    async def on_partitions_revoked(self, revoked: Any) -> None:
        async with self.group._lock:
            with contextlib.suppress(KafkaError):
                await self.group.commit_handled()

    async def on_partitions_assigned(self, assigned: Any) -> None:
        kafka = self.group._kafka
        partitions = kafka.assignment() if kafka is not None else assigned
        try:
            await self.group.load_parked(partitions)
        except Exception:
            log.exception("could not load parked messages", consumer=self.group.group_id)
