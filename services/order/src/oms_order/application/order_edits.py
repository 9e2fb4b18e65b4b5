"""Manager actions on an order: lines, delivery, discounts, promo code, responsible manager, notes,
delivery wishes, clearing the problem flag. Each is one `OrderChanges.act` (optimistic: 409 on a
stale `expected_version`, else decided again after a lost race)."""

from __future__ import annotations

from typing import Literal, TypedDict, Unpack

from oms_contracts import Actor, new_id
from oms_contracts.limits import Amount
from oms_contracts.messages.common import Address, DeliveryType, DeliveryWishes, Sku
from pydantic import BaseModel, Field

from oms_order.application.changes import OrderChanges
from oms_order.application.errors import LineNotFound
from oms_order.application.ports import PromoCodes, StockLevels, StoredOrder
from oms_order.application.pricing import Pricing, customer_key
from oms_order.domain import edits
from oms_order.domain.order import Acting, Decision
from oms_order.domain.pricing import Discount, FieldError, InvalidOrder, delivery_address, promo_discount


class NewDiscount(BaseModel):
    kind: Literal["amount", "percent"]
    value: Amount = Field(gt=0, description="Amount in the order's currency, or percent (≤ 100)")
    reason: str = Field(min_length=1, max_length=500)
    sku: Sku | None = Field(default=None, description="Discount this line only; none: the whole order's goods")


class ActingAs(TypedDict):
    """Who edits (and from where), and the version they saw (None: apply to the newest)."""

    actor: Actor
    channel: str
    expected_version: int | None
    correlation_id: str | None


class OrderEdits:
    def __init__(self, changes: OrderChanges, pricing: Pricing, promos: PromoCodes, stock: StockLevels) -> None:
        self.changes = changes
        self.pricing = pricing
        self.promos = promos
        self.stock = stock

    # ---- lines ----------------------------------------------------------------------------

    async def change_lines(
        self,
        shop_id: str,
        order_id: str,
        sku: str,
        quantity: int | None,
        *,
        mode: Literal["add", "set", "remove"],
        **kw: Unpack[ActingAs],
    ) -> StoredOrder:
        current = await self.changes.get(shop_id, order_id)
        order = current.order
        existing = {line.sku: line for line in order.lines}
        if mode == "add" and sku in existing:
            raise InvalidOrder([FieldError("sku", f"SKU {sku} is on the order already; change its quantity")])
        if mode != "add" and sku not in existing:
            raise LineNotFound(f"SKU {sku} is not on order {order_id}")
        new_line = (
            await self.pricing.line(shop_id, order, sku, quantity)
            if mode != "remove" and quantity is not None
            else None
        )
        available = await self.stock.available(shop_id, [sku])
        change_id = new_id()

        def decide(stored: StoredOrder, acting: Acting) -> Decision:
            lines = [line for line in stored.order.lines if line.sku != sku]
            if new_line is not None:
                if mode == "set":
                    position = [line.sku for line in stored.order.lines].index(sku)
                    lines.insert(position, new_line)
                else:
                    lines.append(new_line)
            return edits.change_lines(stored.order, lines, change_id=change_id, available=available, acting=acting)

        return await self.changes.act(shop_id, order_id, decide, **kw)

    # ---- delivery, discounts, promo -------------------------------------------------------

    async def change_delivery(
        self,
        shop_id: str,
        order_id: str,
        delivery_type: DeliveryType,
        address: Address | None,
        method_code: str | None,
        **kw: Unpack[ActingAs],
    ) -> StoredOrder:
        current = await self.changes.get(shop_id, order_id)
        new_address = delivery_address(delivery_type, address or current.order.address)
        rate = await self.pricing.rate_for(shop_id, delivery_type, current.order.currency, method_code)
        return await self.changes.act(
            shop_id, order_id, lambda s, a: edits.change_delivery(s.order, delivery_type, new_address, rate, a), **kw
        )

    async def add_discount(self, shop_id: str, order_id: str, body: NewDiscount, **kw: Unpack[ActingAs]) -> StoredOrder:
        discount = Discount(id=new_id(), kind=body.kind, value=body.value, reason=body.reason, sku=body.sku)
        return await self.changes.act(shop_id, order_id, lambda s, a: edits.add_discount(s.order, discount, a), **kw)

    async def remove_discount(
        self, shop_id: str, order_id: str, discount_id: str, **kw: Unpack[ActingAs]
    ) -> StoredOrder:
        before = await self.changes.get(shop_id, order_id)
        stored = await self.changes.act(
            shop_id, order_id, lambda s, a: edits.remove_discount(s.order, discount_id, a), **kw
        )
        if before.order.promo_code and stored.order.promo_code is None:
            await self.promos.release_use(shop_id, before.order.promo_code, order_id)
        return stored

    async def apply_promo(self, shop_id: str, order_id: str, code: str, **kw: Unpack[ActingAs]) -> StoredOrder:
        current = await self.changes.get(shop_id, order_id)
        order = current.order
        promo = await self.pricing.usable_promo(shop_id, code, order.totals.subtotal, "code")
        if order.promo_code == promo.code:
            return current
        await self.pricing.take_use(shop_id, promo, customer_key(order), order_id, "code")
        discount = promo_discount(promo, new_id())
        try:
            stored = await self.changes.act(
                shop_id, order_id, lambda s, a: edits.apply_promo(s.order, discount, a), **kw
            )
        except BaseException:
            await self.promos.release_use(shop_id, promo.code, order_id)
            raise
        if order.promo_code:
            await self.promos.release_use(shop_id, order.promo_code, order_id)
        return stored

    # ---- people and words -----------------------------------------------------------------

    async def assign_manager(
        self, shop_id: str, order_id: str, manager_id: str | None, **kw: Unpack[ActingAs]
    ) -> StoredOrder:
        return await self.changes.act(
            shop_id, order_id, lambda s, a: edits.assign_manager(s.order, manager_id, a), **kw
        )

    async def add_note(self, shop_id: str, order_id: str, text: str, **kw: Unpack[ActingAs]) -> StoredOrder:
        return await self.changes.act(shop_id, order_id, lambda s, a: edits.add_note(s.order, text, a), **kw)

    async def set_wishes(
        self, shop_id: str, order_id: str, wishes: DeliveryWishes, **kw: Unpack[ActingAs]
    ) -> StoredOrder:
        """Raises InvalidOrder when the preferred window ends before it starts."""
        if wishes.preferred_from and wishes.preferred_to and wishes.preferred_to <= wishes.preferred_from:
            raise InvalidOrder([FieldError("preferred_to", "must be after preferred_from")])
        return await self.changes.act(shop_id, order_id, lambda s, a: edits.set_wishes(s.order, wishes, a), **kw)

    async def resolve_problem(self, shop_id: str, order_id: str, comment: str, **kw: Unpack[ActingAs]) -> StoredOrder:
        return await self.changes.act(shop_id, order_id, lambda s, a: edits.resolve_problem(s.order, comment, a), **kw)


__all__ = ["NewDiscount", "OrderEdits"]
