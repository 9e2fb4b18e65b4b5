"""Settings from `OMS_…` environment variables; each service subclasses with its own defaults."""

from __future__ import annotations

from typing import Self

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

# A static group member's session and heartbeat unless set (ADR 0039, fourth amendment).
STATIC_SESSION_MS = 30000
STATIC_HEARTBEAT_MS = 10000


class ServiceSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="OMS_", extra="ignore")

    service_name: str = "oms"
    kafka_bootstrap: str = Field(default="127.0.0.1:19092", description="Kafka bootstrap servers")
    mongo_url: str = Field(default="mongodb://127.0.0.1:27018")
    mongo_db: str | None = Field(default=None, description="Database name; defaults to <prefix>_<service>")
    mongo_db_prefix: str = Field(default="oms", description="Prefix of the default database name")
    http_host: str = "127.0.0.1"
    http_port: int = 8000
    metrics_port: int | None = Field(
        default=None,
        description="Serve /metrics on this port instead of the HTTP API's (0: any free port); unset: on the API's",
    )
    public_url: str | None = Field(default=None, description="Base URL the outside world reaches us at")
    internal_token: str = Field(
        default="dev-internal-token",
        description="Shared secret the gateway sends to services; set a real one in production",
    )
    log_level: str = "INFO"
    log_json: bool = True
    otlp_endpoint: str | None = Field(default=None, description="OTLP/HTTP traces endpoint; tracing off if unset")
    topic_prefix: str = Field(
        default="",
        description="Prepended to every topic name: several environments (or test runs) on one cluster",
    )
    relay_poll_seconds: float = Field(
        default=120.0,
        gt=0,
        description="How often the relay's backstop scan looks for pending messages no write named and no "
        "process told the lease holder of (a writer that crashed and never came back); the store names its "
        "writes at once, other replicas and tools nudge the holder, which scans then (ADR 0039, third amendment)",
    )
    relay_lease_seconds: float = Field(
        default=30.0,
        ge=2,
        description="How long the outbox relay's lease lasts, renewed every half of it: a holder lost with its "
        "host or network holds this service's publishing up that long (one that stops releases it, one that "
        "crashed on the same host is replaced at once); a replica without it asks every 5 s",
    )
    relay_linger_ms: int = Field(
        default=0,
        ge=0,
        le=1000,
        description="How long the outbox relay waits after a pass that published something before its next "
        "pass, so that the writes made meanwhile leave together (one produce request and one marking write for "
        "all of them; the first write after a quiet spell still leaves at once). For services without a latency "
        "promise on their events; 0: publish at once",
    )
    relay_lingers_briefly: bool = Field(
        default=False,
        description="Whether the outbox relay of a service with a latency promise on its events (the "
        "reservation path, ADR 0049) waits brief_linger_ms after a pass that published something, when "
        "relay_linger_ms is 0: at tens of writes a second a pass then carries several writes instead of one",
    )
    command_attempts: int = Field(
        default=5,
        ge=1,
        description="Tries of a command (load, decide, save) that lost an optimistic-concurrency race "
        "before it fails (oms_runtime.commands.RetryPolicy); a client's expected_version is never retried",
    )
    consumer_attempts: int = Field(default=4, ge=1, description="Tries of a failing message before the DLQ")
    consumer_backoff_seconds: float = 0.2
    consumer_batch_size: int = Field(default=500, ge=1, description="Messages one consumer takes per fetch")
    consumer_concurrency: int = Field(
        default=32, ge=1, description="Keys of a batch one consumer handles at once (in order within a key)"
    )
    consumer_fetch_wait_ms: int = Field(
        default=15000,
        ge=10,
        lt=40000,
        description="How long an idle fetch waits at the broker for new messages (new ones return at once: "
        "fetching is paused during a batch, so every fetch covers all partitions; a longer wait only means "
        "fewer requests while idle; below the consumer's 40 s request timeout)",
    )
    consumer_linger_ms: int = Field(
        default=0,
        ge=0,
        le=1000,
        description="How long the service's consumer group waits after a batch smaller than "
        "consumer_batch_size before it fetches again, so that the next batch brings more (fewer fetches, "
        "each record up to this much later; an idle group still long-polls). For services without a latency "
        "promise on their events; 0: fetch at once. A consumer in a group of its own lingers only when built "
        "with lingers=True",
    )
    brief_linger_ms: int = Field(
        default=20,
        ge=0,
        le=100,
        description="How long a group of its own built with lingers_briefly=True (a latency promise that a few "
        "milliseconds keep: the reservation path, ADR 0049) waits after a batch smaller than consumer_batch_size "
        "before it fetches again, so that several orders' records come in one fetch at low rates; 0: at once",
    )
    consumer_commit_interval_ms: int = Field(
        default=1000,
        ge=0,
        le=10000,
        description="How long a group may hold the offsets of handled batches before committing them (0: after "
        "every batch). A crash redelivers at most this much, which the inbox and idempotent handlers absorb; "
        "a rebalance and a stop commit at once",
    )
    park_deadline_seconds: float = Field(
        default=3600.0,
        gt=0,
        description="How long a message waiting for what it depends on is re-tried before the DLQ",
    )
    park_backoff_seconds: float = Field(default=0.5, gt=0, description="First re-try delay of a parked message")
    park_backoff_max_seconds: float = Field(default=60.0, gt=0, description="Longest delay between re-tries")
    consumer_heartbeat_ms: int = Field(
        default=5000,
        ge=100,
        description="How often a consumer group member heartbeats its coordinator (aiokafka's "
        "heartbeat_interval_ms, 3 s by default). It bounds how late a member learns of a rebalance another "
        "member started, so how long a rebalance stops the group; it is below consumer_session_ms, within which "
        "one late or lost heartbeat is still tolerated (docs/adr/0039, second amendment)",
    )
    consumer_session_ms: int = Field(
        default=10000,
        ge=6000,
        le=300000,
        description="How long the coordinator waits without a heartbeat before it drops a member: a consumer "
        "that dies without leaving (kill -9, a lost node) holds its partitions this long (aiokafka's "
        "session_timeout_ms). Greater than consumer_heartbeat_ms",
    )
    consumer_instance_id: str | None = Field(
        default=None,
        min_length=1,
        description="A name stable across restarts and unique among the service's running processes (the local "
        "supervisor's program name, a StatefulSet's pod name); set, the process's groups join as static members "
        "(Kafka's group.instance.id, KIP-345): a restarted process takes its old place at once, without a "
        "rebalance and without waiting for its old session, and a stop does not leave the group (its "
        "partitions wait for the session unless it comes back). Then the heartbeat and session default to 10 s "
        "and 30 s. Unset (a Deployment's pods are renamed on every restart): dynamic members (docs/adr/0039, "
        "fourth amendment)",
    )
    consumer_lag_seconds: float = Field(
        default=60.0,
        gt=0,
        description="How often consumer lag is measured from committed and end offsets (the lag alerts look "
        "over 10-15 minutes; docs/adr/0039, second amendment)",
    )

    mongo_monitor_step_seconds: float = Field(
        default=2.0,
        ge=0.5,
        le=5.0,
        description="The step in which pymongo's background tasks (its server monitor, the cursor and pool "
        "upkeep) sleep: pymongo.common.MIN_HEARTBEAT_INTERVAL, 0.5 s in pymongo, four wake-ups a second per "
        "process at idle. Also the longest a requested server check waits, so a restarted store is found "
        "again within it (docs/adr/0039, amendment)",
    )

    @model_validator(mode="after")
    def _heartbeat_within_session(self) -> Self:
        if self.consumer_instance_id is not None:
            # A static member's restart does not wait for its old session, so the session can be longer and
            # the heartbeat rarer (ADR 0039, fourth amendment); what is set explicitly stays.
            if "consumer_session_ms" not in self.model_fields_set:
                self.consumer_session_ms = STATIC_SESSION_MS
            if "consumer_heartbeat_ms" not in self.model_fields_set:
                self.consumer_heartbeat_ms = STATIC_HEARTBEAT_MS
        if self.consumer_heartbeat_ms >= self.consumer_session_ms:
            raise ValueError("consumer_heartbeat_ms must be below consumer_session_ms")
        return self

    @property
    def database_name(self) -> str:
        return self.mongo_db or f"{self.mongo_db_prefix}_{self.service_name}"
