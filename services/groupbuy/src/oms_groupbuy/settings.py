from __future__ import annotations

from oms_runtime.settings import ServiceSettings
from pydantic import Field


class GroupBuySettings(ServiceSettings):
    service_name: str = "groupbuy"
    # No latency promise on the events it consumes (payments, purchase orders, staff: they update joint
    # purchases people look at, no flow waits on them). Its consumer group waits this long after a small
    # batch, so that the next fetch brings more (runtime consumer module, "Lingering").
    consumer_linger_ms: int = 200
    http_port: int = 8107
    # How often the closing-date and payment-deadline loops look (once per cluster, under a lease).
    deadline_scan_seconds: float = Field(default=60.0, gt=0)
