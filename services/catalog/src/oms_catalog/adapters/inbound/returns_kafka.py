"""RestockReturn from fulfilment, its own logical consumer `catalog.returns`."""

from __future__ import annotations

from typing import Any

from oms_contracts import Envelope
from oms_contracts.messages.catalog import RestockReturn
from oms_runtime.consumer import PermanentError
from oms_runtime.runtime import ServiceRuntime

from oms_catalog.application.return_stock import ReturnStockService, UnknownWarehouse


def register_return_stock(runtime: ServiceRuntime, service: ReturnStockService) -> None:
    async def on_restock(envelope: Envelope[Any]) -> None:
        try:
            await service.restock(envelope)
        except UnknownWarehouse as exc:
            raise PermanentError(str(exc)) from exc

    runtime.consumer("returns").on(RestockReturn, on_restock)
