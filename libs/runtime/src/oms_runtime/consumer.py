"""Idempotent, at-least-once consumption with bounded retries and a dead-letter topic.

FastStream's default acknowledges before processing (at-most-once). Here the offset is
committed only after the handler stored its effect, or after the message went to the
dead-letter topic with the reason; a handler never leaves a failed message behind on its
partition, so a later commit cannot skip past it. A message whose `event_id` this consumer
has processed is skipped (the `inbox` collection); handlers also make their own update
idempotent, because the process can stop between the effect and the inbox record.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import traceback
from collections.abc import Awaitable, Callable
from typing import Any

import structlog
from aiokafka import TopicPartition
from faststream import AckPolicy
from faststream.kafka import KafkaBroker
from faststream.kafka.annotations import KafkaMessage
from oms_contracts import DEADLETTER_TOPIC, Envelope, Payload, decode, topic_for
from oms_contracts.envelope import InvalidMessage
from opentelemetry import context as otel_context
from opentelemetry import trace
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from oms_runtime.clock import Clock
from oms_runtime.metrics import CONSUMER_LAG, DEADLETTERED, MESSAGE_HANDLING_SECONDS, MESSAGES_CONSUMED
from oms_runtime.mongo import Document, IndexSpec
from oms_runtime.store import AlreadyApplied
from oms_runtime.telemetry import extract_trace_context, get_logger, tracer

log = get_logger(__name__)

Handler = Callable[[Envelope[Any]], Awaitable[None]]

INBOX_INDEXES = [IndexSpec("inbox", [("shop_id", 1), ("processed_at", 1)])]


class PermanentError(Exception):
    """The message can never be processed (retrying would not help): straight to the dead-letter topic."""


class MessageConsumer:
    """One consumer group of a service, dispatching each message to the handler of its payload type."""

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
    ) -> None:
        self.topic_prefix = topic_prefix
        self.group = f"{topic_prefix}{service}.{name}"
        self.broker = broker
        self.db = db
        self.clock = clock
        self.attempts = attempts
        self.backoff_seconds = backoff_seconds
        self.handlers: dict[str, Handler] = {}
        self.topics: list[str] = []
        self._registered = False

    def on(self, payload_type: type[Payload], handler: Handler) -> MessageConsumer:
        self.handlers[payload_type.TYPE] = handler
        topic = self.topic_prefix + topic_for(payload_type).name
        if topic not in self.topics:
            self.topics.append(topic)
        return self

    def register(self) -> None:
        """Attach the subscriber to the broker; must run before the broker starts."""
        if self._registered or not self.handlers:
            return
        self._registered = True

        @self.broker.subscriber(
            *self.topics,
            group_id=self.group,
            auto_offset_reset="earliest",
            ack_policy=AckPolicy.NACK_ON_ERROR,
        )
        async def consume(body: Any, msg: KafkaMessage) -> None:
            await self.handle_raw(msg)
            self.record_lag(msg)

    def record_lag(self, msg: Any) -> None:
        """Lag of this group on the message's partition, from the consumer's last fetch (no extra request)."""
        record = msg.raw_message
        consumer = getattr(msg, "consumer", None)
        highwater = getattr(consumer, "highwater", None)
        if highwater is None or record is None:
            return
        with contextlib.suppress(Exception):  # a metric never fails a message
            end = highwater(TopicPartition(record.topic, record.partition))
            if end is not None:
                lag = max(0, end - record.offset - 1)
                CONSUMER_LAG.labels(self.group, record.topic, str(record.partition)).set(lag)

    async def handle_raw(self, msg: Any) -> None:
        record = msg.raw_message
        raw: bytes = record.value if record.value is not None else b""
        try:
            envelope = decode(raw)
        except InvalidMessage as exc:
            await self.dead_letter(record, str(exc))
            MESSAGES_CONSUMED.labels(self.group, "invalid", "deadlettered").inc()
            return
        handler = self.handlers.get(envelope.type)
        if handler is None:
            MESSAGES_CONSUMED.labels(self.group, envelope.type, "ignored").inc()
            return
        inbox_id = f"{self.group}:{envelope.event_id}"
        if await self.db["inbox"].find_one({"_id": inbox_id}, {"_id": 1}):
            MESSAGES_CONSUMED.labels(self.group, envelope.type, "duplicate").inc()
            return
        headers = dict(record.headers or ())
        token = otel_context.attach(extract_trace_context(headers))
        structlog.contextvars.bind_contextvars(
            correlation_id=envelope.correlation_id, event_id=envelope.event_id, shop_id=envelope.shop_id
        )
        started = time.perf_counter()
        try:
            with tracer().start_as_current_span(
                f"consume {envelope.type}",
                kind=trace.SpanKind.CONSUMER,
                attributes={"messaging.destination.name": record.topic, "oms.consumer": self.group},
            ):
                outcome = await self._run_handler(handler, envelope, record)
        finally:
            otel_context.detach(token)
            structlog.contextvars.unbind_contextvars("correlation_id", "event_id", "shop_id")
        MESSAGE_HANDLING_SECONDS.labels(self.group, envelope.type).observe(time.perf_counter() - started)
        MESSAGES_CONSUMED.labels(self.group, envelope.type, outcome).inc()
        if outcome in ("processed", "duplicate"):
            with contextlib.suppress(DuplicateKeyError):  # a concurrent redelivery recorded it first
                await self.db["inbox"].insert_one(
                    {"_id": inbox_id, "shop_id": envelope.shop_id, "processed_at": self.clock.now()}
                )

    async def _run_handler(self, handler: Handler, envelope: Envelope[Any], record: Any) -> str:
        for attempt in range(1, self.attempts + 1):
            try:
                await handler(envelope)
                return "processed"
            except AlreadyApplied:
                return "duplicate"
            except PermanentError as exc:
                await self.dead_letter(record, f"{type(exc).__name__}: {exc}")
                return "deadlettered"
            except Exception as exc:
                if attempt == self.attempts:
                    log.exception("handler failed; dead-lettering", type=envelope.type, attempts=attempt)
                    reason = f"{type(exc).__name__}: {exc} (after {attempt} attempts)"
                    await self.dead_letter(record, reason, detail=traceback.format_exc(limit=5))
                    return "deadlettered"
                log.warning("handler failed; retrying", type=envelope.type, attempt=attempt, error=str(exc))
                await asyncio.sleep(self.backoff_seconds * 2 ** (attempt - 1))
        raise AssertionError("unreachable")

    async def dead_letter(self, record: Any, reason: str, detail: str | None = None) -> None:
        headers = {
            k: (v.decode(errors="replace") if isinstance(v, bytes) else str(v)) for k, v in (record.headers or ())
        }
        headers.update(
            {
                "x-dlq-reason": reason[:1000],
                "x-dlq-topic": record.topic,
                "x-dlq-partition": str(record.partition),
                "x-dlq-offset": str(record.offset),
                "x-dlq-consumer": self.group,
            }
        )
        if detail:
            headers["x-dlq-detail"] = detail[-2000:]
        await self.broker.publish(
            record.value or b"", topic=self.topic_prefix + DEADLETTER_TOPIC, key=record.key, headers=headers
        )
        DEADLETTERED.labels(self.group, record.topic, reason.split(":", 1)[0][:60]).inc()
        log.warning("message dead-lettered", topic=record.topic, offset=record.offset, reason=reason)
