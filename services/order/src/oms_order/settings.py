from __future__ import annotations

from oms_runtime.settings import ServiceSettings


class OrderSettings(ServiceSettings):
    service_name: str = "order"
    http_port: int = 8101
