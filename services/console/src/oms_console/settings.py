"""Console settings (`OMS_…` environment variables). The console has no database and no Kafka: the
gateway's public API is all it talks to (ADR 0019)."""

from __future__ import annotations

from oms_runtime.settings import ServiceSettings
from pydantic import Field


class ConsoleSettings(ServiceSettings):
    service_name: str = "console"
    http_port: int = 8108
    gateway_url: str = Field(default="http://127.0.0.1:8000", description="The gateway the console calls as the user")
    gateway_timeout_seconds: float = Field(default=10.0, gt=0)
    gateway_max_connections: int = Field(default=100, ge=1)
    board_page_size: int = Field(default=20, ge=1, le=100, description="Cards per board column page")
    list_page_size: int = Field(default=50, ge=1, le=100, description="Rows per order list page")
