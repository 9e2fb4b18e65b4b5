"""Order metrics, on the process registry served at /metrics."""

from __future__ import annotations

from prometheus_client import Counter, Histogram

STAGE_DURATION_SECONDS = Histogram(
    "oms_order_stage_duration_seconds",
    "Time an order spent in a stage, observed when it leaves the stage",
    ["shop", "stage"],
    # From a reservation taking a second to a delivery taking days.
    buckets=(1, 5, 30, 60, 300, 900, 3600, 4 * 3600, 12 * 3600, 86400, 3 * 86400, 7 * 86400, 30 * 86400),
)
ORDERS_PLACED = Counter("oms_orders_placed_total", "Orders placed", ["shop", "channel"])
STAGE_OVERDUE_REPORTED = Counter(
    "oms_order_stage_overdue_total", "Stage entries reported overdue (OrderStageOverdue emitted)", ["shop", "stage"]
)
SLA_ORDERS_UNREADABLE = Counter(
    "oms_order_sla_unreadable_total",
    "Overdue orders the SLA loop could not read (bad document or unknown pipeline version) and skipped",
    ["shop"],
)
