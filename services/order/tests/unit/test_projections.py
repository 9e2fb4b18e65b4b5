"""The local projections pricing reads: stock levels of one batch written once per SKU and warehouse."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from oms_contracts import Actor, Envelope
from oms_contracts.messages.catalog import StockLevelChanged
from oms_order.application.projections import Projections

SHOP = "shop-1"
T0 = datetime(2026, 12, 3, 10, 0, tzinfo=UTC)


class RecordedStock:
    def __init__(self) -> None:
        self.written: list[tuple[str, str, str, int]] = []

    async def apply(self, shop_id: str, sku: str, warehouse_id: str, available: int, *, as_of: datetime) -> bool:
        self.written.append((shop_id, sku, warehouse_id, available))
        return True


def _level(sku: str, warehouse_id: str, available: int, at: datetime) -> Envelope[Any]:
    level = StockLevelChanged(sku=sku, warehouse_id=warehouse_id, available=available, reserved=0, on_hand=available)
    return Envelope.new(level, shop_id=SHOP, actor=Actor.system("catalog"), occurred_at=at)


async def test_levels_of_one_batch_are_written_once_per_sku_and_warehouse_newest_first() -> None:
    stock = RecordedStock()
    projections = Projections(prices=None, list_prices=None, rates=None, stock=stock)  # type: ignore[arg-type]

    await projections.on_stock_levels(
        [
            _level("TEA", "w1", 5, T0),
            _level("TEA", "w1", 3, T0 + timedelta(seconds=1)),
            _level("TEA", "w2", 7, T0),
            # Another SKU in the same warehouse is another level, not an older one of TEA's.
            _level("COFFEE", "w1", 9, T0),
        ]
    )

    assert sorted(stock.written) == [(SHOP, "COFFEE", "w1", 9), (SHOP, "TEA", "w1", 3), (SHOP, "TEA", "w2", 7)]
