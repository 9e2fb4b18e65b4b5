# ruff: noqa: RUF001  (Russian text: Cyrillic letters that look Latin are meant)
"""What the SMTP mailer hands the server: a re-sent delivery carries the same Message-ID, so mail
clients fold the duplicate (the one at-least-once edge of the service: a crash between the
server's acceptance and recording `sent`); Cyrillic arrives as written; connections are kept."""

from __future__ import annotations

import asyncio
import contextlib
from datetime import UTC, datetime

import aiosmtplib
import pytest
from oms_contracts import new_id
from oms_notification.adapters.outbound.mailer_smtp import SmtpMailer
from oms_notification.domain.model import RenderedEmail
from oms_notification.settings import NotificationSettings
from oms_testing import eventually
from oms_testing.smtp import SmtpServer

WRITTEN = datetime(2026, 3, 1, 12, 30, tzinfo=UTC)


async def test_a_resent_delivery_keeps_its_message_id(settings: NotificationSettings, smtp: SmtpServer) -> None:
    mailer = SmtpMailer(settings)
    delivery = new_id()
    email = RenderedEmail(subject="Order 7", text="placed", html="<p>placed</p>")
    address = f"resent-{delivery[-8:]}@example.test"
    for _ in range(2):
        await mailer.send(to_email=address, to_name="Buyer", email=email, message_id=delivery, written_at=WRITTEN)
    await mailer.close()

    received = await eventually(lambda: (got := smtp.sink.to(address)) and len(got) == 2 and got, timeout=20)
    assert received[0]["Message-ID"] == received[1]["Message-ID"] == f"<{delivery}@oms.local>"
    assert received[0]["Date"].datetime == received[1]["Date"].datetime == WRITTEN


async def test_a_cyrillic_email_arrives_as_written(settings: NotificationSettings, smtp: SmtpServer) -> None:
    mailer = SmtpMailer(settings)
    address = f"ru-{new_id()[-8:]}@example.test"
    email = RenderedEmail(
        subject="Заказ №7 принят", text="Здравствуйте, Анна!\nЗаказ №7 принят.\n", html="<p>Заказ <b>№7</b></p>\n"
    )
    await mailer.send(to_email=address, to_name="Анна Иванова", email=email, message_id=new_id(), written_at=WRITTEN)
    await mailer.close()

    [got] = await eventually(lambda: smtp.sink.to(address), timeout=20)
    assert got["Subject"] == "Заказ №7 принят"
    assert got["To"].addresses[0].display_name == "Анна Иванова" and got["To"].addresses[0].addr_spec == address
    assert got["From"].addresses[0].addr_spec == "no-reply@oms.local"
    plain, html = got.get_body(("plain",)), got.get_body(("html",))
    assert plain is not None and html is not None
    assert plain.get_content().replace("\r\n", "\n") == email.text
    assert html.get_content().replace("\r\n", "\n") == email.html


async def test_emails_one_after_another_share_one_connection_and_a_closed_one_is_replaced(
    settings: NotificationSettings, smtp: SmtpServer
) -> None:
    mailer = SmtpMailer(settings)
    email = RenderedEmail(subject="Order 8", text="placed", html="<p>placed</p>")
    address = f"kept-{new_id()[-8:]}@example.test"
    for _ in range(3):
        await mailer.send(to_email=address, to_name="", email=email, message_id=new_id(), written_at=WRITTEN)
    [(_, kept)] = mailer._idle
    kept.close()  # the server (or the network) dropped it while idle
    await mailer.send(to_email=address, to_name="", email=email, message_id=new_id(), written_at=WRITTEN)
    await mailer.close()

    await eventually(lambda: len(smtp.sink.to(address)) == 4, timeout=20)
    peers = [peer for peer, m in zip(smtp.sink.peers, smtp.sink.messages, strict=True) if address in str(m["To"])]
    assert peers[0] == peers[1] == peers[2] != peers[3]


async def test_sends_past_the_connection_limit_wait_for_a_kept_connection(
    settings: NotificationSettings, smtp: SmtpServer
) -> None:
    """Two connections at most: of five sends at once, three wait (the server holds the first two's
    answer) and then go out on the two connections that came back; none opens a third."""
    mailer = SmtpMailer(settings.model_copy(update={"smtp_connections_max": 2, "smtp_connections_kept": 2}))
    email = RenderedEmail(subject="Order 9", text="placed", html="<p>placed</p>")
    address = f"capped-{new_id()[-8:]}@example.test"
    smtp.sink.hold(lambda m: address in str(m["To"]))

    async def send() -> None:
        await mailer.send(to_email=address, to_name="", email=email, message_id=new_id(), written_at=WRITTEN)

    sends = [asyncio.create_task(send()) for _ in range(5)]
    try:
        # The first two reach DATA and wait for the answer; the other three wait for a connection.
        await eventually(lambda: mailer._open.locked() and sum(not s.done() for s in sends) == 5, timeout=10)
    finally:
        smtp.sink.release()
    await asyncio.wait_for(asyncio.gather(*sends), timeout=20)
    await mailer.close()

    await eventually(lambda: len(smtp.sink.to(address)) == 5, timeout=20)
    peers = {peer for peer, m in zip(smtp.sink.peers, smtp.sink.messages, strict=True) if address in str(m["To"])}
    assert len(peers) == 2


async def test_a_send_that_finds_no_connection_free_in_time_fails_to_be_retried(
    settings: NotificationSettings, smtp: SmtpServer
) -> None:
    mailer = SmtpMailer(settings.model_copy(update={"smtp_connections_max": 1, "smtp_timeout_seconds": 0.5}))
    email = RenderedEmail(subject="Order 10", text="placed", html="<p>placed</p>")
    address = f"stuck-{new_id()[-8:]}@example.test"
    smtp.sink.hold(lambda m: address in str(m["To"]))
    first = asyncio.create_task(
        mailer.send(to_email=address, to_name="", email=email, message_id=new_id(), written_at=WRITTEN)
    )
    try:
        await eventually(lambda: mailer._open.locked(), timeout=10)
        with pytest.raises(aiosmtplib.SMTPTimeoutError):  # not PermanentDeliveryError: the retry loop sends it
            await mailer.send(to_email=address, to_name="", email=email, message_id=new_id(), written_at=WRITTEN)
    finally:
        smtp.sink.release()
    with contextlib.suppress(aiosmtplib.SMTPException, TimeoutError):  # held past its own deadline
        await first
    await mailer.close()
