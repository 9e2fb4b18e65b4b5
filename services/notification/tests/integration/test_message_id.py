"""A re-sent delivery carries the same Message-ID, so mail clients fold the duplicate (the one
at-least-once edge of the service: a crash between the server's acceptance and recording `sent`)."""

from __future__ import annotations

from oms_contracts import new_id
from oms_notification.adapters.outbound.mailer_smtp import SmtpMailer
from oms_notification.domain.model import RenderedEmail
from oms_notification.settings import NotificationSettings
from oms_testing import eventually
from oms_testing.smtp import SmtpServer


async def test_a_resent_delivery_keeps_its_message_id(settings: NotificationSettings, smtp: SmtpServer) -> None:
    mailer = SmtpMailer(settings)
    delivery = new_id()
    email = RenderedEmail(subject="Order 7", text="placed", html="<p>placed</p>")
    address = f"resent-{delivery[-8:]}@example.test"
    for _ in range(2):
        await mailer.send(to_email=address, to_name="Buyer", email=email, message_id=delivery)

    received = await eventually(lambda: (got := smtp.sink.to(address)) and len(got) == 2 and got, timeout=20)
    assert received[0]["Message-ID"] == received[1]["Message-ID"] == f"<{delivery}@oms.local>"
