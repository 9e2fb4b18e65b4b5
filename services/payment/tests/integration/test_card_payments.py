"""Card payments through the sandbox provider: hosted page, real webhook over HTTP, events on Kafka."""

from __future__ import annotations

import json
import time
from typing import Any

from oms_contracts import new_id
from oms_payment.adapters.sandbox.provider import signature_header
from oms_payment.domain import MAX_CARD_ATTEMPTS
from oms_testing import eventually
from oms_testing.http import internal_headers
from oms_testing.kafka import TopicReader

from .conftest import Service, checkout_of, count, message, of_order, read_to_end, request_payment

APPROVED = "4242 4242 4242 4242"
DECLINED = "4000 0000 0000 0002"


async def requested_card_payment(service: Service, events: TopicReader, shop_id: str, order_id: str) -> tuple[str, str]:
    await service.send(request_payment(shop_id, order_id, "card"))
    requested = message(await events.wait_for(of_order(shop_id, order_id, "PaymentRequested")))
    assert requested["payload"]["status"] == "awaiting_customer"
    assert requested["payload"]["amount"] == {"amount": "1250.50", "currency": "RUB"}
    assert requested["payload"]["checkout_url"].startswith("http://gateway.test/pay/sandbox/")
    return checkout_of(requested)


def webhook_body(
    payment_id: str, event_id: str | None = None, amount: str = "1250.50", outcome: str = "succeeded"
) -> bytes:
    body: dict[str, Any] = {
        "id": event_id or f"evt_{new_id()}",
        "type": f"payment.{outcome}",
        "payment_id": payment_id,
        "amount": amount,
        "currency": "RUB",
        "card": {"token": "tok_test", "brand": "visa", "last4": "4242"},
        "created": int(time.time()),
    }
    if outcome == "failed":
        body["failure_reason"] = "card_declined"
    return json.dumps(body).encode()


def signed(service: Service, body: bytes, *, secret: str | None = None, at: int | None = None) -> dict[str, str]:
    secret = secret or service.settings.sandbox_webhook_secret
    return {
        "content-type": "application/json",
        "X-Sandbox-Signature": signature_header(secret, at or int(time.time()), body),
    }


async def test_card_flow_from_the_hosted_form_to_payment_captured(
    service: Service, payment_events: TopicReader, shop_id: str
) -> None:
    order_id = new_id()
    payment_id, token = await requested_card_payment(service, payment_events, shop_id, order_id)

    page = await service.http.get(f"/sandbox/checkout/{payment_id}", params={"token": token})
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert "1250.50 RUB" in page.text
    assert 'name="card_number"' in page.text

    paid = await service.http.post(
        f"/sandbox/checkout/{payment_id}",
        params={"token": token},
        data={"card_number": APPROVED, "expiry": "12/35", "cvc": "123"},
    )
    assert paid.status_code == 200, paid.text
    assert 'data-outcome="succeeded"' in paid.text

    captured = message(await payment_events.wait_for(of_order(shop_id, order_id, "PaymentCaptured")))
    assert captured["payload"]["payment_id"] == payment_id
    assert captured["payload"]["method"] == "card"
    assert captured["payload"]["amount"] == {"amount": "1250.50", "currency": "RUB"}
    assert captured["payload"]["card"]["brand"] == "visa"
    assert captured["payload"]["card"]["last4"] == "4242"
    assert captured["payload"]["card"]["token"].startswith("tok_sandbox_")

    payment = await service.payment(shop_id, payment_id)
    assert payment["status"] == "captured"
    assert payment["attempts"] == 1
    assert payment["card"]["last4"] == "4242"
    assert "checkout_token_hash" not in payment

    # Only token, brand and last four digits were ever stored, anywhere in the service's database.
    for collection in await service.db.list_collection_names():
        async for doc in service.db[collection].find({}):
            assert "4242424242424242" not in repr(doc), collection
            assert token not in repr(doc), collection  # the checkout token is stored hashed only

    again = await service.http.post(
        f"/sandbox/checkout/{payment_id}",
        params={"token": token},
        json={"card_number": APPROVED, "expiry": "12/35", "cvc": "123"},
    )
    assert again.status_code == 409
    assert again.headers["content-type"].startswith("application/problem+json")


async def test_a_wrong_checkout_token_opens_nothing(
    service: Service, payment_events: TopicReader, shop_id: str
) -> None:
    payment_id, _ = await requested_card_payment(service, payment_events, shop_id, new_id())
    page = await service.http.get(f"/sandbox/checkout/{payment_id}", params={"token": "guessed"})
    assert page.status_code == 404
    paid = await service.http.post(
        f"/sandbox/checkout/{payment_id}",
        params={"token": "guessed"},
        json={"card_number": APPROVED, "expiry": "12/35", "cvc": "123"},
    )
    assert paid.status_code == 404
    assert (await service.payment(shop_id, payment_id))["status"] == "awaiting_customer"


async def test_invalid_card_data_names_the_field(service: Service, payment_events: TopicReader, shop_id: str) -> None:
    payment_id, token = await requested_card_payment(service, payment_events, shop_id, new_id())
    response = await service.http.post(
        f"/sandbox/checkout/{payment_id}",
        params={"token": token},
        json={"card_number": "4242 4242 4242 4241", "expiry": "12/35", "cvc": "123"},
    )
    assert response.status_code == 422
    assert response.json()["errors"] == [{"field": "card_number", "message": "this is not a valid card number"}]
    # The customer may correct it: the checkout stays open.
    assert (await service.payment(shop_id, payment_id))["status"] == "awaiting_customer"


async def attempts_recorded(service: Service, shop_id: str, payment_id: str, attempts: int) -> dict[str, Any]:
    """The payment once its webhook for the given attempt has been applied."""
    seen: dict[str, Any] = {}

    async def recorded() -> bool:
        seen.update(await service.payment(shop_id, payment_id))
        return bool(seen["attempts"] == attempts)

    await eventually(recorded, timeout=20, what=f"attempt {attempts} recorded on the payment")
    return seen


async def test_a_declined_card_is_retried_on_the_same_checkout_and_captured_once(
    service: Service, payment_events: TopicReader, shop_id: str
) -> None:
    order_id = new_id()
    payment_id, token = await requested_card_payment(service, payment_events, shop_id, order_id)

    # First card, through the HTML form: declined, the form comes back with the reason.
    declined = await service.http.post(
        f"/sandbox/checkout/{payment_id}",
        params={"token": token},
        data={"card_number": DECLINED, "expiry": "12/35", "cvc": "123"},
    )
    assert declined.status_code == 200, declined.text
    assert 'data-outcome="failed"' in declined.text
    assert "declined: card_declined, try another card" in declined.text
    assert f'data-attempts-left="{MAX_CARD_ATTEMPTS - 1}"' in declined.text
    assert 'name="card_number"' in declined.text

    payment = await attempts_recorded(service, shop_id, payment_id, 1)
    assert payment["status"] == "awaiting_customer"
    assert payment["failure_reason"] == "card_declined"
    assert payment["card"]["last4"] == "0002"
    failed = message(await payment_events.wait_for(of_order(shop_id, order_id, "PaymentFailed")))
    assert failed["payload"] == {
        "order_id": order_id,
        "payment_id": payment_id,
        "reason": "card_declined",
        "attempts_left": MAX_CARD_ATTEMPTS - 1,
    }

    # The link opened again shows the decline and the form.
    page = await service.http.get(f"/sandbox/checkout/{payment_id}", params={"token": token})
    assert page.status_code == 200
    assert "declined: card_declined, try another card" in page.text
    assert f'data-attempts-left="{MAX_CARD_ATTEMPTS - 1}"' in page.text
    assert 'name="card_number"' in page.text

    # Second card, as JSON: declined too.
    again = await service.http.post(
        f"/sandbox/checkout/{payment_id}",
        params={"token": token},
        json={"card_number": DECLINED, "expiry": "12/35", "cvc": "123"},
    )
    assert again.status_code == 200, again.text
    assert again.json()["outcome"] == "failed"
    assert again.json()["attempts_left"] == MAX_CARD_ATTEMPTS - 2
    await attempts_recorded(service, shop_id, payment_id, 2)

    # Third card: approved, the payment is captured and the checkout closes.
    paid = await service.http.post(
        f"/sandbox/checkout/{payment_id}",
        params={"token": token},
        data={"card_number": APPROVED, "expiry": "12/35", "cvc": "123"},
    )
    assert paid.status_code == 200, paid.text
    assert 'data-outcome="succeeded"' in paid.text
    captured = message(await payment_events.wait_for(of_order(shop_id, order_id, "PaymentCaptured")))
    assert captured["payload"]["amount"] == {"amount": "1250.50", "currency": "RUB"}
    assert captured["payload"]["card"]["last4"] == "4242"
    payment = await service.payment(shop_id, payment_id)
    assert (payment["status"], payment["attempts"]) == ("captured", 3)

    closed = await service.http.post(
        f"/sandbox/checkout/{payment_id}",
        params={"token": token},
        json={"card_number": APPROVED, "expiry": "12/35", "cvc": "123"},
    )
    assert closed.status_code == 409
    page = await service.http.get(f"/sandbox/checkout/{payment_id}", params={"token": token})
    assert 'data-outcome="closed"' in page.text and 'name="card_number"' not in page.text

    async def paid_once() -> bool:
        r = await service.http.get(f"/orders/{order_id}/payment-status", headers=internal_headers(shop_id))
        return r.status_code == 200 and r.json()["status"] == "paid"

    await eventually(paid_once, what="the capture counted on the order's account")
    account = await service.db["order_accounts"].find_one({"_id": order_id})
    assert account is not None
    assert len(account["payments"]) == 1
    assert account["paid"] == {"amount": "1250.50", "currency": "RUB"}

    await eventually(lambda: service.all_published(shop_id))
    records = await read_to_end(payment_events)
    assert count(records, of_order(shop_id, order_id, "PaymentCaptured")) == 1
    failures = [message(r)["payload"] for r in records if of_order(shop_id, order_id, "PaymentFailed")(r)]
    assert [f["attempts_left"] for f in failures] == [MAX_CARD_ATTEMPTS - 1, MAX_CARD_ATTEMPTS - 2]


async def test_the_last_allowed_decline_closes_the_checkout_for_good(
    service: Service, payment_events: TopicReader, shop_id: str
) -> None:
    order_id = new_id()
    payment_id, token = await requested_card_payment(service, payment_events, shop_id, order_id)
    for attempt in range(1, MAX_CARD_ATTEMPTS + 1):
        response = await service.http.post(
            f"/sandbox/checkout/{payment_id}",
            params={"token": token},
            json={"card_number": DECLINED, "expiry": "12/35", "cvc": "123"},
        )
        assert response.status_code == 200, response.text
        assert response.json()["attempts_left"] == MAX_CARD_ATTEMPTS - attempt
        payment = await attempts_recorded(service, shop_id, payment_id, attempt)
    assert payment["status"] == "failed"

    page = await service.http.get(f"/sandbox/checkout/{payment_id}", params={"token": token})
    assert 'data-outcome="closed"' in page.text and "declined" in page.text
    assert 'name="card_number"' not in page.text
    refused = await service.http.post(
        f"/sandbox/checkout/{payment_id}",
        params={"token": token},
        json={"card_number": APPROVED, "expiry": "12/35", "cvc": "123"},
    )
    assert refused.status_code == 409

    # A validly signed success after all (a provider whose checkout stayed open): the money taken is
    # on record, captured once however often the provider repeats it.
    late = webhook_body(payment_id)
    response = await service.http.post("/webhooks/sandbox", content=late, headers=signed(service, late))
    assert response.status_code == 200
    assert response.json()["status"] == "applied" and response.json()["payment_status"] == "captured"
    repeated = await service.http.post("/webhooks/sandbox", content=late, headers=signed(service, late))
    assert repeated.json()["status"] == "duplicate"
    await eventually(lambda: service.all_published(shop_id))
    records = await read_to_end(payment_events)
    assert count(records, of_order(shop_id, order_id, "PaymentCaptured")) == 1
    failures = [message(r)["payload"] for r in records if of_order(shop_id, order_id, "PaymentFailed")(r)]
    assert [f["attempts_left"] for f in failures] == list(range(MAX_CARD_ATTEMPTS - 1, -1, -1))


async def test_forged_or_stale_signatures_are_refused_and_change_nothing(
    service: Service, payment_events: TopicReader, shop_id: str
) -> None:
    order_id = new_id()
    payment_id, _ = await requested_card_payment(service, payment_events, shop_id, order_id)
    body = webhook_body(payment_id)

    forged = await service.http.post("/webhooks/sandbox", content=body, headers=signed(service, body, secret="guess"))
    assert forged.status_code == 400
    assert forged.headers["content-type"].startswith("application/problem+json")
    assert "signature" in forged.json()["detail"]

    stale = await service.http.post(
        "/webhooks/sandbox", content=body, headers=signed(service, body, at=int(time.time()) - 600)
    )
    assert stale.status_code == 400
    assert "tolerance" in stale.json()["detail"]

    tampered = body.replace(b"1250.50", b"1.00")
    response = await service.http.post("/webhooks/sandbox", content=tampered, headers=signed(service, body))
    assert response.status_code == 400

    unsigned = await service.http.post("/webhooks/sandbox", content=body, headers={"content-type": "application/json"})
    assert unsigned.status_code == 400

    payment = await service.payment(shop_id, payment_id)
    assert payment["status"] == "awaiting_customer"
    assert payment["attempts"] == 0
    await eventually(lambda: service.all_published(shop_id))
    records = await read_to_end(payment_events)
    assert count(records, of_order(shop_id, order_id, "PaymentCaptured")) == 0


async def test_a_repeated_webhook_captures_exactly_once(
    service: Service, payment_events: TopicReader, shop_id: str
) -> None:
    order_id = new_id()
    payment_id, _ = await requested_card_payment(service, payment_events, shop_id, order_id)
    body = webhook_body(payment_id, event_id=f"evt_{new_id()}")
    headers = signed(service, body)

    first = await service.http.post("/webhooks/sandbox", content=body, headers=headers)
    assert first.status_code == 200
    assert first.json()["status"] == "applied"
    for _ in range(2):
        replay = await service.http.post("/webhooks/sandbox", content=body, headers=headers)
        assert replay.status_code == 200
        assert replay.json()["status"] == "duplicate"

    # Another event claiming success for the same payment: the payment is never captured twice.
    other = webhook_body(payment_id)
    response = await service.http.post("/webhooks/sandbox", content=other, headers=signed(service, other))
    assert response.status_code == 200
    assert response.json()["status"] == "ignored"

    await payment_events.wait_for(of_order(shop_id, order_id, "PaymentCaptured"))
    await eventually(lambda: service.all_published(shop_id))
    records = await read_to_end(payment_events)
    assert count(records, of_order(shop_id, order_id, "PaymentCaptured")) == 1
    payment = await service.payment(shop_id, payment_id)
    assert payment["status"] == "captured"
    assert payment["provider_reference"] == json.loads(body)["id"]


async def test_a_webhook_for_an_unknown_payment_is_not_found(service: Service) -> None:
    body = webhook_body(new_id())
    response = await service.http.post("/webhooks/sandbox", content=body, headers=signed(service, body))
    assert response.status_code == 404


async def test_staff_list_payments_of_an_order_page_by_page(
    service: Service, payment_events: TopicReader, shop_id: str
) -> None:
    order_id = new_id()
    card_id, _ = await requested_card_payment(service, payment_events, shop_id, order_id)
    await service.send(request_payment(shop_id, order_id, "cash_on_delivery"))
    requested = of_order(shop_id, order_id, "PaymentRequested")
    await payment_events.wait_for(lambda r: requested(r) and message(r)["payload"]["method"] == "cash_on_delivery")
    staff = internal_headers(shop_id, role="manager")

    first = await service.http.get("/payments", params={"order_id": order_id, "limit": 1}, headers=staff)
    assert first.status_code == 200
    page1 = first.json()
    assert len(page1["items"]) == 1 and page1["next_cursor"]
    second = await service.http.get(
        "/payments", params={"order_id": order_id, "limit": 1, "cursor": page1["next_cursor"]}, headers=staff
    )
    page2 = second.json()
    assert len(page2["items"]) == 1 and page2["next_cursor"] is None
    ids = {page1["items"][0]["payment_id"], page2["items"][0]["payment_id"]}
    assert card_id in ids and len(ids) == 2

    too_big = await service.http.get("/payments", params={"limit": 1000}, headers=staff)
    assert too_big.status_code == 422
    other_shop = await service.http.get(f"/payments/{card_id}", headers=internal_headers(f"shop-{new_id()}"))
    assert other_shop.status_code == 404
    warehouse = await service.http.get("/payments", headers=internal_headers(shop_id, role="warehouse"))
    assert warehouse.status_code == 403
    anonymous = await service.http.get("/payments")
    assert anonymous.status_code == 401
