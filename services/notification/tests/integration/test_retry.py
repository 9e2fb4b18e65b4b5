"""The SMTP server is down when the order comes in: the email is retried and sent once it is up."""

from __future__ import annotations

from typing import Any

from litestar.testing import AsyncTestClient

from oms_notification.bootstrap import create_app
from oms_testing import eventually
from oms_testing.infra import Infra
from oms_testing.smtp import SmtpServer, _free_port

from .helpers import envelope, order_placed, publish, settings_for


async def test_smtp_down_at_first_then_sent_once_it_is_up(infra: Infra, topic_prefix: str, shop_id: str) -> None:
    port = _free_port()  # nothing listens here yet
    app = create_app(settings_for(infra, topic_prefix, smtp_port=port, delivery_max_attempts=50))
    customer = f"bo@{shop_id}.test"
    async with AsyncTestClient(app) as client:
        await publish(infra, topic_prefix, envelope(order_placed(5, customer), shop_id))
        log = client.app.state.runtime.db["notifications"]

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
