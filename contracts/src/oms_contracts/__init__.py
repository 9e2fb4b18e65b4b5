"""The OMS message contracts: what crosses Kafka, in one package every service imports."""

from oms_contracts.envelope import Actor, Envelope, Payload, decode, new_id, utcnow
from oms_contracts.money import Money
from oms_contracts.registry import DEADLETTER, TOPICS, Topic, message_class, topic_by_name, topic_for

DEADLETTER_TOPIC = DEADLETTER.name

__all__ = [
    "DEADLETTER_TOPIC",
    "TOPICS",
    "Actor",
    "Envelope",
    "Money",
    "Payload",
    "Topic",
    "decode",
    "message_class",
    "new_id",
    "topic_by_name",
    "topic_for",
    "utcnow",
]
