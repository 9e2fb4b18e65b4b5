"""The sandbox charges each attempt of a checkout once: a second submit of the same attempt is refused
until the provider's word on the first one is recorded. The service here sends its webhooks nowhere,
so the test decides when a charge's outcome arrives (over the real signed webhook endpoint)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from oms_contracts import new_id
from oms_testing.infra import Infra
from oms_testing.kafka import TopicReader

from .conftest import Service, running_service
from .test_card_payments import APPROVED, DECLINED, requested_card_payment, signed, webhook_body


@pytest.fixture(scope="module")
async def silent_sandbox(infra: Infra, topic_prefix: str) -> AsyncIterator[Service]:
    """A payment service whose sandbox webhooks go nowhere (404): a charge stays unprocessed until the
    test delivers its outcome itself."""
    async with running_service(
        infra, topic_prefix, "paysilent", webhook_path="/nowhere", sandbox_webhook_attempts=1
    ) as running:
        yield running


async def test_a_second_submit_of_one_attempt_is_refused_until_its_decline_is_recorded(
    silent_sandbox: Service, payment_events: TopicReader, shop_id: str
) -> None:
    service = silent_sandbox
    order_id = new_id()
    payment_id, token = await requested_card_payment(service, payment_events, shop_id, order_id)
    card = {"card_number": DECLINED, "expiry": "12/35", "cvc": "123"}
    first = await service.http.post(f"/sandbox/checkout/{payment_id}", params={"token": token}, json=card)
    assert first.status_code == 200

    twice = await service.http.post(f"/sandbox/checkout/{payment_id}", params={"token": token}, json=card)
    assert twice.status_code == 409
    assert "being processed" in twice.json()["detail"]
    page = await service.http.post(f"/sandbox/checkout/{payment_id}", params={"token": token}, data=card)
    assert page.status_code == 409 and 'data-outcome="pending"' in page.text
    assert (await service.payment(shop_id, payment_id))["attempts"] == 0

    # The provider's word on the first card arrives: declined. The next attempt is open.
    decline = webhook_body(payment_id, outcome="failed")
    applied = await service.http.post("/webhooks/sandbox", content=decline, headers=signed(service, decline))
    assert applied.json() == {"status": "applied", "payment_id": payment_id, "payment_status": "awaiting_customer"}
    second = await service.http.post(
        f"/sandbox/checkout/{payment_id}",
        params={"token": token},
        json={"card_number": APPROVED, "expiry": "12/35", "cvc": "123"},
    )
    assert second.status_code == 200, second.text
    assert second.json()["outcome"] == "succeeded"
    charges = await service.db["sandbox_charges"].find({"payment_id": payment_id}).sort("attempt", 1).to_list()
    assert [(c["_id"], c["approved"]) for c in charges] == [(f"{payment_id}:1", False), (f"{payment_id}:2", True)]
