"""Shared pieces of the notification integration tests: acting as the other services."""

from __future__ import annotations

from typing import Any

from oms_contracts import Actor, Envelope, Payload, topic_for
from oms_contracts.messages.common import Locale
from oms_contracts.messages.order import OrderPlaced
from oms_notification.settings import NotificationSettings
from oms_testing import builders
from oms_testing.infra import Infra
from oms_testing.kafka import produce_raw
from pymongo import AsyncMongoClient
from pymongo.asynchronous.database import AsyncDatabase


def settings_for(infra: Infra, topic_prefix: str, **overrides: Any) -> NotificationSettings:
    return infra.settings(
        NotificationSettings,
        topic_prefix,
        "notification",
        relay_poll_seconds=0.1,
        delivery_poll_seconds=0.2,
        delivery_backoff_seconds=0.3,
        delivery_backoff_max_seconds=1.0,
        **overrides,
    )


def database(infra: Infra, settings: NotificationSettings) -> AsyncDatabase[dict[str, Any]]:
    """The service's database through a client of the test's own event loop (the app runs in another)."""
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(infra.mongo_url, tz_aware=True)
    return client[settings.database_name]


def address(name: str, shop_id: str) -> str:
    """An email address unique to the test's shop (reserved TLDs such as .test fail validation)."""
    return f"{name}.{shop_id[-12:]}@example.com"


def envelope(payload: Payload, shop_id: str, service: str = "order") -> Envelope[Any]:
    return Envelope.new(payload, shop_id=shop_id, actor=Actor.system(service))


async def publish(infra: Infra, topic_prefix: str, env: Envelope[Any]) -> None:
    topic = topic_prefix + topic_for(env.payload).name
    await produce_raw(infra.kafka_bootstrap, topic, env.to_json(), key=env.key.encode())


def order_placed(number: int, email: str, locale: Locale = "en", name: str = "Ann Lee") -> OrderPlaced:
    """A courier order of 2 green teas at 600.00 and 300.00 delivery, paid by card."""
    return builders.order_placed(
        number=number,
        email=email,
        locale=locale,
        name=name,
        quantity=2,
        unit_price="600",
        delivery="300",
        delivery_type="courier",
        payment_method="card",
    )
