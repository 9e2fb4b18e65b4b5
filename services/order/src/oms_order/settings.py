from __future__ import annotations

from oms_runtime.order_link import DEV_SECRET
from oms_runtime.settings import ServiceSettings
from pydantic import Field

DEFAULT_ORDER_LINK_SECRET = DEV_SECRET  # the shared dev default (payment and fulfilment read the link too)


class OrderSettings(ServiceSettings):
    service_name: str = "order"
    # The shared group (its own events coming back, the projections pricing reads, returns: no latency
    # promise) waits this long after a small batch before fetching again; the events that move orders
    # read in a group of their own that waits only brief_linger_ms (ADR 0049).
    consumer_linger_ms: int = 200
    # ReserveStock is on the reservation path, so the relay waits only brief_linger_ms after a pass: at tens
    # of orders a second a pass then carries several orders' writes (ADR 0049, cpu8 amendment).
    relay_lingers_briefly: bool = True
    http_port: int = 8101
    # SLA loop (application/sla.py): how often it looks for overdue orders and recounts the gauges, and
    # how many orders one pass reports at most.
    sla_poll_seconds: float = 15.0
    sla_batch: int = 100
    # Audit entries an order document keeps; older ones move to the order_audit collection.
    audit_kept_in_order: int = Field(default=100, ge=4)
    # Order documents each process remembers as it last wrote or read them (ADR 0032): the start of the
    # next version-checked write and of the list row. 0 turns the memory off (every command reads).
    order_snapshots_kept: int = Field(default=2000, ge=0, le=100_000)
    # The customer's order-status link (adapters/outbound/order_link_jwt.py): its signing key, how
    # long a link lives, and the public base URL the link starts with (the gateway's).
    order_link_secret: str = Field(default=DEFAULT_ORDER_LINK_SECRET, min_length=32, description="Set a real one")
    order_link_days: int = Field(default=30, ge=1, le=365)
    public_base_url: str = Field(default="http://127.0.0.1:8000", max_length=300)
