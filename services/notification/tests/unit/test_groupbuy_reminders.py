"""A joint purchase's payment reminder: mailed once to the participant with an address."""

from __future__ import annotations

from datetime import UTC, datetime

from oms_contracts import Actor, Envelope, Money
from oms_contracts.messages.groupbuy import JointPurchasePaymentReminderDue
from oms_notification.adapters.outbound.renderer_jinja import TemplateRenderer
from oms_notification.domain.groupbuy_reminders import for_groupbuy_reminder
from oms_notification.domain.model import ShopInfo, Template

from .test_notifier import SHOP, World

REMINDER = JointPurchasePaymentReminderDue(
    purchase_id="jp-1",
    title="Winter dresses",
    participant_id="p1",
    name="Ann",
    email="ann@example.com",
    order_id="o-1",
    reminder_number=2,
    deadline=datetime(2026, 12, 4, 10, tzinfo=UTC),
    owed=Money.of("1150.00", "RUB"),
)


def test_the_participant_is_reminded_of_what_they_owe_and_by_when_in_the_shops_language() -> None:
    [intent] = for_groupbuy_reminder(REMINDER, ShopInfo(SHOP, "Tea & Co", "ru"))
    assert (intent.template, intent.recipient.email, intent.recipient.locale, intent.order_id) == (
        Template.GROUPBUY_PAYMENT_REMINDER,
        "ann@example.com",
        "ru",
        "o-1",
    )
    renderer = TemplateRenderer()
    ru = renderer.render(Template.GROUPBUY_PAYMENT_REMINDER, "ru", intent.context)
    assert ru.subject == "Winter dresses: оплатите до 2026-12-04 10:00 UTC" and "1" in ru.text and "Ann" in ru.text
    en = renderer.render(Template.GROUPBUY_PAYMENT_REMINDER, "en", intent.context)
    assert "you still owe" in en.text and "2026-12-04 10:00 UTC" in en.html
    # Nobody to mail without an address; nothing when nothing is owed.
    assert for_groupbuy_reminder(REMINDER.model_copy(update={"email": None}), None) == []
    assert for_groupbuy_reminder(REMINDER.model_copy(update={"owed": Money.of("0", "RUB")}), None) == []


async def test_a_replayed_reminder_mails_once() -> None:
    world = World()
    env = Envelope.new(REMINDER, shop_id=SHOP, actor=Actor.system("groupbuy"))
    await world.notifier.on_groupbuy_payment_reminder(env)
    await world.notifier.on_groupbuy_payment_reminder(env)
    assert [s.to_email for s in world.mailer.sent] == ["ann@example.com"]
