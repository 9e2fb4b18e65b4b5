"""A customer's personal data on request (issue 13): export everything the order service holds about
one customer as one document, and erase it (anonymise the record and the orders' personal fields,
keep the money records), audited, idempotent, and announced to the other services (CustomerErased).

Erasure runs in steps that each can be repeated, so a retried request completes a partial one:
1. the contact keys (CRM matching and the first/repeat register) are dropped: from now on nobody
   finds the customer by email or phone, and a new order of the same person starts a new record;
2. every order of the customer is anonymised through the order's command loop (an audit entry with
   who and when, the list row rebuilt from the OrderChanged signal), and the archived part of its
   audit trail loses the customer as an actor;
3. the records merged into this one are anonymised;
4. the record itself is anonymised with `CustomerErased` in its outbox — once: a second erasure finds
   it erased and publishes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from oms_contracts import Actor, Envelope
from oms_contracts.messages.order import MAX_ERASED_ORDERS, CustomerErased
from oms_runtime.clock import Clock
from oms_runtime.commands import CommandLoop, CommandRepository, Decision, Loaded, NoChange, RetryPolicy
from oms_runtime.events import EventFactory
from oms_runtime.telemetry import get_logger

from oms_order.application.changes import OrderChanges
from oms_order.application.customers import CustomerNotFound
from oms_order.application.errors import OrderNotFound
from oms_order.application.ports import (
    ArchivedAudit,
    CustomerErasureIndex,
    CustomerIndex,
    CustomerOrderRow,
    FirstOrderRegister,
    StoredOrder,
)
from oms_order.domain.customers import CustomerConflict, CustomerRecord
from oms_order.domain.erasure import erase_order, erase_record, erased_archive_entry

log = get_logger(__name__)

PAGE = 100
MAX_MERGED = 100


@dataclass(frozen=True)
class CustomerExport:
    record: Loaded[CustomerRecord]
    merged: list[CustomerRecord]
    orders: list[StoredOrder]
    complete: bool  # False: the customer has more than MAX_ERASED_ORDERS orders, the oldest left out
    at: datetime


@dataclass(frozen=True)
class Erasure:
    record: Loaded[CustomerRecord]
    orders: int
    merged: list[str]


class CustomerData:
    def __init__(
        self,
        records: CommandRepository[CustomerRecord],
        index: CustomerIndex,
        erasure_index: CustomerErasureIndex,
        register: FirstOrderRegister,
        changes: OrderChanges,
        archive: ArchivedAudit,
        events: EventFactory,
        clock: Clock,
        policy: RetryPolicy,
    ) -> None:
        self.records = records
        self.loop: CommandLoop[CustomerRecord] = CommandLoop(records, policy, name="customer-data")
        self.index = index
        self.erasure_index = erasure_index
        self.register = register
        self.changes = changes
        self.archive = archive
        self.events = events
        self.clock = clock

    async def _record(self, shop_id: str, customer_id: str) -> Loaded[CustomerRecord]:
        loaded = await self.records.load(shop_id, customer_id)
        if loaded is None:
            raise CustomerNotFound(customer_id)
        if loaded.state.merged_into is not None:
            raise CustomerConflict(
                f"customer {customer_id} was merged into {loaded.state.merged_into}: use that record"
            )
        return loaded

    async def _merged(self, shop_id: str, customer_id: str) -> list[CustomerRecord]:
        ids = await self.erasure_index.merged_into(shop_id, customer_id, MAX_MERGED)
        found = [await self.records.load(shop_id, i) for i in ids]
        return [loaded.state for loaded in found if loaded is not None]

    async def _rows(self, shop_id: str, customer_id: str) -> tuple[list[CustomerOrderRow], bool]:
        """The customer's order rows, newest first, at most MAX_ERASED_ORDERS (and whether that is all)."""
        rows: list[CustomerOrderRow] = []
        cursor: str | None = None
        for _ in range(MAX_ERASED_ORDERS // PAGE):
            page = await self.index.orders(shop_id, customer_id, cursor=cursor, limit=PAGE)
            rows += page.items
            cursor = page.next_cursor
            if cursor is None:
                return rows, True
        return rows, False

    async def export(self, shop_id: str, customer_id: str, *, actor: Actor) -> CustomerExport:
        """Everything the order service holds about the customer. Raises CustomerNotFound, CustomerConflict."""
        record = await self._record(shop_id, customer_id)
        merged = await self._merged(shop_id, customer_id)
        rows, complete = await self._rows(shop_id, customer_id)
        orders: list[StoredOrder] = []
        for row in rows:
            stored = await self._order(shop_id, row.order_id)
            if stored is not None:
                orders.append(stored)
        log.info("customer data exported", shop_id=shop_id, customer_id=customer_id, by=actor.id, orders=len(orders))
        return CustomerExport(record, merged, orders, complete, self.clock.now())

    async def _order(self, shop_id: str, order_id: str) -> StoredOrder | None:
        try:
            return await self.changes.get(shop_id, order_id)
        except OrderNotFound:
            return None

    async def erase(
        self, shop_id: str, customer_id: str, *, actor: Actor, channel: str, correlation_id: str | None = None
    ) -> Erasure:
        """Anonymise the customer and their orders (money kept). Idempotent; raises CustomerNotFound,
        CustomerConflict (a record merged into another: erase that one)."""
        record = await self._record(shop_id, customer_id)
        merged = await self._merged(shop_id, customer_id)
        people = [record.state, *merged]
        owners = [p.customer_id for p in people]
        keys: list[str] = []
        for person in people:
            keys += person.keys()
        await self.erasure_index.forget(shop_id, keys, owners)
        await self.register.forget(
            shop_id, [e for p in people for e in p.emails], [ph for p in people for ph in p.phones]
        )
        rows, _ = await self._rows(shop_id, customer_id)
        for row in rows:
            await self._erase_order(shop_id, row.order_id, customer_id, actor, channel, correlation_id)
        for other in merged:
            await self.loop.run(shop_id, other.customer_id, lambda loaded: self._erased(loaded, None))
        event = self.events.new(
            CustomerErased(
                customer_id=customer_id,
                order_ids=[row.order_id for row in rows],
                merged_customer_ids=[m.customer_id for m in merged],
            ),
            shop_id=shop_id,
            actor=actor,
            correlation_id=correlation_id,
        )
        stored = await self.loop.run(
            shop_id,
            customer_id,
            lambda loaded: self._erased(loaded, event),
            missing=lambda: CustomerNotFound(customer_id),
        )
        log.info("customer data erased", shop_id=shop_id, customer_id=customer_id, by=actor.id, orders=len(rows))
        return Erasure(stored, len(rows), [m.customer_id for m in merged])

    def _erased(
        self, loaded: Loaded[CustomerRecord], event: Envelope[Any] | None
    ) -> Decision[CustomerRecord] | NoChange:
        if loaded.state.erased_at is not None:
            return NoChange("erased already")
        return Decision(erase_record(loaded.state, self.clock.now()), [event] if event is not None else [])

    async def _erase_order(
        self, shop_id: str, order_id: str, customer_id: str, actor: Actor, channel: str, correlation_id: str | None
    ) -> None:
        try:
            stored = await self.changes.act(
                shop_id,
                order_id,
                lambda s, acting: erase_order(s.order, customer_id, acting),
                actor=actor,
                channel=channel,
                expected_version=None,
                correlation_id=correlation_id,
            )
        except OrderNotFound:
            return  # a history row without its order: nothing to erase
        if stored.order.audit_archived:
            await self.archive.rewrite(shop_id, order_id, stored.order.audit_archived, erased_archive_entry)
