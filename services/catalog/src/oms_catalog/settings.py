from __future__ import annotations

from oms_runtime.settings import ServiceSettings
from pydantic import Field


class CatalogSettings(ServiceSettings):
    service_name: str = "catalog"
    http_port: int = 8102
    reservation_attempts: int = Field(
        default=4, ge=1, description="Plans tried for one order before it is rejected as contended"
    )
    ledger_flush_seconds: float = Field(
        default=2.0, gt=0, description="How often leftover ledger entries move from stock documents to the ledger"
    )
