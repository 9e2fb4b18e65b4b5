"""Promo-code administration, and giving a use back when an order that used one ends without a sale."""

from __future__ import annotations

from oms_contracts import Actor, Envelope
from oms_contracts.messages.order import OrderStageChanged
from oms_runtime.clock import Clock
from oms_runtime.telemetry import get_logger

from oms_order.application.errors import PromoNotFound
from oms_order.application.ports import OrderRepository, PromoCodePage, PromoCodes
from oms_order.domain.pricing import FieldError, InvalidOrder, PromoCode

log = get_logger(__name__)

RELEASES_PROMO_ON = ("cancelled", "out_of_stock")
"""Final stages in which an order gives its promo-code use back."""


class PromoCodeAdmin:
    def __init__(self, promos: PromoCodes, orders: OrderRepository, clock: Clock) -> None:
        self.promos = promos
        self.orders = orders
        self.clock = clock

    async def create(self, shop_id: str, promo: PromoCode, actor: Actor) -> tuple[PromoCode, int]:
        """Raises InvalidOrder naming the field, or DuplicatePromoCode."""
        errors: list[FieldError] = []
        if promo.kind == "amount" and promo.currency is None:
            errors.append(FieldError("currency", "required for an amount code"))
        if promo.kind == "percent" and promo.value > 100:
            errors.append(FieldError("value", "a percent code is at most 100"))
        if promo.valid_from and promo.valid_to and promo.valid_to <= promo.valid_from:
            errors.append(FieldError("valid_to", "must be after valid_from"))
        if errors:
            raise InvalidOrder(errors)
        await self.promos.create(shop_id, promo, at=self.clock.now(), by=actor.id)
        log.info("promo code created", shop_id=shop_id, code=promo.code, by=actor.id)
        return promo, 0

    async def get(self, shop_id: str, code: str) -> tuple[PromoCode, int]:
        found = await self.promos.get(shop_id, code)
        if found is None:
            raise PromoNotFound(code)
        return found

    async def page(self, shop_id: str, *, cursor: str | None, limit: int) -> PromoCodePage:
        return await self.promos.page(shop_id, cursor=cursor, limit=limit)

    async def disable(self, shop_id: str, code: str, actor: Actor) -> tuple[PromoCode, int]:
        found = await self.promos.disable(shop_id, code)
        if found is None:
            raise PromoNotFound(code)
        log.info("promo code disabled", shop_id=shop_id, code=code, by=actor.id)
        return found

    @staticmethod
    def releases_use(envelope: Envelope[OrderStageChanged]) -> bool:
        """Whether the stage change can give a promo-code use back (the consumer skips the others)."""
        e = envelope.payload
        return e.final and e.to_stage in RELEASES_PROMO_ON

    async def on_order_stage_changed(self, envelope: Envelope[OrderStageChanged]) -> None:
        """A cancelled (or out-of-stock) order gives its promo-code use back; idempotent."""
        e = envelope.payload
        if not self.releases_use(envelope):
            return
        stored = await self.orders.get(envelope.shop_id, e.order_id)
        if stored is not None and stored.order.promo_code:
            await self.promos.release_use(envelope.shop_id, stored.order.promo_code, e.order_id)
