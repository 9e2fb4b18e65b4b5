"""OrderStageOverdue: the stage's responsible people (a named person, else the role) and the admins, once each."""

from __future__ import annotations

from datetime import UTC, datetime

from oms_contracts.messages.order import OrderStageOverdue
from oms_notification.adapters.outbound.renderer_jinja import TemplateRenderer
from oms_notification.domain.model import ShopInfo, StaffMember, Template
from oms_notification.domain.overdue import for_stage_overdue

SHOP = ShopInfo("s1", "Tea & Co", "ru")
STAFF = [
    StaffMember("boss", "boss@shop.test", "Boss", "admin", "ru"),
    StaffMember("ann", "ann@shop.test", "Ann", "manager", "en"),
    StaffMember("bob", "bob@shop.test", "Bob", "manager", "en"),
    StaffMember("wes", "wes@shop.test", "Wes", "warehouse", "en"),
    StaffMember("boss2", "BOSS@shop.test", "Boss again", "manager", "ru"),  # the admin's second account
]


def overdue(role: str | None = "manager", person: str | None = None) -> OrderStageOverdue:
    return OrderStageOverdue(
        order_id="o-1",
        number=17,
        stage="call_back",
        stage_name="Call-back",
        responsible_role=role,
        responsible_user_id=person,
        entered_at=datetime(2026, 3, 1, 9, 0, tzinfo=UTC),
        deadline=datetime(2026, 3, 1, 9, 30, tzinfo=UTC),
        overdue_seconds=725,
    )


def recipients(event: OrderStageOverdue) -> list[str]:
    intents = for_stage_overdue(event, SHOP, STAFF)
    assert {i.template for i in intents} == {Template.STAGE_OVERDUE_ALERT}
    return [i.recipient.email for i in intents]


def test_every_member_of_the_responsible_role_and_the_admins_once_per_address() -> None:
    assert recipients(overdue()) == ["ann@shop.test", "bob@shop.test", "BOSS@shop.test"]


def test_a_named_responsible_person_instead_of_the_whole_role() -> None:
    assert recipients(overdue(person="bob")) == ["bob@shop.test", "boss@shop.test"]


def test_an_unknown_person_falls_back_to_the_role_and_no_role_alerts_admins_only() -> None:
    assert recipients(overdue(person="gone")) == ["ann@shop.test", "bob@shop.test", "BOSS@shop.test"]
    assert recipients(overdue(role=None)) == ["boss@shop.test"]


def test_the_alert_renders_in_russian_and_english() -> None:
    [ann, *_] = for_stage_overdue(overdue(), SHOP, STAFF)
    renderer = TemplateRenderer()
    en = renderer.render(ann.template, "en", ann.context)
    assert en.subject == 'Order #17 is overdue in "Call-back"'
    assert "Overdue by: 12 min" in en.text and "2026-03-01 09:30 UTC" in en.html
    ru = renderer.render(ann.template, "ru", ann.context)
    assert ru.subject == "Заказ №17 просрочен на этапе «Call-back»"
    assert "Просрочен на: 12 мин" in ru.text and "Tea &amp; Co" in ru.html
