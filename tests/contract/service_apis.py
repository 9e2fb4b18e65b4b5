"""Every service's OpenAPI document, built in-process from its `create_app` (no Kafka or MongoDB needed:
the apps are built, never started)."""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from functools import cache
from typing import Any

from oms_gateway.domain.routing import Service
from oms_runtime.settings import ServiceSettings

HTTP_METHODS = ("get", "post", "put", "patch", "delete")


@dataclass(frozen=True)
class Operation:
    service: Service
    method: str  # upper case
    path: str  # the service's path template, e.g. /orders/{order_id}/cancel
    spec: dict[str, Any]


def _settings_class(service: Service) -> type[ServiceSettings]:
    module = importlib.import_module(f"oms_{service.value}.settings")
    for value in vars(module).values():
        if isinstance(value, type) and issubclass(value, ServiceSettings) and value is not ServiceSettings:
            return value
    raise LookupError(f"no settings class in oms_{service.value}.settings")


@cache
def service_document(service: Service) -> dict[str, Any]:
    create_app = importlib.import_module(f"oms_{service.value}.bootstrap").create_app
    app = create_app(_settings_class(service)())
    return dict(app.openapi_schema.to_schema())


def operations() -> list[Operation]:
    found = []
    for service in Service:
        for path, item in service_document(service)["paths"].items():
            for method in HTTP_METHODS:
                if method in item:
                    found.append(Operation(service, method.upper(), path, item[method]))
    return found
