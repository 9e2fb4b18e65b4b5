"""The envelope every message travels in, and the base class of every payload."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, ClassVar, Generic, Literal, TypeVar

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field
from uuid_utils import uuid7


def new_id() -> str:
    """UUIDv7: time-ordered, so ids sort by creation and index well (and within a process by the order they
    were made in). uuid-utils makes one in ~0.3 µs where uuid6's pure Python took ~5 µs: a dozen ids per
    order in the order service alone (event ids, correlation ids)."""
    return str(uuid7())


def utcnow() -> datetime:
    return datetime.now(UTC)


class Payload(BaseModel):
    """Base of every event and command payload.

    `TYPE` is the message type name on the wire, `VERSION` its schema version and `KEY` the
    payload field whose value is the Kafka message key (the aggregate id).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    TYPE: ClassVar[str]
    VERSION: ClassVar[int] = 1
    KEY: ClassVar[str]
    KIND: ClassVar[Literal["event", "command"]] = "event"

    def key(self) -> str:
        return str(getattr(self, self.KEY))


class Actor(BaseModel):
    """Who caused a message: a staff member, a storefront, a customer, a partner, or the system."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: Literal["staff", "storefront", "customer", "partner", "system"]
    id: str
    role: str | None = None
    name: str | None = None

    @classmethod
    def system(cls, component: str) -> Actor:
        return cls(kind="system", id=component)


P = TypeVar("P", bound=Payload)


class Envelope(BaseModel, Generic[P]):
    model_config = ConfigDict(frozen=True, extra="forbid")

    event_id: str = Field(description="UUIDv7, unique per message; consumers deduplicate on it")
    type: str
    version: int = Field(ge=1)
    occurred_at: AwareDatetime
    shop_id: str = Field(min_length=1, description="The tenant; every consumer scopes its effects by it")
    correlation_id: str = Field(description="Shared by every message of one business flow")
    causation_id: str | None = Field(default=None, description="event_id of the message that caused this one")
    actor: Actor
    payload: P

    @classmethod
    def new(
        cls,
        payload: P,
        *,
        shop_id: str,
        actor: Actor,
        caused_by: Envelope[Any] | None = None,
        correlation_id: str | None = None,
        occurred_at: datetime | None = None,
    ) -> Envelope[P]:
        event_id = new_id()
        return envelope_class(type(payload))(
            event_id=event_id,
            type=payload.TYPE,
            version=payload.VERSION,
            occurred_at=occurred_at or utcnow(),
            shop_id=shop_id,
            correlation_id=correlation_id or (caused_by.correlation_id if caused_by is not None else event_id),
            causation_id=caused_by.event_id if caused_by is not None else None,
            actor=actor,
            payload=payload,
        )

    @property
    def key(self) -> str:
        return self.payload.key()

    def to_json(self) -> bytes:
        return self.model_dump_json().encode()


# Each payload class's `Envelope[...]`, held for the process's lifetime. Pydantic keeps a
# parametrised model only weakly (unless made at a module's top level), so every full garbage
# collection dropped them all, and the next message of each type rebuilt its class, schema and
# validator (about 1 ms each; 1-3 % of a busy service's CPU in the load bench's profiles).
# Bounded by the number of payload classes.
_ENVELOPES: dict[type[Payload], type[Envelope[Any]]] = {}


def envelope_class(payload_class: type[P]) -> type[Envelope[P]]:
    """`Envelope[payload_class]`, made once per process."""
    made = _ENVELOPES.get(payload_class)
    if made is None:
        made = _ENVELOPES[payload_class] = Envelope[payload_class]  # type: ignore[valid-type]
    return made


class InvalidMessage(ValueError):
    """The bytes are not a valid message of a known type: the consumer sends them to the dead-letter topic."""


def decode(raw: bytes | str) -> Envelope[Any]:
    """Parse a message: the envelope first, then the payload by its `type`."""
    from pydantic import ValidationError

    from oms_contracts.registry import message_class

    try:
        head = _Head.model_validate_json(raw)
    except ValidationError as exc:
        raise InvalidMessage(f"invalid envelope: {_errors(exc)}") from exc
    cls = message_class(head.type)
    if cls is None:
        raise InvalidMessage(f"unknown message type {head.type!r}")
    try:
        return envelope_class(cls).model_validate_json(raw)
    except ValidationError as exc:
        raise InvalidMessage(f"invalid {head.type}: {_errors(exc)}") from exc


class _Head(BaseModel):
    type: str
    version: int


def _errors(exc: Any) -> str:
    return "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()[:5])
