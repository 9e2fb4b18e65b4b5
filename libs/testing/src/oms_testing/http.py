"""Headers the gateway adds, for tests that call a service's internal HTTP API directly."""

from __future__ import annotations

from oms_contracts import Actor, new_id
from oms_runtime.context import channel_header


def internal_headers(
    shop_id: str,
    *,
    role: str | None = "admin",
    kind: str = "staff",
    actor_id: str | None = None,
    token: str = "dev-internal-token",
    channel: str = "console",
) -> dict[str, str]:
    actor = Actor(kind=kind, id=actor_id or new_id(), role=role if kind == "staff" else None)  # type: ignore[arg-type]
    return {
        "x-oms-internal-token": token,
        "x-oms-shop-id": shop_id,
        "x-oms-actor": actor.model_dump_json(),
        "x-oms-channel": channel_header(channel),
    }
