"""Email over SMTP with aiosmtplib, on connections kept open between emails.

Each email used to open its own connection (connect, EHLO, MAIL, RCPT, DATA, QUIT): the
handshake cost both ends more than the email. Connections are now kept for the next email: one
is taken per send (a new one when none is idle) and put back after the server's answer, unless it
failed. An idle connection is used again only within `smtp_keep_seconds`, well under the idle
timeout of any server (RFC 5321 4.5.3.2.7: five minutes at least), and only while it is still open.

At most `smtp_connections_max` are open at once, as a relay allows a client (Postfix: 50): the
sends of a busy batch (up to `consumer_concurrency` keys, each with a few emails side by side) are
more than that, and opening a connection for each of them, only to close it when more than
`smtp_connections_kept` came back, made a connection (accept, EHLO, the server's set-up) for every
eight emails at concurrency 64. A send past the limit waits for a connection to come back, at most
`smtp_timeout_seconds`; then it fails as a connection that does not answer would (retried later).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from datetime import datetime
from email.utils import parseaddr

import aiosmtplib

from oms_notification.adapters.outbound.email_bytes import BadAddress, compose, mailbox
from oms_notification.application.ports import PermanentDeliveryError
from oms_notification.domain.model import RenderedEmail
from oms_notification.settings import NotificationSettings


class SmtpMailer:
    def __init__(self, settings: NotificationSettings, *, now: Callable[[], float] = time.monotonic) -> None:
        self.settings = settings
        self.now = now
        from_name, self.envelope_from = parseaddr(settings.smtp_from)
        self.from_header = mailbox(from_name, self.envelope_from)  # the same for every email: written once
        self._idle: list[tuple[float, aiosmtplib.SMTP]] = []  # (kept until, connection), newest last
        self._closed = False
        self._open = asyncio.Semaphore(settings.smtp_connections_max)  # a slot per connection in use

    async def send(
        self, *, to_email: str, to_name: str, email: RenderedEmail, message_id: str, written_at: datetime
    ) -> None:
        """Hand one email to the SMTP server; raises on any refusal or connection problem."""
        try:
            to = mailbox(to_name, to_email)
        except BadAddress as exc:
            raise PermanentDeliveryError(f"not an address: {exc}") from exc
        message = compose(
            sender=self.from_header,
            to=to,
            subject=email.subject,
            message_id=message_id,  # stable per delivery: mail clients fold a duplicate from a retried send
            date=written_at,
            text=email.text,
            html=email.html,
        )
        await self._slot()
        try:
            client = await self._take()
            try:
                # An internationalised address needs the server's SMTPUTF8 (SMTPNotSupported: retried).
                utf8 = None if to_email.isascii() else ["SMTPUTF8"]
                # One deadline for the exchange (MAIL, RCPT, DATA, the message: the per-command timeout
                # four times, as before at most) instead of aiosmtplib's `wait_for` around each answer.
                async with asyncio.timeout(4 * self.settings.smtp_timeout_seconds):
                    await client.sendmail(self.envelope_from, [to_email], message, mail_options=utf8, timeout=None)
            except aiosmtplib.SMTPRecipientsRefused as exc:
                self._put_back(client)  # the envelope was reset: the connection serves the next email
                # 5xx for the mailbox: the address is wrong, and asking again will not change that.
                if all(500 <= r.code < 600 for r in exc.recipients):
                    raise PermanentDeliveryError(str(exc)) from exc
                raise
            except BaseException:
                client.close()  # in an unknown state (or gone): never used again
                raise
            self._put_back(client)
        finally:
            self._open.release()

    async def _slot(self) -> None:
        """A connection slot; past `smtp_connections_max` in use, wait for one at most the SMTP timeout."""
        if not self._open.locked():
            await self._open.acquire()  # free: taken at once, no timer
            return
        try:
            async with asyncio.timeout(self.settings.smtp_timeout_seconds):
                await self._open.acquire()
        except TimeoutError as exc:
            raise aiosmtplib.SMTPTimeoutError("no SMTP connection came free in time") from exc

    async def _take(self) -> aiosmtplib.SMTP:
        now = self.now()
        while self._idle:
            kept_until, client = self._idle.pop()
            if kept_until > now and client.is_connected:
                return client
            client.close()  # kept too long (or closed by the server): no goodbye needed
        s = self.settings
        client = aiosmtplib.SMTP(
            hostname=s.smtp_host,
            port=s.smtp_port,
            username=s.smtp_username,
            password=s.smtp_password,
            start_tls=s.smtp_starttls,
            timeout=s.smtp_timeout_seconds,
        )
        await client.connect()
        return client

    def _put_back(self, client: aiosmtplib.SMTP) -> None:
        # The oldest first (in the order they were put back): those kept too long are closed here, not
        # left to hold a place among the kept ones until a burst reaches down to them.
        now = self.now()
        while self._idle and self._idle[0][0] <= now:
            self._idle.pop(0)[1].close()
        if self._closed or len(self._idle) >= self.settings.smtp_connections_kept or not client.is_connected:
            client.close()
            return
        self._idle.append((self.now() + self.settings.smtp_keep_seconds, client))

    async def close(self) -> None:
        """Say goodbye on every idle connection (at shutdown); emails sent later use their own."""
        self._closed = True
        idle, self._idle = self._idle, []
        for _, client in idle:
            await _quit(client)


async def _quit(client: aiosmtplib.SMTP) -> None:
    try:
        await client.quit(timeout=2)
    except (aiosmtplib.SMTPException, OSError):
        client.close()
