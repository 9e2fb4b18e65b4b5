from datetime import UTC, datetime, timedelta
from decimal import Decimal

from oms_contracts import Money
from oms_contracts.messages.common import Customer, Locale
from oms_contracts.messages.groupbuy import JointPurchaseNewsPublished, JointPurchasePaymentReminderDue, NewsRecipient
from oms_contracts.messages.order import CUSTOMER_STATUSES, OrderPlaced, OrderStageChanged, OrderStageOverdue
from oms_contracts.messages.payment import PaymentReminderDue, PaymentRequested
from oms_notification.adapters.outbound.renderer_jinja import TemplateRenderer
from oms_notification.domain import rules
from oms_notification.domain.alerts import FiringAlert, for_alert_email
from oms_notification.domain.formatting import format_money
from oms_notification.domain.groupbuy_news import for_news
from oms_notification.domain.groupbuy_reminders import for_groupbuy_reminder
from oms_notification.domain.model import (
    DeliveryBackoff,
    DeliveryStatus,
    OrderContact,
    Recipient,
    ShopInfo,
    StaffMember,
    Template,
    after_failure,
)
from oms_notification.domain.overdue import for_stage_overdue
from oms_notification.domain.payment_reminders import for_payment_reminder
from oms_testing import builders

SHOP = ShopInfo("s1", "Tea & Co")


def stage_overdue(order_id: str) -> OrderStageOverdue:
    return OrderStageOverdue(
        order_id=order_id,
        number=42,
        stage="picking",
        stage_name="Picking",
        responsible_role="warehouse",
        entered_at=datetime(2026, 3, 1, 9, 0, tzinfo=UTC),
        deadline=datetime(2026, 3, 1, 11, 0, tzinfo=UTC),
        overdue_seconds=1500,
    )


def rub(amount: str) -> Money:
    return Money.of(amount, "RUB")


def order_placed(locale: Locale = "en", name: str = "Ann") -> OrderPlaced:
    return builders.order_placed(
        number=42,
        locale=locale,
        name=name,
        quantity=2,
        unit_price="600",
        delivery="300",
        delivery_type="courier",
        payment_method="card",
    )


def staff(staff_id: str, role: str, email: str | None = None) -> StaffMember:
    return StaffMember(staff_id, email or f"{staff_id}@shop.test", staff_id.title(), role, "ru")


def test_order_placed_tells_the_customer_and_each_admin_and_manager_once() -> None:
    members = [
        staff("boss", "admin"),
        staff("mia", "manager"),
        staff("wes", "warehouse"),
        staff("cid", "courier"),
        staff("mia2", "manager", email="MIA@shop.test"),  # the same person, a second account
    ]
    intents = rules.for_order_placed(order_placed(), SHOP, members)
    assert [(i.template, i.recipient.email) for i in intents] == [
        (Template.ORDER_RECEIVED, "ann@example.com"),
        (Template.NEW_ORDER_ALERT, "boss@shop.test"),
        (Template.NEW_ORDER_ALERT, "mia@shop.test"),
    ]
    assert intents[1].recipient.locale == "ru"


def stage_changed(*, notify: bool, locale: str = "ru") -> OrderStageChanged:
    return OrderStageChanged(
        order_id="o1",
        number=7,
        from_stage="new",
        to_stage="picking",
        status="Confirmed",
        seconds_in_previous_stage=3,
        customer=Customer(name="Иван", email="ivan@example.com", locale=locale),
        notify=notify,
    )


def test_stage_change_sends_the_status_in_the_customers_language() -> None:
    [intent] = rules.for_stage_changed(stage_changed(notify=True), SHOP)
    assert intent.template is Template.ORDER_STATUS
    assert intent.recipient.email == "ivan@example.com"
    assert intent.context["status"] == "Подтверждён"


def test_stage_change_without_notify_sends_nothing() -> None:
    assert rules.for_stage_changed(stage_changed(notify=False), SHOP) == []
    assert rules.for_stage_changed(stage_changed(notify=False, locale="en"), SHOP) == []


def test_the_status_email_links_the_customers_page_and_asks_for_a_rating_once_delivered() -> None:
    renderer = TemplateRenderer()
    link = "https://shop.example/api/v1/order-status/tok"
    [shipped] = rules.for_stage_changed(stage_changed(notify=True, locale="en"), SHOP, status_url=link)
    text = renderer.render(shipped.template, "en", shipped.context).text
    assert f"Follow your order: {link}" in text and "Rate" not in text

    delivered = stage_changed(notify=True).model_copy(update={"status": "Delivered", "to_stage": "delivered"})
    [intent] = rules.for_stage_changed(delivered, SHOP, status_url=link)
    email = renderer.render(intent.template, "ru", intent.context)
    assert f"Оцените заказ и оставьте отзыв: {link}" in email.text and f'href="{link}"' in email.html

    [no_link] = rules.for_stage_changed(delivered, SHOP)  # an order placed before links existed
    assert "order-status" not in renderer.render(no_link.template, "ru", no_link.context).text


def test_stage_change_with_notify_sends_the_status_email_in_english() -> None:
    [intent] = rules.for_stage_changed(stage_changed(notify=True, locale="en"), SHOP)
    assert (intent.template, intent.order_id, intent.context["status"]) == (Template.ORDER_STATUS, "o1", "Confirmed")
    assert intent.context["shop_name"] == "Tea & Co"


def test_notify_on_a_stage_change_that_does_not_change_the_stage_sends_nothing() -> None:
    same = stage_changed(notify=True).model_copy(update={"from_stage": "picking"})
    assert rules.for_stage_changed(same, SHOP) == []


def test_every_built_in_status_reads_in_russian_and_a_shops_own_is_sent_as_written() -> None:
    untranslated = {s for s in CUSTOMER_STATUSES if rules.status_label(s, "ru") == s}
    assert untranslated == set()
    assert rules.status_label("Готовим заказ", "ru") == "Готовим заказ"
    assert rules.status_label("Confirmed", "en") == "Confirmed"


def test_payment_link_only_when_there_is_a_checkout_url() -> None:
    contact = OrderContact("o1", 7, Recipient("ann@example.com", "Ann", "en"))
    card = PaymentRequested(
        order_id="o1",
        payment_id="p1",
        method="card",
        amount=rub("10"),
        status="awaiting_customer",
        checkout_url="https://pay.test/p1",
    )
    cash = card.model_copy(update={"method": "cash_on_delivery", "status": "awaiting_cash", "checkout_url": None})
    [intent] = rules.for_payment_requested(card, contact, SHOP)
    assert intent.context["checkout_url"] == "https://pay.test/p1"
    assert rules.for_payment_requested(cash, contact, SHOP) == []


def test_retry_backs_off_exponentially_up_to_a_cap_then_gives_up() -> None:
    policy = DeliveryBackoff(max_attempts=4, base_delay=timedelta(seconds=5), max_delay=timedelta(seconds=12))
    now = datetime(2026, 1, 1, tzinfo=UTC)
    assert after_failure(policy, 1, now).due_at == now + timedelta(seconds=5)
    assert after_failure(policy, 2, now).due_at == now + timedelta(seconds=10)
    assert after_failure(policy, 3, now).due_at == now + timedelta(seconds=12)
    assert after_failure(policy, 4, now).status is DeliveryStatus.FAILED
    assert after_failure(policy, 1, now, permanent=True).status is DeliveryStatus.FAILED


def test_money_reads_naturally_in_each_locale() -> None:
    assert format_money(Money.of(Decimal("1234.5"), "RUB"), "en") == "1,234.50\u00a0RUB"
    assert format_money(Money.of(Decimal("1234.5"), "RUB"), "ru") == "1\u00a0234,50\u00a0RUB"


def test_every_template_renders_in_every_locale() -> None:
    renderer = TemplateRenderer()
    event = order_placed()
    contact = OrderContact(event.order_id, 42, Recipient("ann@example.com", "Ann", "en"))
    payment = PaymentRequested(
        order_id=event.order_id,
        payment_id="p",
        method="card",
        amount=rub("1500"),
        status="awaiting_customer",
        checkout_url="https://pay.test/p",
    )
    stage = OrderStageChanged(
        order_id=event.order_id,
        number=42,
        from_stage="new",
        to_stage="completed",
        status="Completed",
        seconds_in_previous_stage=1,
        customer=event.customer,
        notify=True,
    )
    intents = [
        *rules.for_order_placed(event, SHOP, [staff("boss", "admin")]),
        *rules.for_stage_changed(stage, SHOP),
        *rules.for_payment_requested(payment, contact, SHOP),
        *for_stage_overdue(stage_overdue(event.order_id), SHOP, [staff("boss", "admin")]),
        *for_payment_reminder(
            PaymentReminderDue(
                order_id=event.order_id,
                number=42,
                customer_email="ann@example.com",
                reminder_number=1,
                hours_since_request=1,
                due=rub("1500"),
                checkout_url="https://pay.test/p",
            ),
            contact,
            SHOP,
        ),
        *for_news(
            JointPurchaseNewsPublished(
                purchase_id="jp",
                title="Joint purchase 42",
                news_id="n",
                text="Dispatch moved",
                pinned=True,
                participant_ids=["p"],
                partner_ids=[],
                recipients=[NewsRecipient(participant_id="p", name="Ann", email="ann@example.com")],
            ),
            SHOP,
            [],
        ),
        *for_groupbuy_reminder(
            JointPurchasePaymentReminderDue(
                purchase_id="jp",
                title="Joint purchase 42",
                participant_id="p",
                name="Ann",
                email="ann@example.com",
                reminder_number=1,
                deadline=datetime(2026, 3, 1, tzinfo=UTC),
                owed=rub("1500"),
            ),
            SHOP,
        ),
        *for_alert_email(
            FiringAlert("fp", datetime(2026, 3, 1, tzinfo=UTC), "Alert42", "critical", "42 errors", None),
            SHOP,
            [staff("boss", "admin")],
        ),
    ]
    assert {i.template for i in intents} == set(Template)
    for intent in intents:
        for locale in ("en", "ru"):
            email = renderer.render(intent.template, locale, intent.context)
            assert "42" in email.subject and "\n" not in email.subject
            assert "42" in email.text and "42" in email.html


def test_russian_order_received_and_html_escaping() -> None:
    email = TemplateRenderer().render(
        Template.ORDER_RECEIVED, "ru", {"order": order_placed("ru", name="<b>Ivan</b>"), "shop_name": "Tea & Co"}
    )
    assert email.subject == "Заказ №42 принят — Tea & Co"
    assert "Мы получили ваш заказ №42" in email.text
    assert "Итого: 1\u00a0500,00\u00a0RUB" in email.text
    assert "&lt;b&gt;Ivan&lt;/b&gt;" in email.html and "<b>Ivan</b>" not in email.html
    assert "<b>Ivan</b>" in email.text  # the plain part stays verbatim
