from __future__ import annotations

from oms_runtime.settings import ServiceSettings
from pydantic import Field


class GroupBuySettings(ServiceSettings):
    service_name: str = "groupbuy"
    http_port: int = 8107
    # How often the closing-date and payment-deadline loops look (once per cluster, under a lease).
    deadline_scan_seconds: float = Field(default=60.0, gt=0)
