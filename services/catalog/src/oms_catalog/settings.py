from __future__ import annotations

from oms_runtime.settings import ServiceSettings
from pydantic import Field


class CatalogSettings(ServiceSettings):
    service_name: str = "catalog"
    # The shared group (payments, shipments, returns, joint purchases: no latency promise) waits this long
    # after a small batch before fetching again; the stock commands read in a group of their own that waits
    # only brief_linger_ms (placed -> reserved; ADR 0049).
    consumer_linger_ms: int = 200
    # StockReserved is on the reservation path, so the relay waits only brief_linger_ms after a pass
    # (ADR 0049, cpu8 amendment).
    relay_lingers_briefly: bool = True
    http_port: int = 8102
    reservation_attempts: int = Field(
        default=4, ge=1, description="Plans tried for one order before it is rejected as contended"
    )
    # The changes of commands are booked by this process's booking pass, the others right after each
    # change; this loop only finishes what a crash (or a stop before the pass) left.
    ledger_flush_seconds: float = Field(
        default=10.0, gt=0, description="How often leftover ledger entries move from stock documents to the ledger"
    )
    # The stock changes of commands (reserve, give back, ship) wait this long to be booked together: the
    # changes a window brings to one stock document become its ledger entries and events in one update
    # (ADR 0043). Their StockLevelChanged leaves that much later; 0: every pass books what is queued.
    stock_booking_delay_seconds: float = Field(
        default=0.5, ge=0, le=5, description="How long stock changes of commands gather before they are booked"
    )
    reservation_expiry_seconds: float = Field(
        default=30.0, gt=0, description="How often unpaid reservations past the shop's TTL are released"
    )
    # The shop's catalog settings and warehouses, read by every reservation, are kept this long
    # (ADR 0027); a change through another process shows within it. 0: read every time.
    shop_reads_kept_seconds: float = Field(default=5.0, ge=0, description="How long shop settings reads are kept")
    import_max_bytes: int = Field(default=20 * 1024 * 1024, gt=0, description="Largest CSV file an import accepts")
    import_concurrency: int = Field(default=8, ge=1, le=64, description="Rows of one CSV import applied at once")
