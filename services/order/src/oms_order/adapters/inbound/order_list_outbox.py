"""The order list read model from the orders' own outbox (ADR 0046): the relay hands this process the
`OrderChanged` entries every write of an order carries (`OrderChanges`), instead of publishing them
to `oms.order.changes` for this same service to read back, and marks them sent once their rows are
stored. A crash before that leaves them in the outbox for the next pass or the relay's scan."""

from __future__ import annotations

import json
from collections.abc import Sequence

from oms_contracts.messages.order import OrderChanged
from oms_contracts.registry import ORDER_CHANGES
from oms_runtime.relay import LocalEntry
from oms_runtime.runtime import ServiceRuntime
from oms_runtime.telemetry import get_logger
from pymongo.errors import PyMongoError

from oms_order.adapters.inbound.order_events_kafka import LIST_PROJECTION_GROUP
from oms_order.application.listing import OrderChange, OrderLists

log = get_logger(__name__)


def order_change(entry: LocalEntry) -> OrderChange | None:
    """The write an outbox entry signals, or None for an entry that is no OrderChanged envelope."""
    try:
        envelope = json.loads(entry.entry["value"])
        payload = envelope["payload"]
        shop_id, order_id, version = envelope["shop_id"], payload["order_id"], payload.get("version")
    except (KeyError, TypeError, ValueError):
        return None
    if envelope.get("type") != OrderChanged.TYPE or not isinstance(shop_id, str) or not isinstance(order_id, str):
        return None
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        version = None  # the row is built from the order as stored
    return OrderChange(shop_id, order_id, version)


def register_list_projection(runtime: ServiceRuntime, lists: OrderLists) -> None:
    """The relay's entries of `oms.order.changes` to the list rows, in the name of the list's consumer
    (which stays on the topic for what Kafka holds from before, or an older replica publishes)."""

    async def project(entries: list[LocalEntry]) -> Sequence[tuple[LocalEntry, str]]:
        refused: list[tuple[LocalEntry, str]] = []
        entries_of: dict[tuple[str, str], list[LocalEntry]] = {}
        changes: list[OrderChange] = []
        for entry in entries:
            change = order_change(entry)
            if change is None:
                refused.append((entry, "UndecodableSignal: not an OrderChanged envelope"))
                continue
            changes.append(change)
            entries_of.setdefault((change.shop_id, change.order_id), []).append(entry)
        failed = await lists.project_changes(changes)
        for _, error in failed:
            if isinstance(error, PyMongoError):
                raise error  # the store is away: the entries stay, the next pass tries again
        for change, error in failed:
            key = (change.shop_id, change.order_id)
            if key not in entries_of:
                continue  # refused already
            log.error(
                "list row could not be built", order_id=change.order_id, shop_id=change.shop_id, error=repr(error)
            )
            reason = f"{type(error).__name__}: {error}"
            refused += [(entry, reason) for entry in entries_of.pop(key)]
        return refused

    runtime.deliver_locally(ORDER_CHANGES, project, consumer=LIST_PROJECTION_GROUP)
