"""Settings of the fulfilment service (`OMS_` environment variables)."""

from __future__ import annotations

from oms_runtime.settings import ServiceSettings


class FulfilmentSettings(ServiceSettings):
    service_name: str = "fulfilment"
    http_port: int = 8104
