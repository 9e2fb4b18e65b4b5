"""An order's newest total, kept while it has no account: against the real MongoDB-protocol server."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from oms_contracts import Money, new_id
from oms_payment.adapters.outbound.accounts_mongo import PENDING_TOTALS, MongoPendingTotals
from oms_testing.infra import Infra
from pymongo import AsyncMongoClient

T0 = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)


async def test_the_newest_total_is_kept_and_given_only_when_newer_than_the_request(infra: Infra) -> None:
    client: AsyncMongoClient = AsyncMongoClient(infra.mongo_url, tz_aware=True)
    try:
        totals = MongoPendingTotals(client[f"test_pending_{new_id()[-8:]}"][PENDING_TOTALS])
        await totals.remember("s1", "o1", Money.of("1200.00", "RUB"), T0 + timedelta(seconds=5))
        await totals.remember("s1", "o1", Money.of("1100.00", "RUB"), T0 + timedelta(seconds=3))  # late, older
        assert await totals.newer_than("s1", "o1", T0) == Money.of("1200.00", "RUB")
        assert await totals.newer_than("s1", "o1", T0 + timedelta(seconds=5)) is None  # the request is as new
        assert await totals.newer_than("s2", "o1", T0) is None  # another shop's order of the same id
    finally:
        await client.close()
