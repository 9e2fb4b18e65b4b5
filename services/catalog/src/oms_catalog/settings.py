from __future__ import annotations

from oms_runtime.settings import ServiceSettings
from pydantic import Field


class CatalogSettings(ServiceSettings):
    service_name: str = "catalog"
    http_port: int = 8102
    reservation_attempts: int = Field(
        default=4, ge=1, description="Plans tried for one order before it is rejected as contended"
    )
    # Every change flushes its own ledger entry right after it; the loop only finishes what a crash left.
    ledger_flush_seconds: float = Field(
        default=10.0, gt=0, description="How often leftover ledger entries move from stock documents to the ledger"
    )
    reservation_expiry_seconds: float = Field(
        default=30.0, gt=0, description="How often unpaid reservations past the shop's TTL are released"
    )
    # The shop's catalog settings and warehouses, read by every reservation, are kept this long
    # (ADR 0027); a change through another process shows within it. 0: read every time.
    shop_reads_kept_seconds: float = Field(default=5.0, ge=0, description="How long shop settings reads are kept")
    import_max_bytes: int = Field(default=20 * 1024 * 1024, gt=0, description="Largest CSV file an import accepts")
    import_concurrency: int = Field(default=8, ge=1, le=64, description="Rows of one CSV import applied at once")
