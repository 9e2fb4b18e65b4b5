"""Every service's app, built as its `serve` role builds it (no lifespan: nothing here reaches Kafka or MongoDB)."""

from __future__ import annotations

import importlib
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from litestar import Litestar

SERVICES = ["gateway", "order", "catalog", "payment", "fulfilment", "notification", "messaging", "groupbuy", "webhooks"]

ALERTMANAGER_TOKEN = "framework-alertmanager-token"


def build_app(service: str) -> Litestar:
    bootstrap = importlib.import_module(f"oms_{service}.bootstrap")
    settings_module = importlib.import_module(f"oms_{service}.settings")
    [settings_class] = [
        value
        for name, value in vars(settings_module).items()
        if name.endswith("Settings") and name != "ServiceSettings" and isinstance(value, type)
    ]
    # The Alertmanager receiver answers 503 until it has a token: give it one, so its body is judged.
    overrides = {"alertmanager_token": ALERTMANAGER_TOKEN} if service == "notification" else {}
    app: Litestar = bootstrap.create_app(settings_class(**overrides))
    return app


@dataclass(frozen=True)
class BodyRoute:
    service: str
    method: str
    path: str
    """With every path parameter filled in."""
    handler: Any

    def __str__(self) -> str:
        return f"{self.service} {self.method} {self.path}"


def body_routes(service: str, app: Litestar) -> Iterator[BodyRoute]:
    """Every route of `app` whose handler reads a request body."""
    for route in app.routes:
        for handler in getattr(route, "route_handlers", ()):
            if "data" not in handler.parsed_fn_signature.parameters:
                continue
            # A value each parameter's type accepts, so the route is found ("x" is no int).
            path = re.sub(r"\{(\w+)(:\w+)?\}", lambda m: "1" if m.group(2) == ":int" else "x", route.path)
            for method in sorted(handler.http_methods):
                yield BodyRoute(service, method, path, handler)
