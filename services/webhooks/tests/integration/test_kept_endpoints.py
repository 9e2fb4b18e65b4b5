"""Every event reads its shop's endpoints: they are kept a few seconds (ADR 0027), so a shop without
endpoints costs no round trip per event; a change through this process is seen at once, through
another replica within the kept seconds (round trips counted against the real store)."""

from __future__ import annotations

from datetime import timedelta

from oms_contracts import new_id
from oms_runtime.commands import RetryPolicy
from oms_runtime.runtime import ServiceRuntime
from oms_testing import eventually
from oms_testing.commands import record_commands  # before any client is built: it counts their commands
from oms_testing.infra import Infra
from oms_webhooks.adapters.outbound.deliveries_mongo import LANES, LanesMongo
from oms_webhooks.adapters.outbound.endpoints_mongo import ENDPOINTS, EndpointsMongo
from oms_webhooks.application.endpoints import Endpoints
from oms_webhooks.settings import WebhooksSettings

LIMIT = 20


async def test_a_shops_endpoints_are_read_once_and_a_change_is_seen_at_once_here_and_soon_elsewhere(
    infra: Infra, topic_prefix: str
) -> None:
    shared = infra.settings(WebhooksSettings, topic_prefix, "webhooks")
    settings = shared.model_copy(update={"mongo_db": f"test_webhooks_kept_{new_id()[-8:]}"})
    here, there = ServiceRuntime(settings), ServiceRuntime(settings)  # two replicas, not started
    kept_here = EndpointsMongo(here.store(ENDPOINTS), kept_seconds=60)
    kept_there = EndpointsMongo(there.store(ENDPOINTS), kept_seconds=0.5)
    endpoints = Endpoints(
        kept_here,
        LanesMongo(here.db[LANES]),
        here.clock,
        RetryPolicy(),
        allow_private_urls=True,
        max_per_shop=LIMIT,
        rotation_grace=timedelta(hours=1),
        disable_after=5,
    )
    shop = f"shop-{new_id()}"
    try:
        with record_commands(settings.database_name) as log:
            for _ in range(5):  # five events of a shop without endpoints
                assert await kept_here.of_shop(shop, LIMIT) == []
        assert log.count("find", ENDPOINTS) == 1
        assert await kept_there.of_shop(shop, LIMIT) == []

        made = await endpoints.create(shop, url="https://shop.example.com/hooks", event_types=["OrderPlaced"])
        # Through this replica: the next event sees it without waiting.
        assert [e.endpoint_id for e in await kept_here.of_shop(shop, LIMIT)] == [made.endpoint_id]
        # Through the other one: within its kept seconds.
        seen = await eventually(lambda: _ids(kept_there, shop), timeout=10)
        assert seen == [made.endpoint_id]

        await endpoints.update(shop, made.endpoint_id, event_types=["PaymentCaptured"])
        [edited] = await kept_here.of_shop(shop, LIMIT)
        assert edited.event_types == ("PaymentCaptured",)
    finally:
        await here.mongo.close()
        await there.mongo.close()


async def _ids(repository: EndpointsMongo, shop: str) -> list[str]:
    return [e.endpoint_id for e in await repository.of_shop(shop, LIMIT)]
