"""The customer records consumer's concurrent handlers share their round trips: their contact-key
look-ups are one `$in` read per shop, their order rows one insert (a replayed row still refused)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from oms_contracts import Money, new_id
from oms_order.adapters.outbound.customers_mongo import MongoCustomerIndex
from oms_order.application.ports import CustomerOrderRow
from oms_order.settings import OrderSettings
from oms_testing.commands import record_commands  # before any client is built: it counts their commands
from oms_testing.infra import Infra, service_database


def _row(order_id: str, customer_id: str) -> CustomerOrderRow:
    return CustomerOrderRow(
        order_id=order_id,
        customer_id=customer_id,
        number=1,
        placed_at=datetime.now(UTC),
        grand_total=Money.of("10", "EUR"),
        status="new",
    )


async def test_concurrent_look_ups_and_rows_are_one_read_per_shop_and_one_insert(
    infra: Infra, topic_prefix: str
) -> None:
    settings = infra.settings(OrderSettings, topic_prefix, "order_customer_index", log_json=False)
    shop, other_shop = new_id(), new_id()
    async with service_database(settings) as db:
        index = MongoCustomerIndex(db)
        assert await index.claim(shop, "email:ann@example.com", "cus-ann") == "cus-ann"
        assert await index.claim(other_shop, "email:ann@example.com", "cus-ann-2") == "cus-ann-2"

        with record_commands(settings.database_name) as log:
            owners = await asyncio.gather(
                index.owners(shop, ["email:ann@example.com", "phone:+79990001122"]),
                index.owners(shop, ["email:bob@example.com"]),
                index.owners(other_shop, ["email:ann@example.com"]),
            )
        assert owners == [{"email:ann@example.com": "cus-ann"}, {}, {"email:ann@example.com": "cus-ann-2"}]
        assert log.summary() == {("find", "customer_keys"): 2}, "one read per shop"

        first = new_id()
        with record_commands(settings.database_name) as rows:
            added = await asyncio.gather(
                index.add_order(shop, _row(first, "cus-ann")),
                index.add_order(shop, _row(new_id(), "cus-ann")),
                index.add_order(shop, _row(first, "cus-ann")),  # the same order again: a replay
            )
        assert added == [True, True, False]
        assert rows.summary() == {("insert", "customer_orders"): 1}
        assert await db["customer_orders"].count_documents({"shop_id": shop}) == 2
