"""The sandbox sends its webhook after answering the customer, as a real provider does: asynchronously,
retried a bounded number of times with backoff while the receiver is unreachable or failing."""

from __future__ import annotations

import asyncio

import httpx
from oms_runtime.telemetry import get_logger

log = get_logger(__name__)


async def deliver_webhook(
    url: str,
    body: bytes,
    headers: dict[str, str],
    *,
    attempts: int,
    backoff_seconds: float,
    request_timeout: float = 5.0,
) -> bool:
    """POST the webhook until a 2xx or a 4xx (the receiver refused it for good); True if delivered."""
    async with httpx.AsyncClient(timeout=request_timeout) as client:
        for attempt in range(1, attempts + 1):
            try:
                response = await client.post(url, content=body, headers=headers)
                if response.is_success:
                    return True
                if 400 <= response.status_code < 500 and response.status_code not in (408, 409, 429):
                    log.warning("sandbox webhook refused", url=url, status=response.status_code)
                    return False
                log.warning("sandbox webhook failed", url=url, status=response.status_code, attempt=attempt)
            except httpx.HTTPError as exc:
                log.warning("sandbox webhook unreachable", url=url, error=str(exc), attempt=attempt)
            if attempt < attempts:
                await asyncio.sleep(backoff_seconds * 2 ** (attempt - 1))
    log.error("sandbox webhook given up", url=url, attempts=attempts)
    return False
