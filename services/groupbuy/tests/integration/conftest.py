"""The groupbuy app for the integration tests of this directory, with a clock the tests move."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from litestar.testing import AsyncTestClient
from oms_groupbuy.bootstrap import create_app
from oms_groupbuy.settings import GroupBuySettings
from oms_runtime.clock import FixedClock
from oms_testing.infra import Infra

START = datetime.now(UTC).replace(microsecond=0)
CLOCK = FixedClock(START)


@pytest.fixture(scope="module")
def clock() -> FixedClock:
    return CLOCK


@pytest.fixture(scope="module")
async def client(infra: Infra, topic_prefix: str, clock: FixedClock) -> AsyncIterator[AsyncTestClient[Any]]:
    settings = infra.settings(
        GroupBuySettings, topic_prefix, "groupbuy", relay_poll_seconds=0.1, deadline_scan_seconds=0.2
    )
    async with AsyncTestClient(create_app(settings, clock=clock)) as c:
        yield c


def purchase_body(closes_in: timedelta = timedelta(days=7)) -> dict[str, Any]:
    return {
        "title": "Winter dresses",
        "supplier": "Ivanovo Textile",
        "closes_at": (CLOCK.now() + closes_in).isoformat(),
        "currencies": ["RUB", "UAH"],
        "offers": [
            {
                "sku": f"DRESS-{size}",
                "name": f"Dress {size}",
                "prices": [{"amount": "1000.00", "currency": "RUB"}, {"amount": "450.00", "currency": "UAH"}],
                "weight_grams": 300,
            }
            for size in ("S", "M", "L")
        ]
        + [
            {
                "sku": "SCARF",
                "name": "Scarf",
                "prices": [{"amount": "333.33", "currency": "RUB"}, {"amount": "150.00", "currency": "UAH"}],
                "weight_grams": 100,
            }
        ],
        "rows": [{"id": "dress", "name": "Dress S-M-L", "positions": ["DRESS-S", "DRESS-M", "DRESS-L"]}],
        "options": [
            {"id": "post", "kind": "delivery", "name": "Post", "price": {"amount": "250.00", "currency": "RUB"}}
        ],
        "fee_percent": "15",
    }
