"""The SLA loop's wiring: the once-per-cluster loop "stage-overdue" and the gauges it exports."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import timedelta

from oms_runtime.runtime import ServiceRuntime, loop_lease_seconds

from oms_order.adapters.outbound.orders_mongo import ORDERS
from oms_order.adapters.outbound.sla_mongo import MongoSlaQueries
from oms_order.application.changes import OrderChanges
from oms_order.application.sla import SlaService
from oms_order.domain.order import Order
from oms_order.settings import OrderSettings
from oms_order.sla_gauges import StageGauges

LOOP_NAME = "stage-overdue"


def register_sla_loop(
    runtime: ServiceRuntime,
    changes: OrderChanges,
    settings: OrderSettings,
    *,
    bind: Callable[[list[Order]], Awaitable[None]] | None = None,
) -> SlaService:
    gauges = StageGauges(runtime.clock)
    runtime.registry.register(gauges)
    every = settings.sla_poll_seconds
    sla = SlaService(
        changes,
        MongoSlaQueries(runtime.store(ORDERS), runtime.db, bind=bind),
        gauges,
        runtime.clock,
        batch=settings.sla_batch,
        # Exported until one interval before the lease this step renewed can expire: by the time
        # another replica can take the lease over, this one has stopped exporting.
        gauges_valid_for=timedelta(seconds=loop_lease_seconds(every) - every),
    )
    runtime.loop(LOOP_NAME, sla.step, every_seconds=every, once_per_cluster=True)
    return sla
