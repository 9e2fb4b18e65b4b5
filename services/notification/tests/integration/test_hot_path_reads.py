"""OrderPlaced turns into emails without reading back what it has just written, and the writes of orders
handled side by side are shared (round trips counted)."""

from __future__ import annotations

import asyncio

from oms_contracts import Actor, Envelope, new_id
from oms_contracts.messages.order import OrderStageChanged
from oms_contracts.messages.shop import ShopCreated, StaffMemberAdded
from oms_notification.bootstrap import INDEXES, build_application
from oms_notification.settings import NotificationSettings
from oms_runtime.cli import migrate
from oms_runtime.runtime import ServiceRuntime
from oms_testing import eventually
from oms_testing.commands import record_commands  # before any client is built: it counts their commands
from oms_testing.infra import Infra, service_database
from oms_testing.smtp import SmtpServer

from .helpers import address, order_placed


async def test_order_placed_sends_its_emails_without_reading_its_deliveries_back(
    infra: Infra, settings: NotificationSettings, smtp: SmtpServer, shop_id: str
) -> None:
    own = settings.model_copy(update={"mongo_db": f"test_notification_reads_{new_id()[-8:]}"})
    await migrate(own, INDEXES)
    runtime = ServiceRuntime(own)  # not started: nothing else runs on this database
    notifier = build_application(own, runtime).notifier
    test = Actor.system("test")
    shop = ShopCreated(shop_id=shop_id, name="Tea & Co", default_currency="RUB", locale="en")
    await notifier.on_shop_created(Envelope.new(shop, shop_id=shop_id, actor=test))
    boss = StaffMemberAdded(
        shop_id=shop_id, staff_id="boss", email=address("reads-boss", shop_id), name="Boss", role="admin"
    )
    await notifier.on_staff_member_added(Envelope.new(boss, shop_id=shop_id, actor=test))
    customer = address("reads-ann", shop_id)
    placed = Envelope.new(order_placed(31, customer), shop_id=shop_id, actor=Actor.system("order"))
    try:
        with record_commands(own.database_name) as log:
            await notifier.on_order_placed(placed)
        assert log.count("find", "notifications") == 0  # the deliveries it created are sent as they are
        assert log.count("insert", "notifications") == 1  # the customer's and the admin's, in one insert
        # Each logged claimed for its first attempt: one write after the insert, its outcome; the two
        # are sent side by side, and their outcomes go in one bulk write when they come together (ADR 0045).
        assert log.count("findAndModify", "notifications") == 0
        assert 1 <= log.count("update", "notifications") <= 2
        # The shop's name as this process saved it a moment ago (ADR 0027); its staff from the store.
        assert log.count("find", "shops") == 0 and log.count("find", "staff") == 1
        await eventually(lambda: smtp.sink.to(customer) and smtp.sink.to(address("reads-boss", shop_id)))

        # A replay reads the log back (and sends nothing twice).
        with record_commands(own.database_name) as log:
            await notifier.on_order_placed(placed)
        assert log.count("find", "notifications") == 1
        assert log.count("insert", "notifications") == 1  # both refused by the unique index at once
        assert log.count("findAndModify", "notifications") == 0 and log.count("update", "notifications") == 0
        assert len(smtp.sink.to(customer)) == 1

        # The shop's SMS settings (read for every customer e-mail) are kept a few seconds too, and so
        # is its staff list for the next new order (ADR 0040).
        second = Envelope.new(order_placed(32, customer), shop_id=shop_id, actor=Actor.system("order"))
        with record_commands(own.database_name) as log:
            await notifier.on_order_placed(second)
        assert log.count("find", "sms_settings") == 0
        assert log.count("find", "staff") == 0
        assert log.count("insert", "staff_inbox") == 1  # the admin's item

        # The status email right after: the contact this process saved from the placement, not read.
        moved = OrderStageChanged(
            order_id=second.payload.order_id,
            number=32,
            from_stage="new",
            to_stage="picking",
            status="Confirmed",
            seconds_in_previous_stage=1.0,
            customer=second.payload.customer,
            notify=True,
        )
        with record_commands(own.database_name) as log:
            await notifier.on_stage_changed(Envelope.new(moved, shop_id=shop_id, actor=Actor.system("order")))
        assert log.count("find", "orders") == 0
        await eventually(lambda: len(smtp.sink.to(customer)) == 3)
    finally:
        await runtime.mongo.close()


async def test_orders_handled_side_by_side_share_their_writes(
    infra: Infra, settings: NotificationSettings, smtp: SmtpServer, shop_id: str
) -> None:
    """The lanes of a consumer batch: their contacts, inbox items and deliveries go in one write each,
    and the outcomes of their emails in fewer writes than emails (group commit, ADR 0045)."""
    own = settings.model_copy(update={"mongo_db": f"test_notification_shared_{new_id()[-8:]}"})
    await migrate(own, INDEXES)
    runtime = ServiceRuntime(own)
    notifier = build_application(own, runtime).notifier
    test = Actor.system("test")
    await notifier.on_shop_created(
        Envelope.new(
            ShopCreated(shop_id=shop_id, name="Tea", default_currency="RUB", locale="en"), shop_id=shop_id, actor=test
        )
    )
    boss = StaffMemberAdded(
        shop_id=shop_id, staff_id="boss", email=address("shared-boss", shop_id), name="Boss", role="admin"
    )
    await notifier.on_staff_member_added(Envelope.new(boss, shop_id=shop_id, actor=test))
    order = Actor.system("order")
    # The first order reads the staff list; the next ones find it kept and run in step.
    await notifier.on_order_placed(
        Envelope.new(order_placed(40, address("shared-0", shop_id)), shop_id=shop_id, actor=order)
    )
    customers = [address(f"shared-{n}", shop_id) for n in range(1, 7)]
    placed = [
        Envelope.new(order_placed(40 + n, customer), shop_id=shop_id, actor=order)
        for n, customer in enumerate(customers, start=1)
    ]
    try:
        with record_commands(own.database_name) as log:
            await asyncio.gather(*(notifier.on_order_placed(env) for env in placed))
        assert log.count("update", "orders") == 1, log.summary()  # the six contacts
        assert log.count("insert", "staff_inbox") == 1, log.summary()  # the admin's six items
        assert log.count("insert", "notifications") == 1, log.summary()  # the twelve deliveries
        assert log.count("findAndModify", "notifications") == 0, log.summary()
        outcomes = log.count("update", "notifications")
        assert 1 <= outcomes < 12, log.summary()  # twelve emails' outcomes
        await eventually(
            lambda: (
                all(len(smtp.sink.to(c)) == 1 for c in customers)
                and len(smtp.sink.to(address("shared-boss", shop_id))) == 7
            )
        )
        async with service_database(own) as db:
            sent = await db["notifications"].count_documents({"shop_id": shop_id, "status": "sent"})
            assert sent == 14
            contacts = await db["orders"].count_documents({"shop_id": shop_id})
            assert contacts == 7
    finally:
        await runtime.mongo.close()
