"""SMS as a second channel for the customer's messages (issue 13): which channels a message goes by,
what the SMS says, and quiet hours. Plain values, no I/O.

- The shop's SMS settings (`SmsSettings`): SMS on or off, the default channel of its customers
  (`email`, `sms` or `both`), quiet hours in the shop's time zone (no SMS between `quiet_from` and
  `quiet_to`; a window may cross midnight), the sender name.
- A customer's own choice for the shop (`ChannelPreference`) wins over the shop's default.
- Only the customer's messages about their order go by SMS (order received, status, payment link and
  reminder); staff alerts and joint-purchase news stay email. Without a phone number, email.
- An SMS is the rendered email's subject line (localised already), cut to `MAX_SMS_CHARS`.
- Quiet hours defer an SMS to the end of the window, never drop it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from oms_runtime.errors import FieldError

from oms_notification.domain.model import Intent, RenderedEmail, Template

Channel = Literal["email", "sms", "both"]
EMAIL, SMS = "email", "sms"
CUSTOMER_TEMPLATES = frozenset(
    {Template.ORDER_RECEIVED, Template.ORDER_STATUS, Template.PAYMENT_LINK, Template.PAYMENT_REMINDER}
)
MAX_SMS_CHARS = 335  # five GSM-7 segments or fewer than that in UCS-2 (Cyrillic): a bound, not a target


class InvalidSmsSettings(FieldError): ...


@dataclass(frozen=True)
class SmsSettings:
    enabled: bool = False
    default_channel: Channel = "email"
    quiet_from: time | None = None
    quiet_to: time | None = None
    timezone: str = "Europe/Moscow"
    sender: str | None = None

    def __post_init__(self) -> None:
        try:
            ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError, OSError) as exc:  # OSError: a directory ("America")
            raise InvalidSmsSettings("timezone", f"{self.timezone!r} is not an IANA time zone") from exc
        for name, at in (("quiet_from", self.quiet_from), ("quiet_to", self.quiet_to)):
            if at is not None and at.tzinfo is not None:  # compared with naive local times later: TypeError
                raise InvalidSmsSettings(name, "a local time of the shop's time zone, without an offset")
        if (self.quiet_from is None) != (self.quiet_to is None):
            raise InvalidSmsSettings("quiet_to", "give both ends of the quiet hours, or neither")
        if self.quiet_from is not None and self.quiet_from == self.quiet_to:
            raise InvalidSmsSettings("quiet_to", "an empty quiet window: leave both out instead")


def channels_for(intent: Intent, settings: SmsSettings | None, preference: Channel | None) -> list[str]:
    """The channels this message goes by: ["email"], ["sms"] or both."""
    if (
        settings is None
        or not settings.enabled
        or intent.template not in CUSTOMER_TEMPLATES
        or sms_number(intent.recipient.phone) is None
    ):
        return [EMAIL]
    chosen = preference or settings.default_channel
    return [EMAIL, SMS] if chosen == "both" else [chosen]


def sms_number(raw: str | None) -> str | None:
    """The number as SMS gateways take it: digits with the country code ("79161234567"); a Russian
    number written with a leading 8 gets 7. None when it cannot be a mobile number."""
    digits = "".join(ch for ch in raw or "" if ch.isdigit())
    if len(digits) == 11 and digits.startswith("8"):
        digits = "7" + digits[1:]
    elif len(digits) == 10 and digits.startswith("9"):
        digits = "7" + digits
    return digits if 11 <= len(digits) <= 15 else None


def sms_text(email: RenderedEmail) -> RenderedEmail:
    """The SMS of a rendered email: its subject line, bounded (stored in the delivery like an email)."""
    text = " ".join(email.subject.split())[:MAX_SMS_CHARS]
    return RenderedEmail(subject=text, text=text, html="")


def quiet_until(now: datetime, settings: SmsSettings | None) -> datetime | None:
    """When the quiet hours that hold at `now` end (aware UTC), or None when an SMS may go now."""
    if settings is None or settings.quiet_from is None or settings.quiet_to is None:
        return None
    zone = ZoneInfo(settings.timezone)
    local = now.astimezone(zone)
    start, end = settings.quiet_from, settings.quiet_to
    clock = local.time().replace(tzinfo=None)
    crosses_midnight = start > end
    quiet = (start <= clock or clock < end) if crosses_midnight else (start <= clock < end)
    if not quiet:
        return None
    day = local.date()
    if crosses_midnight and clock >= start:
        day += timedelta(days=1)  # the window ends tomorrow morning
    ends = datetime.combine(day, end, tzinfo=zone)
    return ends.astimezone(now.tzinfo)
