"""The gauges oms_orders_in_stage{shop,stage} and oms_orders_overdue{shop,stage}, right with any replica count.

They describe the whole database, not one process, so only one replica may export them: the one
holding the lease of the "stage-overdue" loop, whose step computes them (application/sla.py). This
collector lives in the runtime's own registry (`runtime.registry`, served with the process registry
at /metrics) and exports the last computed values only until `valid_until`, which the step sets
inside its lease: a replica that loses the lease (stopped renewing it, or another took it over)
stops exporting by the time another can hold it. A replica that never held it exports nothing.
So `sum(oms_orders_in_stage)` over all replicas equals the truth.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime

from oms_runtime.clock import Clock
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from oms_order.application.ports import StageCount


class StageGauges(Collector):
    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self._counts: list[StageCount] = []
        self._valid_until: datetime | None = None

    def publish(self, counts: Sequence[StageCount], valid_until: datetime) -> None:
        self._counts = list(counts)
        self._valid_until = valid_until

    def clear(self) -> None:
        self._counts = []
        self._valid_until = None

    @property
    def exporting(self) -> bool:
        return self._valid_until is not None and self.clock.now() < self._valid_until

    def describe(self) -> list[Metric]:
        return []

    def collect(self) -> Iterator[Metric]:
        if not self.exporting:
            return
        in_stage = GaugeMetricFamily(
            "oms_orders_in_stage",
            "Orders now in a stage (exported by the SLA loop's lease holder only)",
            labels=["shop", "stage"],
        )
        overdue = GaugeMetricFamily(
            "oms_orders_overdue",
            "Orders past their stage deadline (exported by the SLA loop's lease holder only)",
            labels=["shop", "stage"],
        )
        limit = GaugeMetricFamily(
            "oms_order_stage_time_limit_seconds",
            "A stage's time limit, for stages holding orders with one (exported by the SLA loop's lease holder only)",
            labels=["shop", "stage"],
        )
        for count in self._counts:
            in_stage.add_metric([count.shop_id, count.stage], count.in_stage)
            overdue.add_metric([count.shop_id, count.stage], count.overdue)
            if count.limit_seconds is not None:
                limit.add_metric([count.shop_id, count.stage], count.limit_seconds)
        yield in_stage
        yield overdue
        yield limit
