"""OrderStageOverdue in, alert emails out: the stage's responsible role and the shop's admin, once each."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from oms_contracts import new_id
from oms_contracts.messages.order import OrderStageOverdue
from oms_contracts.messages.shop import ShopCreated, StaffMemberAdded
from oms_notification.settings import NotificationSettings
from oms_testing import eventually
from oms_testing.infra import Infra
from oms_testing.smtp import SmtpServer

from .helpers import address, database, envelope, publish


async def test_overdue_order_alerts_the_stage_role_and_the_admin_once(
    infra: Infra, topic_prefix: str, settings: NotificationSettings, client: Any, smtp: SmtpServer, shop_id: str
) -> None:
    await publish(
        infra,
        topic_prefix,
        envelope(
            ShopCreated(shop_id=shop_id, name="Tea & Co", default_currency="RUB", locale="en"), shop_id, "gateway"
        ),
    )
    roles = {"boss": ("admin", "ru"), "mgr": ("manager", "en"), "wh": ("warehouse", "en")}
    for staff_id, (role, locale) in roles.items():
        member = StaffMemberAdded(
            shop_id=shop_id,
            staff_id=f"{shop_id}-{staff_id}",
            email=address(staff_id, shop_id),
            name=staff_id.upper(),
            role=role,  # type: ignore[arg-type]
            locale=locale,  # type: ignore[arg-type]
        )
        await publish(infra, topic_prefix, envelope(member, shop_id, "gateway"))
    staff = database(infra, settings)["staff"]

    async def projected() -> bool:
        return await staff.count_documents({"shop_id": shop_id}) == len(roles)

    await eventually(projected, what="staff projected")

    overdue = envelope(
        OrderStageOverdue(
            order_id=new_id(),
            number=205,
            stage="picking",
            stage_name="Picking",
            responsible_role="warehouse",
            entered_at=datetime(2026, 3, 1, 9, 0, tzinfo=UTC),
            deadline=datetime(2026, 3, 1, 11, 0, tzinfo=UTC),
            overdue_seconds=3600,
        ),
        shop_id,
    )
    await publish(infra, topic_prefix, overdue)
    await publish(infra, topic_prefix, overdue)  # a redelivery sends nothing twice
    warehouse, admin = address("wh", shop_id), address("boss", shop_id)
    await eventually(lambda: smtp.sink.to(warehouse) and smtp.sink.to(admin), what="both alerts")

    [to_warehouse] = smtp.sink.to(warehouse)
    assert to_warehouse["Subject"] == 'Order #205 is overdue in "Picking"'
    assert "Overdue by: 60 min" in to_warehouse.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    [to_admin] = smtp.sink.to(admin)
    assert to_admin["Subject"] == "Заказ №205 просрочен на этапе «Picking»"
    assert smtp.sink.to(address("mgr", shop_id)) == []  # not responsible for this stage, not an admin

    deliveries = database(infra, settings)["notifications"]

    async def logged() -> list[dict[str, Any]] | None:
        docs = await deliveries.find({"shop_id": shop_id, "cause_event_id": overdue.event_id}).to_list(10)
        return docs if len(docs) == 2 and all(d["status"] == "sent" for d in docs) else None

    docs = await eventually(logged, what="two sent deliveries in the log")
    assert {d["template"] for d in docs} == {"stage_overdue_alert"}
