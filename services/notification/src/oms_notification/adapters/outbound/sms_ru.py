"""SMS through SMS.ru's HTTP API (ADR 0026): `POST <base>/sms/send` with `api_id`, `to`, `msg`, `from`
and `json=1`, answered with a status per number. https://sms.ru/api/send

Outcome per SMS.ru's status codes: 100 sent; a refusal of this message or number for good
(202 bad number, 203 no text, 204 sender not approved, 205 too long, 207 no route, 209 stop list,
212 bad encoding) is permanent; anything else (no funds, limits, 220 service unavailable, an account
or HTTP error) is retried by the delivery's backoff.
"""

from __future__ import annotations

from typing import Any

import httpx

from oms_notification.application.ports import PermanentDeliveryError

PERMANENT = frozenset({202, 203, 204, 205, 207, 209, 212})


class SmsRuError(RuntimeError):
    """SMS.ru did not take the message this time (retried)."""


class SmsRuGateway:
    def __init__(self, api_id: str, *, base_url: str = "https://sms.ru", timeout_seconds: float = 10.0) -> None:
        self.api_id = api_id
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout_seconds

    async def send(self, *, to_phone: str, text: str, sender: str | None, message_id: str) -> None:
        form = {"api_id": self.api_id, "to": to_phone, "msg": text, "json": "1", "partner_id": "oms"}
        if sender:
            form["from"] = sender
        async with httpx.AsyncClient(timeout=self.timeout) as client:
            try:
                response = await client.post(f"{self.base_url}/sms/send", data=form)
            except httpx.HTTPError as exc:
                raise SmsRuError(f"SMS.ru unreachable: {type(exc).__name__}") from exc
        if response.status_code != 200:
            raise SmsRuError(f"SMS.ru answered HTTP {response.status_code}")
        try:
            body: dict[str, Any] = response.json()
        except ValueError as exc:
            raise SmsRuError("SMS.ru answered something that is not JSON") from exc
        _outcome(body, to_phone)


def _outcome(body: dict[str, Any], to_phone: str) -> None:
    if body.get("status") != "OK":
        code = _code(body)
        raise SmsRuError(f"SMS.ru refused the request: {code} {body.get('status_text', '')}".strip())
    per_number = (body.get("sms") or {}).get(to_phone) or {}
    if per_number.get("status") == "OK":
        return
    code = _code(per_number)
    reason = f"SMS.ru refused {to_phone}: {code} {per_number.get('status_text', '')}".strip()
    if code in PERMANENT:
        raise PermanentDeliveryError(reason)
    raise SmsRuError(reason)


def _code(part: dict[str, Any]) -> int | None:
    try:
        return int(part.get("status_code"))  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
