"""The archived part of an order's audit trail, erased with the order (real MongoDB-protocol server):
entries moved out of the order document lose the customer as an actor and the personal changes;
the staff's and the system's entries keep who did what; other orders' entries are untouched."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from oms_order.adapters.outbound.audit_mongo import MongoAuditArchive, audit_entry_id
from oms_order.domain.erasure import ERASED, erased_archive_entry
from oms_order.settings import OrderSettings
from oms_testing.infra import Infra, service_database

T0 = datetime(2026, 4, 1, 9, tzinfo=UTC)


def entry(kind: str, actor_id: str, action: str, changes: dict[str, Any]) -> dict[str, Any]:
    name = "Zelda" if kind == "customer" else "Office"
    return {
        "at": T0,
        "actor": {"kind": kind, "id": actor_id, "role": "manager" if kind == "staff" else None, "name": name},
        "channel": "console",
        "action": action,
        "changes": changes,
    }


async def test_archived_entries_are_erased_for_the_order_only(infra: Infra, topic_prefix: str, shop_id: str) -> None:
    settings = infra.settings(OrderSettings, topic_prefix, "order-audit")
    async with service_database(settings) as db:
        archive = MongoAuditArchive(db)
        mine = [
            entry("storefront", "web", "placed", {"stage": "new"}),
            entry("customer", "zelda@example.com", "cancelled", {"reason": "Zelda moved", "stage": "x"}),
            entry("staff", "m-1", "delivery_changed", {"address": {"from": {"line1": "Zelda St 1"}, "to": None}}),
            entry("staff", "m-1", "note_added", {"note": "call Zelda"}),
        ]
        await archive.store(shop_id, "o-1", 0, mine)
        await archive.store(shop_id, "o-2", 0, [entry("customer", "x@example.com", "cancelled", {"reason": "kept"})])

        changed = await archive.rewrite(shop_id, "o-1", len(mine), erased_archive_entry)
        assert changed >= 3
        stored = await archive.between(shop_id, "o-1", 0, len(mine))
        assert [e["action"] for e in stored] == ["placed", "cancelled", "delivery_changed", "note_added"]
        assert stored[1]["actor"]["id"] == "erased" and stored[1]["changes"]["reason"] == ERASED
        assert stored[2]["changes"]["address"] == ERASED and stored[3]["changes"]["note"] == ERASED
        assert stored[2]["actor"]["id"] == "m-1" and stored[0]["changes"] == {"stage": "new"}
        assert "zelda" not in str(stored).lower()
        other = await db["order_audit"].find_one({"_id": audit_entry_id("o-2", 0)})
        assert other is not None and other["changes"]["reason"] == "kept"
        await archive.rewrite(shop_id, "o-1", len(mine), erased_archive_entry)  # again: the same entries
        assert await archive.between(shop_id, "o-1", 0, len(mine)) == stored
