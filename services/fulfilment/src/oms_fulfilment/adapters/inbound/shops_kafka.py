"""From the gateway: ShopCreated (own logical consumer `fulfilment.shops`), projected as the shop's name."""

from __future__ import annotations

from typing import Any

from oms_contracts import Envelope
from oms_contracts.messages.shop import ShopCreated
from oms_runtime.consumer import MessageConsumer, PermanentError

from oms_fulfilment.application.ports import ShopNames


def register(shops: MessageConsumer, shop_names: ShopNames) -> None:
    async def on_shop_created(envelope: Envelope[Any]) -> None:
        shop: ShopCreated = envelope.payload
        if shop.shop_id != envelope.shop_id:
            # A shop's announcement is about itself: anything else would name another tenant's sender.
            raise PermanentError(f"ShopCreated for shop {shop.shop_id} sent as shop {envelope.shop_id}")
        await shop_names.remember(shop.shop_id, shop.name, envelope.occurred_at)

    shops.on(ShopCreated, on_shop_created)
