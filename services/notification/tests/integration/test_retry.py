"""The SMTP server is down when the order comes in: the email is retried and sent once it is up."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

from litestar.testing import AsyncTestClient
from oms_contracts import new_id
from oms_notification.bootstrap import create_app
from oms_testing import eventually
from oms_testing.infra import Infra
from oms_testing.kafka import TopicReader
from oms_testing.smtp import SmtpServer, _free_port

from .helpers import address, database, envelope, order_placed, publish, settings_for


async def test_smtp_down_at_first_then_sent_once_it_is_up(infra: Infra, topic_prefix: str, shop_id: str) -> None:
    port = _free_port()  # nothing listens here yet
    settings = settings_for(infra, topic_prefix, smtp_port=port, delivery_max_attempts=50)
    app = create_app(settings)
    customer = address("bo", shop_id)
    async with AsyncTestClient(app):
        await publish(infra, topic_prefix, envelope(order_placed(5, customer), shop_id))
        log = database(infra, settings)["notifications"]

        async def failed_twice() -> Any:
            doc = await log.find_one({"shop_id": shop_id})
            return doc if doc and doc["attempts"] >= 2 and doc["status"] != "sent" else None

        doc = await eventually(failed_twice, what="two failed attempts")
        assert doc["last_error"]

        server = SmtpServer(port=port)
        server.start()
        try:
            await eventually(lambda: server.sink.to(customer), what="email once the server is up")

            async def sent() -> Any:
                d = await log.find_one({"shop_id": shop_id})
                return d if d["status"] == "sent" else None

            final = await eventually(sent, what="delivery marked sent")
            assert final["attempts"] >= 3 and final["last_error"]
            assert len(server.sink.to(customer)) == 1
        finally:
            server.stop()


async def test_gives_up_after_the_last_attempt_and_says_so(infra: Infra, topic_prefix: str, shop_id: str) -> None:
    settings = settings_for(infra, topic_prefix, smtp_port=_free_port(), delivery_max_attempts=2)
    async with AsyncTestClient(create_app(settings)):
        placed = envelope(order_placed(6, address("cy", shop_id)), shop_id)
        await publish(infra, topic_prefix, placed)
        async with TopicReader(infra.kafka_bootstrap, topic_prefix + "oms.notification.events") as reader:
            record = await reader.wait_for(lambda r: json.loads(r.value)["shop_id"] == shop_id)
        failed = json.loads(record.value)
        assert failed["type"] == "NotificationFailed"
        assert failed["payload"]["attempts"] == 2 and failed["payload"]["cause_event_id"] == placed.event_id
        doc = await database(infra, settings)["notifications"].find_one({"shop_id": shop_id})
        assert doc["status"] == "failed" and doc["due_at"] is None and doc["last_error"]


async def test_a_send_claimed_by_a_worker_that_died_is_sent_again(
    infra: Infra, topic_prefix: str, shop_id: str
) -> None:
    """The at-least-once edge: a delivery left in `sending` past its claim is taken over and sent."""
    server = SmtpServer()
    server.start()
    settings = settings_for(infra, topic_prefix, smtp_port=server.port)
    customer = address("di", shop_id)
    log = database(infra, settings)["notifications"]
    claim_expired = datetime.now(UTC) - timedelta(seconds=1)
    try:
        async with AsyncTestClient(create_app(settings)):
            await log.insert_one(
                {
                    "_id": new_id(), "shop_id": shop_id, "cause_event_id": new_id(), "correlation_id": new_id(),
                    "channel": "email", "template": "order_status", "recipient": customer, "recipient_name": "Di",
                    "locale": "en", "order_id": None, "subject": "Order #9: Delivered", "text": "t", "html": "<p>t</p>",
                    "status": "sending", "attempts": 1, "last_error": None, "due_at": claim_expired,
                    "created_at": datetime.now(UTC), "sent_at": None, "version": 2, "outbox": [], "has_outbox": False,
                    "applied_events": [],
                }
            )  # fmt: skip
            await eventually(lambda: server.sink.to(customer), what="the abandoned email sent")

            async def sent() -> Any:
                doc = await log.find_one({"shop_id": shop_id})
                return doc if doc["status"] == "sent" else None

            assert (await eventually(sent, what="marked sent"))["attempts"] == 2
    finally:
        server.stop()
