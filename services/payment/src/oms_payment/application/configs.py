"""A shop's payment settings per currency: methods, card provider, prepayment, bank requisites, VAT, reminders."""

from __future__ import annotations

from oms_contracts import Actor
from oms_runtime.clock import Clock
from oms_runtime.telemetry import get_logger

from oms_payment.application.errors import ConfigNotFound
from oms_payment.application.ports import AuditEntry, PaymentConfigRepository
from oms_payment.domain.shop_config import ShopPaymentConfig

log = get_logger(__name__)


class PaymentConfigs:
    def __init__(self, *, configs: PaymentConfigRepository, clock: Clock) -> None:
        self.configs = configs
        self.clock = clock

    async def find(self, shop_id: str, currency: str) -> ShopPaymentConfig | None:
        """None: the shop has no setup for the currency (every method, no prepayment, no reminders)."""
        return await self.configs.get(shop_id, currency)

    async def get(self, shop_id: str, currency: str) -> ShopPaymentConfig:
        config = await self.configs.get(shop_id, currency)
        if config is None:
            raise ConfigNotFound(currency)
        return config

    async def list(self, shop_id: str) -> list[ShopPaymentConfig]:
        return await self.configs.list(shop_id)

    async def put(self, config: ShopPaymentConfig, actor: Actor) -> int:
        """Replace the setup of a currency; returns its new version."""
        audit = AuditEntry(
            at=self.clock.now(),
            action="config.put",
            actor=actor,
            details={"vat_rate": str(config.vat_rate) if config.vat_rate is not None else None},
        )
        return await self.configs.put(config, audit=audit)

    async def delete(self, shop_id: str, currency: str, actor: Actor) -> None:
        if not await self.configs.delete(shop_id, currency):
            raise ConfigNotFound(currency)
        log.info("payment config removed", shop_id=shop_id, currency=currency, by=actor.id)
