"""Low-stock thresholds per SKU: LowStockReached once per crossing of the SKU's total available.

The threshold is on the SKU's total across warehouses, which lives on several stock documents, so
it cannot ride in one stock update: after every stored stock change (`StockMovements.apply`) the
threshold is loaded, THEN the total summed, and `low` plus LowStockReached saved in ONE update
filtered on the version loaded (the command loop). Loading first means a later writer always
summed after every change an earlier writer saw; two racing evaluations cannot both announce, and
the loser decides again on fresh figures. Nothing is written while the state holds, so the hot
reservation path pays one indexed read per command (`evaluate_many`: the thresholds of every SKU
the command changed, by `_id`) when none of its SKUs has a threshold.
"""

from __future__ import annotations

from collections.abc import Sequence

from oms_contracts import Actor
from oms_contracts.messages.catalog import LowStockReached
from oms_runtime.commands import CommandLoop, Decision, Loaded, NoChange, RetryPolicy
from oms_runtime.errors import ConcurrencyError
from oms_runtime.events import EventFactory
from oms_runtime.paging import CursorPage
from oms_runtime.telemetry import get_logger

from oms_catalog.application.errors import UnknownReference
from oms_catalog.application.ports import SkuRepository, StockStore, Threshold, ThresholdRepository
from oms_catalog.domain.thresholds import Crossing, check_threshold, crossing

log = get_logger(__name__)


class _NoThreshold(LookupError):
    pass


class ThresholdService:
    def __init__(
        self,
        thresholds: ThresholdRepository,
        stock: StockStore,
        skus: SkuRepository,
        events: EventFactory,
        policy: RetryPolicy,
    ) -> None:
        self.thresholds = thresholds
        self.loop = CommandLoop(thresholds, policy, name="stock_thresholds")
        self.stock = stock
        self.skus = skus
        self.events = events

    async def totals(self, shop_id: str, skus: Sequence[str]) -> dict[str, int]:
        """Units of each SKU orders may still take, across every warehouse (one projected query)."""
        totals = dict.fromkeys(skus, 0)
        if not skus:
            return totals
        for levels in (await self.stock.availability(shop_id, skus)).values():
            for sku, available in levels.items():
                totals[sku] = totals.get(sku, 0) + max(available, 0)
        return totals

    async def set_threshold(self, shop_id: str, sku: str, threshold: int, actor: Actor) -> Threshold:
        """Raises UnknownReference (`sku`). A threshold set on a SKU already low fires at once."""
        if await self.skus.get(shop_id, sku) is None:
            raise UnknownReference("sku", f"the shop has no SKU {sku!r}")
        check_threshold(threshold)

        async def decide(loaded: Loaded[Threshold]) -> Decision[Threshold]:
            available = (await self.totals(shop_id, [sku]))[sku]
            low_before = loaded.state.low
            # A new threshold is judged afresh against the current stock.
            move = crossing(low_before, threshold, available)
            low = move is Crossing.REACHED or (low_before and move is Crossing.NONE)
            reached = LowStockReached(sku=sku, available=available, threshold=threshold)
            events = [self.events.new(reached, shop_id=shop_id, actor=actor)] if move is Crossing.REACHED else []
            return Decision(Threshold(shop_id, sku, threshold, low, available), events)

        stored = await self.loop.run(shop_id, sku, decide, new=lambda: Threshold(shop_id, sku, threshold))
        return stored.state

    async def evaluate(self, shop_id: str, sku: str) -> None:
        """After a stock change of `sku`: announce a crossing, or re-arm. Idempotent."""
        await self.evaluate_many(shop_id, [sku])

    async def evaluate_many(self, shop_id: str, skus: Sequence[str]) -> None:
        """`evaluate` of each SKU after one command changed them all: one read finds which have a
        threshold (the hot path's one read, for the whole command), then each of those is decided
        as `evaluate` decides it, from the version read."""
        found = await self.thresholds.load_many(shop_id, skus)
        for sku, loaded in found.items():

            async def decide(loaded: Loaded[Threshold], sku: str = sku) -> Decision[Threshold] | NoChange:
                current = loaded.state
                available = (await self.totals(shop_id, [sku]))[sku]
                move = crossing(current.low, current.threshold, available)
                if move is Crossing.NONE:
                    return NoChange()
                reached = LowStockReached(sku=sku, available=available, threshold=current.threshold)
                events = [self.events.new(reached, shop_id=shop_id)] if move is Crossing.REACHED else []
                return Decision(Threshold(shop_id, sku, current.threshold, move is Crossing.REACHED, available), events)

            try:
                await self.loop.run(shop_id, sku, decide, missing=_NoThreshold, loaded=loaded)
            except _NoThreshold:
                continue  # removed meanwhile
            except ConcurrencyError:
                # Other changes of this SKU kept winning; each of them evaluates after itself, so the
                # last one announces what is left to announce. The stock change itself is stored.
                log.info("threshold evaluation lost every race", shop_id=shop_id, sku=sku)

    async def list_low(self, shop_id: str, cursor: str | None, limit: int) -> CursorPage[Threshold]:
        """SKUs at or below their threshold, each with its available stock now."""
        page = await self.thresholds.page_low(shop_id, cursor, limit)
        totals = await self.totals(shop_id, [t.sku for t in page.items])
        return page.map(lambda t: Threshold(t.shop_id, t.sku, t.threshold, t.low, totals.get(t.sku, 0)))
