from __future__ import annotations

from oms_runtime.settings import ServiceSettings


class MessagingSettings(ServiceSettings):
    service_name: str = "messaging"
    http_port: int = 8106
