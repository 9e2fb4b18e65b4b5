"""The pieces every service process is made of, built once from Settings in the composition root."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from aiokafka import AIOKafkaConsumer
from aiokafka.admin import AIOKafkaAdminClient
from faststream.kafka import KafkaBroker
from oms_contracts.registry import Topic
from prometheus_client import CollectorRegistry
from pymongo import AsyncMongoClient
from pymongo.asynchronous.database import AsyncDatabase

from oms_runtime.clock import Clock, SystemClock
from oms_runtime.consumer import ConsumerGroup, MessageConsumer
from oms_runtime.kafka import create_broker
from oms_runtime.lease import Lease, holder_id
from oms_runtime.mongo import Document, create_mongo_client
from oms_runtime.relay import LocalHandler, OutboxRelay
from oms_runtime.settings import ServiceSettings
from oms_runtime.store import AggregateStore
from oms_runtime.telemetry import get_logger, setup_logging, setup_tracing
from oms_runtime.waiting import woken_within

log = get_logger(__name__)

# When consumer lag is first measured after a start: the gauge exists soon, whatever the interval.
FIRST_LAG_SECONDS = 10.0


@dataclass
class _Loop:
    name: str
    step: Callable[[], Awaitable[Any]]
    interval_seconds: float
    once_per_cluster: bool
    woken: asyncio.Event = field(default_factory=asyncio.Event)

    def wake(self) -> None:
        """Run the next step now rather than at the end of the interval (on the lease holder)."""
        self.woken.set()


def loop_lease_seconds(every_seconds: float) -> float:
    """How long a once-per-cluster loop's lease lasts: three intervals, at least 10 s (a holder that
    stops renewing is replaced within that). Loops that hand out time-bound facts (gauges) use it."""
    return max(10.0, every_seconds * 3)


def effective_relay_linger_ms(settings: ServiceSettings) -> int:
    """How long the service's relay waits after a pass that published: its own linger, else the brief
    one when its events carry a latency promise that a few milliseconds keep (ADR 0049)."""
    if settings.relay_linger_ms:
        return settings.relay_linger_ms
    return settings.brief_linger_ms if settings.relay_lingers_briefly else 0


class ServiceRuntime:
    """Settings, clock, Mongo, Kafka broker, outbox relay, consumers and background loops of one service."""

    def __init__(
        self,
        settings: ServiceSettings,
        *,
        clock: Clock | None = None,
        mongo_client: AsyncMongoClient[Document] | None = None,
        broker: KafkaBroker | None = None,
        run_relay: bool = True,
        run_consumers: bool = True,
        run_loops: bool = True,
    ) -> None:
        setup_logging(settings.service_name, settings.log_level, settings.log_json)
        setup_tracing(settings.service_name, settings.otlp_endpoint)
        self.settings = settings
        self.clock: Clock = clock or SystemClock()
        self.mongo = mongo_client or create_mongo_client(settings)
        self.db: AsyncDatabase[Document] = self.mongo[settings.database_name]
        self.broker = broker or create_broker(settings)
        self.relay = OutboxRelay(
            self.db,
            self.broker,
            self.clock,
            service=settings.service_name,
            safety_scan_seconds=settings.relay_poll_seconds,
            linger_seconds=effective_relay_linger_ms(settings) / 1000,
            lease_seconds=settings.relay_lease_seconds,
        )
        self.run_relay = run_relay
        self.run_consumers = run_consumers
        self.run_loops = run_loops
        # Above the broker's graceful_timeout (10 s), which lets running handlers finish first.
        self.stop_timeout_seconds = 15.0
        # The logical consumers, and the Kafka groups they read in (by group id).
        self.consumers: list[MessageConsumer] = []
        self.kafka_groups: dict[str, ConsumerGroup] = {}
        self._loops: list[_Loop] = []
        self._tasks: list[asyncio.Task[Any]] = []
        self.started = False
        # Who holds this runtime's loop leases; tests running two "replicas" in one process set their own.
        self.holder = holder_id()
        # Metrics of this runtime instance, served at /metrics after the process registry: gauges that
        # describe the whole cluster and are exported only by a lease holder (several runtimes in one
        # process, as in tests, each keep their own).
        self.registry = CollectorRegistry(auto_describe=False)

    def store(self, collection: str) -> AggregateStore:
        """An aggregate collection whose outbox the relay publishes."""
        self.relay.watch([collection])
        return AggregateStore(self.db[collection], on_pending=self.relay.wake, topic_prefix=self.settings.topic_prefix)

    def deliver_locally(self, topic: Topic, handler: LocalHandler, *, consumer: str) -> None:
        """The outbox entries of `topic` go to `handler` in this process (on the relay's lease holder)
        instead of Kafka, and are marked sent once it returned (ADR 0046): for a topic whose only
        reader is this service's own projection, the logical consumer `<service>.<consumer>` (its
        name on what the handler refuses, dead-lettered). Entries keep their topic, so an outbox
        written by an older release is handled the same way, and an older relay would still publish
        them (keep that consumer on the topic for as long as Kafka may hold such messages)."""
        prefix = self.settings.topic_prefix
        self.relay.deliver_locally(
            prefix + topic.name,
            handler,
            consumer=f"{prefix}{self.settings.service_name}.{consumer}",
            topic_prefix=prefix,
        )

    def consumer(
        self,
        name: str,
        *,
        inbox: bool = True,
        own_group: bool = False,
        lingers: bool = False,
        lingers_briefly: bool = False,
    ) -> MessageConsumer:
        """A logical consumer `<service>.<name>` (its inbox records, parked lanes and metrics carry the
        name). It reads in the service's one Kafka group `<service>` with the service's other
        consumers (ADR 0031): a record is fetched and decoded once for all of them.

        `own_group=True`: a Kafka group of its own, `<service>.<name>`, for a consumer with a latency
        promise that nothing of the service's other traffic may delay (a slow handler of any consumer
        of a shared group holds up that group's commit and next fetch). `inbox=False` only for a
        consumer of projections a replay cannot change (newest version wins, one conditional write):
        it keeps no inbox (MessageConsumer). `lingers=True` (with `own_group`): a group of its own kept
        apart for another reason than latency (a slow mail server must not hold up the shared group)
        lingers like the shared group (`consumer_linger_ms`); without it a group of its own never lingers.
        `lingers_briefly=True` (with `own_group`): a latency promise that a few milliseconds' wait keeps
        lingers `brief_linger_ms` (fewer fetches at low rates; the reservation path, ADR 0049)."""
        settings = self.settings
        consumer = MessageConsumer(
            name=name,
            service=settings.service_name,
            broker=self.broker,
            db=self.db,
            clock=self.clock,
            attempts=settings.consumer_attempts,
            backoff_seconds=settings.consumer_backoff_seconds,
            topic_prefix=settings.topic_prefix,
            concurrency=settings.consumer_concurrency,
            park_deadline_seconds=settings.park_deadline_seconds,
            park_backoff_seconds=settings.park_backoff_seconds,
            park_backoff_max_seconds=settings.park_backoff_max_seconds,
            inbox=inbox,
        )
        if any(c.group == consumer.group for c in self.consumers):
            raise ValueError(f"two consumers named {consumer.group}: their inbox records would collide")
        group_id = consumer.group if own_group else f"{settings.topic_prefix}{settings.service_name}"
        # A group of its own is for a latency promise and never lingers, unless it says it has none or that
        # its promise allows a brief wait.
        if not own_group or lingers:
            group_linger_ms = settings.consumer_linger_ms
        else:
            group_linger_ms = settings.brief_linger_ms if lingers_briefly else 0
        group = self.kafka_groups.get(group_id)
        if group is None:
            group = self.kafka_groups[group_id] = ConsumerGroup(
                group_id=group_id,
                service=settings.service_name,
                broker=self.broker,
                db=self.db,
                clock=self.clock,
                bootstrap=settings.kafka_bootstrap,
                backoff_seconds=settings.consumer_backoff_seconds,
                topic_prefix=settings.topic_prefix,
                batch_size=settings.consumer_batch_size,
                concurrency=settings.consumer_concurrency,
                fetch_wait_ms=settings.consumer_fetch_wait_ms,
                commit_interval_ms=settings.consumer_commit_interval_ms,
                linger_ms=group_linger_ms,
                heartbeat_ms=settings.consumer_heartbeat_ms,
                session_ms=settings.consumer_session_ms,
                instance_id=settings.consumer_instance_id,
            )
        group.add(consumer)
        self.consumers.append(consumer)
        return consumer

    def loop(
        self,
        name: str,
        step: Callable[[], Awaitable[Any]],
        *,
        every_seconds: float,
        once_per_cluster: bool = True,
    ) -> Callable[[], None]:
        """A background loop; with once_per_cluster it runs only on the replica holding its lease.

        Returns its wake-up: called when this process has made work for it (a delivery recorded), the
        next step runs at once instead of at the end of `every_seconds`, which then only bounds how
        late the loop sees work it was not told of (another replica's, a retry coming due). A replica
        without the lease ignores it."""
        spec = _Loop(name, step, every_seconds, once_per_cluster)
        self._loops.append(spec)
        return spec.wake

    async def start(self) -> None:
        await self.broker.start()  # the producer: the relay and the dead-letter topic use it
        if self.run_consumers:
            for group in self.kafka_groups.values():
                await group.start()
            if any(g.handles_anything for g in self.kafka_groups.values()):
                self._tasks.append(asyncio.create_task(self._measure_lag(), name="consumer-lag"))
        if self.run_relay:
            self._tasks.append(asyncio.create_task(self.relay.run(), name="outbox-relay"))
        if self.run_loops:
            for spec in self._loops:
                self._tasks.append(asyncio.create_task(self._run_loop(spec), name=spec.name))
        self.started = True
        # One line per start: a service's log otherwise stays empty until something goes wrong.
        log.info(
            "service started",
            holder=self.holder,
            consumers=[c.group for c in self.consumers] if self.run_consumers else [],
            kafka_groups=list(self.kafka_groups) if self.run_consumers else [],
            relay=self.relay.collections if self.run_relay else [],
            loops=[spec.name for spec in self._loops] if self.run_loops else [],
        )

    async def _run_loop(self, spec: _Loop) -> None:
        lease = Lease(
            self.db["leases"],
            f"loop:{spec.name}",
            self.holder,
            timedelta(seconds=loop_lease_seconds(spec.interval_seconds)),
            self.clock,
        )
        held = False
        renew_at: datetime | None = None
        while True:
            spec.woken.clear()  # a wake-up during the step runs the next one right after it
            try:
                if spec.once_per_cluster:
                    # Renewed every half of its length, not before every step (a store round trip each):
                    # a holder that stops still hands over within the lease's length, and a renewal has
                    # the other half to arrive.
                    now = self.clock.now()
                    if renew_at is None or now >= renew_at or not held:
                        held = False  # until the store says so (a failed renewal is not a lease)
                        held = await lease.acquire()
                        renew_at = now + lease.ttl / 2
                if not spec.once_per_cluster or held:
                    await spec.step()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("background loop step failed", loop=spec.name)
            if spec.once_per_cluster and not held:
                await asyncio.sleep(spec.interval_seconds)  # the holder runs the steps; wake-ups are its
            else:
                await woken_within(spec.woken, spec.interval_seconds)

    async def _measure_lag(self) -> None:
        """Every Kafka group's lag from offsets on a timer, so a partition nobody consumes shows it growing.

        The end offsets of every group's partitions in one request, by a consumer of no group that is
        assigned nothing (it never fetches, it only asks): not by the groups' own consumers, whose
        connection a fetch's long poll may hold for `consumer_fetch_wait_ms` (a broker answers one
        connection's requests in order). Then each group's committed offsets from its coordinator.
        The first measurement comes soon after the start (its two clients connect then), and as soon again
        while the groups hold no partitions yet; the next ones every `consumer_lag_seconds`."""
        admin: AIOKafkaAdminClient | None = None
        offsets: AIOKafkaConsumer | None = None
        first = min(self.settings.consumer_lag_seconds, FIRST_LAG_SECONDS)
        pause = first
        try:
            while True:
                await asyncio.sleep(pause)
                pause = self.settings.consumer_lag_seconds
                try:
                    if admin is None:
                        admin = AIOKafkaAdminClient(
                            bootstrap_servers=self.settings.kafka_bootstrap,
                            client_id=f"{self.settings.service_name}.lag",
                        )
                        await admin.start()
                    if offsets is None:
                        offsets = AIOKafkaConsumer(
                            bootstrap_servers=self.settings.kafka_bootstrap,
                            client_id=f"{self.settings.service_name}.lag",
                            enable_auto_commit=False,
                        )
                        await offsets.start()
                    assigned = set().union(*(group.assignment() for group in self.kafka_groups.values()))
                    # Not measured yet while the groups still join: soon again rather than a whole interval later.
                    if not assigned:
                        pause = first
                    ends = await offsets.end_offsets(list(assigned)) if assigned else {}
                    for group in self.kafka_groups.values():
                        await group.measure_lag(admin, offsets, ends)
                except asyncio.CancelledError:
                    raise
                except Exception:
                    log.exception("measuring consumer lag failed; re-tried at the next interval")
        finally:
            if admin is not None:
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(admin.close(), timeout=5)
            if offsets is not None:
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(offsets.stop(), timeout=5)

    async def stop(self) -> None:
        """Stop within a deadline per part: a shutdown that hangs blocks a rollout (or a test run) forever,
        so a part that does not stop in time is abandoned and named in the log."""
        for group in self.kafka_groups.values():
            stopping = group.stop(timeout=self.stop_timeout_seconds * 2 / 3)
            await self._stop_part(f"consumer group {group.group_id}", stopping)
        for task in self._tasks:
            task.cancel()
        if self._tasks:
            _, pending = await asyncio.wait(self._tasks, timeout=self.stop_timeout_seconds)
            if pending:
                log.error("background tasks did not stop in time", tasks=sorted(t.get_name() for t in pending))
        self._tasks.clear()
        # Handed over now rather than at expiry: the next replica publishes without a gap. Without the
        # lease (or without running the relay), the holder is nudged to publish what this process wrote.
        await self._stop_part("outbox relay lease", self.relay.hand_over())
        await self._stop_part("kafka broker", self.broker.stop())
        await self._stop_part("mongo client", self.mongo.close())
        self.started = False

    async def _stop_part(self, name: str, stopping: Awaitable[Any]) -> None:
        try:
            await asyncio.wait_for(stopping, timeout=self.stop_timeout_seconds)
        except TimeoutError:
            log.error("did not stop in time; abandoned", part=name, timeout_seconds=self.stop_timeout_seconds)
        except Exception:
            log.exception("failed to stop cleanly", part=name)

    async def check_ready(self) -> dict[str, str]:
        """Readiness of the stores this process needs; raises nothing, reports each."""
        status: dict[str, str] = {}
        try:
            await asyncio.wait_for(self.db.command("ping"), timeout=2)
            status["mongo"] = "ok"
        except Exception as exc:
            status["mongo"] = f"down: {type(exc).__name__}"
        try:
            ok = await asyncio.wait_for(self.broker.ping(timeout=2), timeout=3)
            status["kafka"] = "ok" if ok else "down"
        except Exception as exc:
            status["kafka"] = f"down: {type(exc).__name__}"
        return status
