"""The SMS channel's rules, pure: which channels a message goes by, the number as gateways take it, the
SMS text, quiet hours in the shop's time zone (a window across midnight, a daytime one), deferral."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta, timezone

import pytest
from oms_notification.domain.delivery import Delivery
from oms_notification.domain.model import Intent, Lane, Recipient, RenderedEmail, Template
from oms_notification.domain.sms import (
    InvalidSmsSettings,
    SmsSettings,
    channels_for,
    quiet_until,
    sms_number,
    sms_text,
)

ZOYA = Recipient("zoya@example.com", "Zoya", "ru", phone="8 916 555-44-33")
NIGHT = SmsSettings(enabled=True, default_channel="both", quiet_from=time(22), quiet_to=time(8))


def test_channels_follow_the_customers_choice_then_the_shops_default_for_customer_messages_only() -> None:
    order_mail = Intent(Template.ORDER_STATUS, ZOYA, "o-1")
    assert channels_for(order_mail, NIGHT, None) == ["email", "sms"]
    assert channels_for(order_mail, NIGHT, "sms") == ["sms"]
    assert channels_for(order_mail, NIGHT, "email") == ["email"]
    assert channels_for(order_mail, None, "sms") == ["email"]  # the shop sends no SMS
    assert channels_for(order_mail, SmsSettings(enabled=False, default_channel="sms"), "sms") == ["email"]
    assert channels_for(Intent(Template.STAGE_OVERDUE_ALERT, ZOYA, "o-1"), NIGHT, "sms") == ["email"]
    no_phone = Intent(Template.ORDER_STATUS, Recipient("a@example.com", "A", "en"), "o-1")
    assert channels_for(no_phone, NIGHT, "sms") == ["email"]


def test_numbers_and_text() -> None:
    assert sms_number("8 (916) 555-44-33") == "79165554433" == sms_number("+7 916 555 44 33")
    assert sms_number("9165554433") == "79165554433"
    assert sms_number("+49 151 2345 6789") == "4915123456789"
    assert sms_number("12-34") is None and sms_number(None) is None
    text = sms_text(RenderedEmail(subject="Заказ  №12\\n принят " + "x" * 500, text="body", html="<p>"))
    assert text.text == text.subject and text.html == "" and len(text.text) == 335 and "  " not in text.text


def test_quiet_hours_in_the_shops_time_zone() -> None:
    msk_2330 = datetime(2026, 6, 1, 20, 30, tzinfo=UTC)  # 23:30 in Moscow
    assert quiet_until(msk_2330, NIGHT) == datetime(2026, 6, 2, 5, 0, tzinfo=UTC)  # 08:00 Moscow
    msk_0130 = datetime(2026, 6, 1, 22, 30, tzinfo=UTC)  # 01:30 on the 2nd in Moscow
    assert quiet_until(msk_0130, NIGHT) == datetime(2026, 6, 2, 5, 0, tzinfo=UTC)
    assert quiet_until(datetime(2026, 6, 1, 12, 0, tzinfo=UTC), NIGHT) is None  # 15:00 Moscow
    lunch = SmsSettings(enabled=True, quiet_from=time(13), quiet_to=time(14), timezone="Asia/Vladivostok")
    assert quiet_until(datetime(2026, 6, 1, 3, 30, tzinfo=UTC), lunch) == datetime(2026, 6, 1, 4, 0, tzinfo=UTC)
    assert quiet_until(msk_2330, SmsSettings(enabled=True)) is None
    with pytest.raises(InvalidSmsSettings):
        SmsSettings(timezone="Nowhere/Town")
    with pytest.raises(InvalidSmsSettings):
        SmsSettings(quiet_from=time(22))


@pytest.mark.parametrize("zone", ["America", "Europe", "zone.tab", "a\x00b"])
def test_a_time_zone_directory_or_file_is_refused_as_a_field_error(zone: str) -> None:
    with pytest.raises(InvalidSmsSettings) as refused:
        SmsSettings(timezone=zone)
    assert refused.value.field == "timezone"


def test_quiet_hours_with_an_offset_are_refused_they_are_local_times() -> None:
    moscow = timezone(timedelta(hours=3))
    with pytest.raises(InvalidSmsSettings) as refused:
        SmsSettings(enabled=True, quiet_from=time(22, tzinfo=moscow), quiet_to=time(8))
    assert refused.value.field == "quiet_from"
    with pytest.raises(InvalidSmsSettings) as refused:
        SmsSettings(enabled=True, quiet_from=time(22), quiet_to=time(8, tzinfo=UTC))
    assert refused.value.field == "quiet_to"


def test_a_deferred_sms_waits_without_spending_an_attempt() -> None:
    now = datetime(2026, 6, 1, 20, 30, tzinfo=UTC)
    sms = Delivery.of_intent(
        Intent(Template.ORDER_STATUS, ZOYA, "o-1"),
        sms_text(RenderedEmail("Заказ №12 принят", "", "")),
        notification_id="n-1",
        shop_id="s",
        cause_event_id="e",
        correlation_id="c",
        lane=Lane.BULK,
        now=now,
        channel="sms",
        recipient="79165554433",
        due_at=now + timedelta(hours=8),
    )
    assert (sms.channel, sms.recipient, sms.due_at) == ("sms", "79165554433", now + timedelta(hours=8))
    claimed = sms.claim(now, timedelta(minutes=1))
    later = claimed.deferred(now + timedelta(hours=8))
    assert (later.status.value, later.attempts, later.due_at) == ("pending", 0, now + timedelta(hours=8))
