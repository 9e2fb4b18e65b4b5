"""StockLevelChanged: the event of every stored stock change, built here, stored by the stock adapter.

The stock adapter stores a change with its event's identity (id, time, correlation); when it flushes
the change from `ledger_pending` with the absolute levels after it (ADR 0009) it asks this port for
the envelope, so the event is built by the application with the EventFactory, never by an adapter.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from oms_contracts import Envelope
from oms_contracts.messages.catalog import StockLevelChanged
from oms_runtime.events import EventFactory

from oms_catalog.domain.stock import StockLevel


class StockLevelEvents:
    """Implements `StockEvents`."""

    def __init__(self, events: EventFactory) -> None:
        self.events = events

    def level_changed(
        self,
        *,
        event_id: str,
        shop_id: str,
        occurred_at: datetime,
        correlation_id: str | None,
        causation_id: str | None,
        sku: str,
        warehouse_id: str,
        level: StockLevel,
    ) -> Envelope[Any]:
        changed = StockLevelChanged(
            sku=sku,
            warehouse_id=warehouse_id,
            on_hand=level.on_hand,
            reserved=level.reserved,
            available=level.available,
        )
        # Rebuilt the same on every flush: its id and time were fixed when the change was stored.
        event = self.events.new(
            changed, shop_id=shop_id, event_id=event_id, occurred_at=occurred_at, correlation_id=correlation_id
        )
        return event if causation_id is None else event.model_copy(update={"causation_id": causation_id})
