"""Email over SMTP with aiosmtplib."""

from __future__ import annotations

from email.message import EmailMessage
from email.utils import formataddr

import aiosmtplib

from oms_notification.application.ports import PermanentDeliveryError
from oms_notification.domain.model import RenderedEmail
from oms_notification.settings import NotificationSettings


class SmtpMailer:
    def __init__(self, settings: NotificationSettings) -> None:
        self.settings = settings

    async def send(self, *, to_email: str, to_name: str, email: RenderedEmail, message_id: str) -> None:
        """Hand one email to the SMTP server; raises on any refusal or connection problem."""
        msg = EmailMessage()
        msg["From"] = self.settings.smtp_from
        msg["To"] = formataddr((to_name, to_email))
        msg["Subject"] = email.subject
        # A stable Message-ID per delivery lets mail clients fold a duplicate from a retried send.
        msg["Message-ID"] = f"<{message_id}@oms.local>"  # make_msgid would add time, pid and a random part
        msg.set_content(email.text)
        msg.add_alternative(email.html, subtype="html")
        s = self.settings
        try:
            await aiosmtplib.send(
                msg,
                hostname=s.smtp_host,
                port=s.smtp_port,
                username=s.smtp_username,
                password=s.smtp_password,
                start_tls=s.smtp_starttls,
                timeout=s.smtp_timeout_seconds,
            )
        except aiosmtplib.SMTPRecipientsRefused as exc:
            # 5xx for the mailbox: the address is wrong, and asking again will not change that.
            if all(500 <= r.code < 600 for r in exc.recipients):
                raise PermanentDeliveryError(str(exc)) from exc
            raise
