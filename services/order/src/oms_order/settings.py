from __future__ import annotations

from oms_runtime.settings import ServiceSettings
from pydantic import Field


class OrderSettings(ServiceSettings):
    service_name: str = "order"
    http_port: int = 8101
    # SLA loop (application/sla.py): how often it looks for overdue orders and recounts the gauges, and
    # how many orders one pass reports at most.
    sla_poll_seconds: float = 15.0
    sla_batch: int = 100
    # Audit entries an order document keeps; older ones move to the order_audit collection.
    audit_kept_in_order: int = Field(default=100, ge=4)
