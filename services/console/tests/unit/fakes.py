"""An in-memory stand-in for the gateway's API (the console's one port), answering like the real one."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from typing import Any

from oms_console.application.ports import ApiAnswer, Caller, Params, Streamed

PIPELINE: dict[str, Any] = {
    "key": "store",
    "version": 1,
    "name": "store",
    "cancel_stage": "cancelled",
    "stages": [
        {
            "key": "new",
            "names": {"en": "New", "ru": "Новый"},
            "responsible_role": "manager",
            "exits": [{"on": "stock_reserved", "to": None}],
        },
        {
            "key": "call_back",
            "names": {"en": "Call-back", "ru": "Перезвонить"},
            "responsible_role": "manager",
            "time_limit_seconds": 7200,
            "exits": [{"on": "manual", "to": None}],
        },
        {
            "key": "picking",
            "names": {"en": "Picking"},
            "responsible_role": "warehouse",
            "exits": [{"on": "all_packed", "to": None}],
        },
        {"key": "completed", "names": {"en": "Completed"}, "final": True, "exits": []},
        {"key": "cancelled", "names": {"en": "Cancelled"}, "final": True, "in_flow": False, "exits": []},
    ],
}


def order(order_id: str = "o1", version: int = 3, stage: str = "call_back", **extra: Any) -> dict[str, Any]:
    body = {
        "order_id": order_id,
        "number": 42,
        "stage": stage,
        "status": "New",
        "final": False,
        "channel": "web",
        "customer": {"name": "Anna Petrova", "email": "anna@example.com", "phone": "+7999"},
        "delivery_type": "courier",
        "payment_method": "cash_on_delivery",
        "address": {"country": "RU", "city": "Moscow", "line1": "Tverskaya 1"},
        "lines": [
            {
                "sku": "TEA",
                "name": "Tea",
                "quantity": 2,
                "unit_price": {"amount": "5.00", "currency": "RUB"},
                "total": {"amount": "10.00", "currency": "RUB"},
            }
        ],
        "totals": {
            "subtotal": {"amount": "10.00", "currency": "RUB"},
            "delivery": {"amount": "0.00", "currency": "RUB"},
            "grand_total": {"amount": "10.00", "currency": "RUB"},
        },
        "payment": {"status": "awaiting", "method": "cash_on_delivery"},
        "placed_at": "2026-01-01T10:00:00+00:00",
        "stage_entered_at": "2026-01-01T10:00:00+00:00",
        "stage_deadline": "2026-01-01T12:00:00+00:00",
        "problem": False,
        "manager_id": None,
        "stage_actions": {
            "stage_names": {"en": "Call-back"},
            "roles": ["admin", "manager"],
            "can_advance": True,
            "move_to": ["picking", "cancelled"],
        },
        "version": version,
    }
    body.update(extra)
    return body


class FakeGateway:
    """Answers by (method, path); records every call with the caller's token."""

    def __init__(self) -> None:
        self.answers: dict[tuple[str, str], ApiAnswer] = {}
        self.calls: list[tuple[str, str, Any, str]] = []
        self.sent_headers: list[dict[str, str]] = []  # per send(), the extra headers (an Idempotency-Key)
        self.on("GET", "/api/v1/pipelines", {"items": [{"key": "store", "name": "store"}], "next_cursor": None})
        self.on("GET", "/api/v1/pipelines/store", PIPELINE)
        self.on(
            "GET",
            "/api/v1/pipeline-settings",
            {"pipeline_for": {"courier": "store", "post": "store", "pickup": "pickup"}},
        )

    def on(self, method: str, path: str, body: Any, status: int = 200) -> None:
        self.answers[(method, path)] = ApiAnswer(status, body, {})

    def _answer(self, caller: Caller, method: str, path: str, params: Any) -> ApiAnswer:
        self.calls.append((method, path, list(params), caller.token))
        return self.answers.get((method, path), ApiAnswer(404, {"title": "Not found", "detail": f"no {path}"}, {}))

    async def get(self, caller: Caller, path: str, params: Params = ()) -> ApiAnswer:
        return self._answer(caller, "GET", path, params)

    async def send(
        self,
        caller: Caller,
        method: str,
        path: str,
        body: dict[str, Any] | None = None,
        params: Params = (),
        headers: Mapping[str, str] | None = None,
    ) -> ApiAnswer:
        self.calls.append((method, path, body if body is not None or not params else list(params), caller.token))
        self.sent_headers.append(dict(headers or {}))
        return self.answers.get((method, path), ApiAnswer(404, {"title": "Not found", "detail": f"no {path}"}, {}))

    async def open_stream(self, caller: Caller, path: str, params: Params = ()) -> Streamed:
        answer = self._answer(caller, "GET", path, params)

        async def chunks() -> AsyncIterator[bytes]:
            yield str(answer.body).encode()

        return Streamed(answer.status, {}, chunks())
