"""THE command loop: every state change of an aggregate goes through `CommandLoop.run`.

load → decide (a pure function: the new state and its events, or `NoChange`) → save the state
with its events in one conditional update (the outbox rides in the same document) → on a lost
race (`ConcurrencyError`) load and decide again, up to `RetryPolicy.attempts` (one policy per
service, from settings: `ServiceSettings.command_attempts`, env `OMS_COMMAND_ATTEMPTS`, default 5).

- With an `expected_version` (a client said "I saw version 7") there is no retry: a stale version
  raises `ConcurrencyError` carrying the current version, which the HTTP edge answers 409.
- Exactly once per consumed message: pass the consumed envelope's id as `applied_event_id`; the
  repository stores it with the change in the same update, and a replay raises `AlreadyApplied`
  there, which the loop treats as done (it returns the aggregate as stored).
- Create-or-update: pass `new=lambda: Account.open(...)`; when nothing is stored the loop decides
  on `Loaded(new(), version=0)` and the repository inserts (a duplicate key → `ConcurrencyError`,
  so the loop loads the winner's document and decides again).
- A claim (work that belongs to whoever changes the aggregate first): `run_once(loaded, decide)`
  saves once at the version read and answers `None` when another writer was first.
- Missing and no `new`: `missing()` is raised (e.g. `OrderNotFound` for HTTP 404, or
  `PermanentError` for a consumed message naming an unknown aggregate); default `AggregateNotFound`.

How a service uses it (application layer; the repository is a port, its Mongo adapter implements
`CommandRepository[Conversation]`)::

    from oms_runtime.commands import CommandLoop, Decision, Loaded, NoChange, RetryPolicy

    class Conversations:
        def __init__(self, repository: ConversationRepository, events: EventFactory, policy: RetryPolicy) -> None:
            self.loop = CommandLoop(repository, policy, name="conversations")
            self.events = events

        async def close(self, shop_id: str, conversation_id: str, actor: Actor, expected_version: int | None):
            def decide(loaded: Loaded[Conversation]) -> Decision[Conversation] | NoChange:
                if loaded.state.closed:
                    return NoChange("already closed")
                closed = loaded.state.close()
                event = self.events.new(ConversationClosed(...), shop_id=shop_id, actor=actor)
                return Decision(closed, [event])

            stored = await self.loop.run(
                shop_id, conversation_id, decide,
                expected_version=expected_version,
                missing=lambda: ConversationNotFound(conversation_id),
            )
            return stored.state

        async def on_order_cancelled(self, envelope: Envelope[OrderCancelled]) -> None:
            await self.loop.run(
                envelope.shop_id, envelope.payload.order_id, decide_close,
                applied_event_id=envelope.event_id,           # exactly once per consumed message
                missing=lambda: PermanentError("unknown order"),
            )

    # the composition root: RetryPolicy.from_settings(settings)

`decide` may also be `async` (when it must read something else first); it is called again on
every attempt with the freshly loaded state, so it must not have side effects of its own.
`oms_runtime.store.DocumentRepository` is a ready `CommandRepository` over an `AggregateStore`
for aggregates that map to one document.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, Generic, Protocol, TypeVar

from oms_contracts import Envelope

from oms_runtime.errors import AlreadyApplied as AlreadyApplied
from oms_runtime.errors import ConcurrencyError as ConcurrencyError
from oms_runtime.telemetry import get_logger

if TYPE_CHECKING:
    from oms_runtime.settings import ServiceSettings

log = get_logger(__name__)

T = TypeVar("T")

DEFAULT_COMMAND_ATTEMPTS = 5


@dataclass(frozen=True)
class Loaded(Generic[T]):
    """An aggregate as stored: its state and the version the next conditional update filters on.

    `version == 0` means "not stored yet" (create-or-update): saving it inserts the aggregate.
    """

    state: T
    version: int
    # Set on what `CommandLoop.run` answers when `applied_event_id` had been applied before (a
    # replay: nothing saved); not part of equality.
    already_applied: bool = field(default=False, compare=False)

    @property
    def is_new(self) -> bool:
        return self.version == 0


@dataclass(frozen=True)
class Decision(Generic[T]):
    """What a command decided: the aggregate's new state and the events it causes (stored together).

    `meta` carries what the repository may also write with the change and that is not part of the
    aggregate's state (an audit entry, say); most commands leave it empty.
    """

    state: T
    events: Sequence[Envelope[Any]] = ()
    meta: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class NoChange:
    """The command changes nothing (already in that state, an event that no longer applies)."""

    reason: str = ""


class AggregateNotFound(LookupError):
    """Default for a command on an aggregate that is not stored (pass `missing=` for your own)."""

    def __init__(self, name: str, aggregate_id: str) -> None:
        super().__init__(f"{name}/{aggregate_id} not found")
        self.name = name
        self.aggregate_id = aggregate_id


class CommandRepository(Protocol[T]):
    """The port the command loop needs: load an aggregate with its version, save a decision on it."""

    async def load(self, shop_id: str, aggregate_id: str) -> Loaded[T] | None: ...

    async def save(self, loaded: Loaded[T], decision: Decision[T], applied_event_id: str | None) -> Loaded[T]:
        """One conditional update: the decision's state and events if still at `loaded.version`
        (insert when `loaded.version == 0`). Raises ConcurrencyError on a lost race (or a duplicate
        key on insert) and AlreadyApplied when `applied_event_id` was applied before."""
        ...


@dataclass(frozen=True)
class RetryPolicy:
    """How often a command is decided again after losing a race: one policy per service."""

    attempts: int = DEFAULT_COMMAND_ATTEMPTS

    def __post_init__(self) -> None:
        if self.attempts < 1:
            raise ValueError("a command needs at least one attempt")

    @classmethod
    def from_settings(cls, settings: ServiceSettings) -> RetryPolicy:
        """From `ServiceSettings.command_attempts` (env `OMS_COMMAND_ATTEMPTS`)."""
        return cls(attempts=settings.command_attempts)


Decide = Callable[[Loaded[T]], "Decision[T] | NoChange | Awaitable[Decision[T] | NoChange]"]
"""What `CommandLoop.run` calls with the loaded aggregate: pure (or async when it must read first)."""


class CommandLoop(Generic[T]):
    """Runs commands on the aggregates of one repository (see the module's docstring)."""

    def __init__(self, repository: CommandRepository[T], policy: RetryPolicy | None = None, *, name: str) -> None:
        self.repository = repository
        self.policy = policy or RetryPolicy()
        self.name = name

    async def run(
        self,
        shop_id: str,
        aggregate_id: str,
        decide: Decide[T],
        *,
        expected_version: int | None = None,
        applied_event_id: str | None = None,
        new: Callable[[], T] | None = None,
        missing: Callable[[], Exception] | None = None,
        loaded: Loaded[T] | None = None,
    ) -> Loaded[T]:
        """Decide and save, deciding again after a lost race; returns the aggregate as stored after.

        Returns the loaded aggregate unchanged when `decide` answers `NoChange`, and the stored one
        with `already_applied=True` when `applied_event_id` was applied before. `loaded`: the
        aggregate the caller has just read (found by another key, say): the first attempt decides
        on it instead of loading again."""
        attempts = 1 if expected_version is not None else self.policy.attempts
        for attempt in range(1, attempts + 1):
            if loaded is None or attempt > 1:
                loaded = await self._load(shop_id, aggregate_id, new, missing)
            if expected_version is not None and loaded.version != expected_version:
                raise ConcurrencyError(
                    self.name, aggregate_id, expected_version, current_version=None if loaded.is_new else loaded.version
                )
            decided = decide(loaded)
            decision = await decided if inspect.isawaitable(decided) else decided
            if isinstance(decision, NoChange):
                if decision.reason:
                    log.info("command changed nothing", aggregate=self.name, id=aggregate_id, why=decision.reason)
                return loaded
            try:
                return await self.repository.save(loaded, decision, applied_event_id)
            except AlreadyApplied:
                log.info("message applied before", aggregate=self.name, id=aggregate_id, event_id=applied_event_id)
                return replace(await self._load(shop_id, aggregate_id, new, missing), already_applied=True)
            except ConcurrencyError:
                if attempt < attempts:
                    log.info("lost a race; deciding again", aggregate=self.name, id=aggregate_id, attempt=attempt)
        assert loaded is not None
        current = await self.repository.load(shop_id, aggregate_id)
        raise ConcurrencyError(
            self.name,
            aggregate_id,
            expected_version if expected_version is not None else loaded.version,
            current_version=current.version if current is not None else None,
        )

    async def run_once(
        self,
        loaded: Loaded[T],
        decide: Decide[T],
        *,
        applied_event_id: str | None = None,
    ) -> Loaded[T] | None:
        """One attempt at the version just read, for work that belongs to whoever changes it first.

        A worker claiming a job (a delivery to send, a wave to pick) must not retry over another
        worker's claim, nor treat losing as an error: `None` means another writer changed the
        aggregate first (or `applied_event_id` was applied before) and nothing was saved; the
        winner's change stands. `NoChange` returns `loaded`. No extra read on a lost race.

            claimed = await loop.run_once(due, lambda d: Decision(d.state.claim(now, claim_for)))
            if claimed is None:
                return  # another worker has it
        """
        decided = decide(loaded)
        decision = await decided if inspect.isawaitable(decided) else decided
        if isinstance(decision, NoChange):
            return loaded
        try:
            return await self.repository.save(loaded, decision, applied_event_id)
        except (ConcurrencyError, AlreadyApplied):
            return None

    async def _load(
        self,
        shop_id: str,
        aggregate_id: str,
        new: Callable[[], T] | None,
        missing: Callable[[], Exception] | None,
    ) -> Loaded[T]:
        loaded = await self.repository.load(shop_id, aggregate_id)
        if loaded is not None:
            return loaded
        if new is not None:
            return Loaded(new(), 0)
        raise missing() if missing is not None else AggregateNotFound(self.name, aggregate_id)
