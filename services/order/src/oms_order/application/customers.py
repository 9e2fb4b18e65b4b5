"""Customer records (CRM): one per person per shop, built from OrderPlaced (the service's own event,
consumed in a group of its own), matched by normalised email and phone; managers edit, search and
merge them (the merged record's orders follow)."""

from __future__ import annotations

from oms_contracts import Actor, Envelope
from oms_contracts.messages.order import OrderPlaced
from oms_runtime.clock import Clock
from oms_runtime.commands import CommandLoop, CommandRepository, Decision, Loaded, NoChange, RetryPolicy

from oms_order.application.ports import CustomerIndex, CustomerOrderRow, CustomerPage
from oms_order.domain.customers import (
    CustomerConflict,
    CustomerEdit,
    CustomerRecord,
    contact_keys,
    edit,
    merge,
    merged,
    new_record,
    record_order,
)


class CustomerNotFound(LookupError):
    def __init__(self, customer_id: str) -> None:
        super().__init__(f"no customer {customer_id}")


def customer_id_for(order_id: str) -> str:
    """The id of the record a person's first order creates: deterministic, so a replay makes no second.
    The order's placement gives the contact keys new to the shop to it (ADR 0036)."""
    return f"cus-{order_id}"


class CustomerRecords:
    def __init__(
        self, records: CommandRepository[CustomerRecord], index: CustomerIndex, clock: Clock, policy: RetryPolicy
    ) -> None:
        self.loop: CommandLoop[CustomerRecord] = CommandLoop(records, policy, name="customers")
        self.records = records
        self.index = index
        self.clock = clock

    async def on_order_placed(self, envelope: Envelope[OrderPlaced]) -> None:
        """Attach the order to its customer's record (a new one for a new person); exactly once."""
        shop_id, placed = envelope.shop_id, envelope.payload
        keys = contact_keys(str(placed.customer.email), placed.customer.phone)
        own = customer_id_for(placed.order_id)
        # The placement gave the keys new to the shop to this order's own record id (ADR 0036).
        owners = await self.index.owners(shop_id, keys)
        # The oldest record holding any key is this person's (two records are a manager's merge). Ids
        # follow the UUIDv7 order ids, so of two first orders of one person racing, both pick the
        # earlier one's, and the later one moves its keys there.
        customer_id = min(owners.values()) if owners else own
        for key in keys:
            if key not in owners:  # registered before the register held record ids, or forgotten since
                holder = await self.index.claim(shop_id, key, customer_id)
                if not owners and holder != customer_id:
                    customer_id = holder  # a concurrent first order of the same person won the key
        given_here = [key for key in keys if owners.get(key) == own]
        if customer_id != own and given_here:
            await self.index.move(shop_id, given_here, own, customer_id)
        at = envelope.occurred_at
        # Every key given to this order's own id at its placement: a new person, whose record nobody
        # made yet — decided on as new without reading it first. Made already (this message replayed,
        # or a racing first order of the same person got here first), the insert clashes and the loop
        # reads it and decides again.
        new_person = customer_id == own and len(given_here) == len(keys)
        stored = await self.loop.run(
            shop_id,
            customer_id,
            lambda loaded: Decision(
                record_order(
                    loaded.state,
                    name=placed.customer.name,
                    email=str(placed.customer.email),
                    phone=placed.customer.phone,
                    address=placed.address,
                    group=placed.customer.group,
                    total=placed.totals.grand_total,
                    at=at,
                ),
                [],
            ),
            applied_event_id=envelope.event_id,
            new=lambda: new_record(customer_id, shop_id, placed.customer.name, at),
            loaded=Loaded(new_record(own, shop_id, placed.customer.name, at), 0) if new_person else None,
        )
        await self.index.add_order(
            shop_id,
            CustomerOrderRow(
                order_id=placed.order_id,
                customer_id=stored.state.merged_into or customer_id,
                number=placed.number,
                placed_at=at,
                grand_total=placed.totals.grand_total,
                status=placed.status,
            ),
        )

    async def get(self, shop_id: str, customer_id: str) -> Loaded[CustomerRecord]:
        loaded = await self.records.load(shop_id, customer_id)
        if loaded is None:
            raise CustomerNotFound(customer_id)
        return loaded

    async def search(self, shop_id: str, query: str | None, *, cursor: str | None, limit: int) -> CustomerPage:
        return await self.index.search(shop_id, query, cursor=cursor, limit=limit)

    async def orders(self, shop_id: str, customer_id: str, *, cursor: str | None, limit: int) -> CustomerPage:
        await self.get(shop_id, customer_id)
        return await self.index.orders(shop_id, customer_id, cursor=cursor, limit=limit)

    async def edit(
        self, shop_id: str, customer_id: str, change: CustomerEdit, *, actor: Actor, expected_version: int | None
    ) -> Loaded[CustomerRecord]:
        stored = await self.loop.run(
            shop_id,
            customer_id,
            lambda loaded: Decision(edit(loaded.state, change), []),
            expected_version=expected_version,
            missing=lambda: CustomerNotFound(customer_id),
        )
        await self.index.repoint(shop_id, stored.state.keys(), customer_id)
        return stored

    async def merge(
        self, shop_id: str, into_id: str, other_id: str, *, actor: Actor, expected_version: int | None
    ) -> Loaded[CustomerRecord]:
        """`other` is merged into `into`: its contacts and totals move, its orders follow, it stays as a
        pointer (`merged_into`). Each step is idempotent, so a retried merge completes a partial one."""
        other = await self.get(shop_id, other_id)
        if other.state.merged_into not in (None, into_id):
            raise CustomerConflict(f"customer {other_id} was merged into {other.state.merged_into}")
        into = await self.loop.run(
            shop_id,
            into_id,
            lambda loaded: Decision(merge(loaded.state, other.state), []),
            expected_version=expected_version,
            # Counted once per merged record, even when the merge is retried.
            applied_event_id=f"merge:{other_id}",
            missing=lambda: CustomerNotFound(into_id),
        )

        def mark(loaded: Loaded[CustomerRecord]) -> Decision[CustomerRecord] | NoChange:
            if loaded.state.merged_into == into_id:
                return NoChange("merged already")
            return Decision(merged(loaded.state, into_id), [])

        await self.loop.run(shop_id, other_id, mark, missing=lambda: CustomerNotFound(other_id))
        await self.index.repoint(shop_id, other.state.keys(), into_id)
        await self.index.move_orders(shop_id, other_id, into_id)
        return into
