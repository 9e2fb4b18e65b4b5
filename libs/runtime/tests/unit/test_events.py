"""The envelope factory: one system actor, the clock's time, correlation and causation from the cause."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from oms_contracts import Actor
from oms_contracts.messages.messaging import MessagePosted
from oms_runtime.clock import FixedClock
from oms_runtime.events import EventFactory

T0 = datetime(2026, 1, 1, 12, tzinfo=UTC)
STAFF = Actor(kind="staff", id="u1", role="manager")


def posted(conversation_id: str = "conv-1") -> MessagePosted:
    return MessagePosted(conversation_id=conversation_id, message_id="m1", author=STAFF, text="hi")


def test_the_system_actor_is_the_services_own():
    factory = EventFactory("messaging", FixedClock(T0))
    assert factory.system_actor == Actor.system("messaging")
    envelope = factory.new(posted(), shop_id="s1")
    assert envelope.actor == factory.system_actor
    assert (envelope.type, envelope.version, envelope.shop_id, envelope.key) == ("MessagePosted", 1, "s1", "conv-1")
    assert envelope.occurred_at == T0
    assert envelope.correlation_id == envelope.event_id and envelope.causation_id is None


def test_a_caused_event_carries_the_correlation_and_causation_of_its_cause():
    factory = EventFactory("messaging", FixedClock(T0))
    cause = factory.new(posted(), shop_id="s1", actor=STAFF, correlation_id="corr-1")
    effect = factory.new(posted("conv-2"), shop_id="s1", cause=cause)
    assert cause.actor == STAFF and cause.correlation_id == "corr-1"
    assert (effect.correlation_id, effect.causation_id) == ("corr-1", cause.event_id)
    assert effect.event_id != cause.event_id


def test_a_key_that_is_not_the_payloads_is_refused():
    factory = EventFactory("messaging")
    assert factory.new(posted(), shop_id="s1", key="conv-1").key == "conv-1"
    with pytest.raises(ValueError, match="conversation_id"):
        factory.new(posted(), shop_id="s1", key="order-1")
    with pytest.raises(ValueError, match="conversation_id"):
        factory.new(posted(), shop_id="s1", aggregate_id="order-1")


def test_a_fixed_id_and_time_rebuild_the_same_message():
    factory = EventFactory("catalog", FixedClock(T0))
    first = factory.new(posted(), shop_id="s1", event_id="evt-1", occurred_at=T0.replace(hour=3))
    again = factory.new(posted(), shop_id="s1", event_id="evt-1", occurred_at=T0.replace(hour=3))
    assert first == again
    assert (first.event_id, first.correlation_id, first.occurred_at.hour) == ("evt-1", "evt-1", 3)
    caused = factory.new(posted(), shop_id="s1", event_id="evt-2", correlation_id="corr-9")
    assert (caused.event_id, caused.correlation_id) == ("evt-2", "corr-9")
