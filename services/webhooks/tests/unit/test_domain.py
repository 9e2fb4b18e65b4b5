"""The domain on its own: URLs, event types, the storefront views, backoff, the disable rule, signatures."""

from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import UTC, datetime, timedelta

import pytest
from oms_contracts import new_id
from oms_contracts.messages.payment import CardSummary, PaymentCaptured
from oms_contracts.money import Money
from oms_webhooks.domain import events, signature
from oms_webhooks.domain.delivery import Backoff, Delivery, Outcome, webhook_id
from oms_webhooks.domain.endpoint import Endpoint, validate_event_types, validate_url
from oms_webhooks.domain.errors import InvalidEndpoint

NOW = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)


def endpoint(**changes: object) -> Endpoint:
    base = Endpoint("e1", "shop-1", "https://shop.example/hook", ("OrderPlaced",), "whsec_" + "A" * 44, NOW, NOW)
    return base if not changes else Endpoint(**{**base.__dict__, **changes})  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("ftp://shop.example/hook", "http or https"),
        ("https://user:pw@shop.example/hook", "credentials"),
        ("https://token@shop.example/hook", "credentials"),
        ("https:///hook", "host"),
        ("https://shop.example/hook#frag", "fragment"),
        ("https://shop.example:99999/", "not a URL"),
        ("https://127.0.0.1/hook", "public address"),
        ("http://10.1.2.3:8080/", "public address"),
        ("http://169.254.169.254/latest/meta-data", "public address"),
        ("http://[::1]/hook", "public address"),
        ("http://localhost:9000/", "public address"),
        ("https://shop.example/a b", "spaces"),
    ],
)
def test_refused_urls_name_the_field(url: str, why: str) -> None:
    with pytest.raises(InvalidEndpoint) as refused:
        validate_url(url, allow_private=False)
    assert refused.value.field == "url" and why in refused.value.message


def test_private_targets_pass_only_when_the_deployment_allows_them() -> None:
    assert validate_url("http://127.0.0.1:9000/hook", allow_private=True) == "http://127.0.0.1:9000/hook"
    assert validate_url("https://shop.example/hooks?x=1", allow_private=False)


def test_event_types_come_from_the_contracts_and_unknown_ones_name_their_index() -> None:
    assert validate_event_types(["OrderPlaced", "PaymentCaptured", "OrderPlaced"]) == ("OrderPlaced", "PaymentCaptured")
    with pytest.raises(InvalidEndpoint) as refused:
        validate_event_types(["OrderPlaced", "OrderShipped"])
    assert refused.value.field == "event_types[1]"
    with pytest.raises(InvalidEndpoint):
        validate_event_types([])
    assert {"OrderStageChanged", "ShipmentShipped", "RefundCompleted", "ReturnApproved"} <= set(events.EVENT_TYPE_NAMES)


def test_a_payment_body_leaves_out_card_tokens_and_provider_references() -> None:
    captured = PaymentCaptured(
        order_id="o1",
        payment_id="p1",
        method="card",
        amount=Money.of("10.50", "RUB"),
        provider_reference="prov-secret-ref",
        card=CardSummary(token="tok_secret", brand="visa", last4="4242"),
    )
    body = events.body("PaymentCaptured", captured, NOW)
    assert body == {
        "type": "PaymentCaptured",
        "timestamp": NOW.isoformat(),
        "data": {
            "order_id": "o1",
            "payment_id": "p1",
            "method": "card",
            "amount": {"amount": "10.50", "currency": "RUB"},
        },
    }
    assert events.order_id_of(captured) == "o1"


def test_backoff_doubles_up_to_its_cap() -> None:
    backoff = Backoff(base_seconds=5, max_seconds=60, max_attempts=10)
    assert [backoff.delay(n).total_seconds() for n in range(1, 7)] == [5, 10, 20, 40, 60, 60]


def delivery(**changes: object) -> Delivery:
    d = Delivery(new_id(), webhook_id("ev1", "e1"), "shop-1", "e1", "o1", 1, "ev1", "OrderPlaced", "{}", NOW)
    return d if not changes else Delivery(**{**d.__dict__, **changes})  # type: ignore[arg-type]


def test_a_failed_attempt_is_retried_later_then_given_up_after_the_last_attempt() -> None:
    backoff = Backoff(base_seconds=5, max_seconds=60, max_attempts=3)
    failed = Outcome(503, "HTTP 503", 12)
    first = delivery().attempted(failed, NOW, backoff)
    assert first.status == "pending" and first.next_attempt_at == NOW + timedelta(seconds=5)
    assert not first.due(NOW) and first.due(NOW + timedelta(seconds=5))
    second = first.attempted(failed, NOW, backoff)
    assert second.next_attempt_at == NOW + timedelta(seconds=10) and second.attempt_count == 2
    third = second.attempted(failed, NOW, backoff)
    assert third.status == "failed" and third.finished_at == NOW and third.next_attempt_at is None
    assert [a.status_code for a in third.attempts] == [503, 503, 503]


def test_a_2xx_delivers() -> None:
    done = delivery().attempted(Outcome(204, None, 3), NOW, Backoff())
    assert done.status == "delivered" and done.last is not None and done.last.status_code == 204


def test_the_attempt_log_keeps_the_last_ten() -> None:
    d = delivery()
    for _ in range(12):
        d = d.attempted(Outcome(None, "timeout", 1), NOW, Backoff(max_attempts=50))
    assert len(d.attempts) == 10 and d.attempt_count == 12


def test_the_nth_failure_in_a_row_disables_and_a_success_resets_the_count() -> None:
    e = endpoint()
    for _ in range(2):
        e = e.failed(NOW, disable_after=3)
    assert e.enabled and e.consecutive_failures == 2
    assert e.succeeded().consecutive_failures == 0
    e = e.failed(NOW, disable_after=3)
    assert not e.enabled and e.disabled_reason == "failing" and e.disabled_at == NOW
    again = e.enable(NOW)
    assert again.enabled and again.consecutive_failures == 0 and again.disabled_reason is None


def test_webhook_ids_are_stable_per_event_and_endpoint() -> None:
    assert webhook_id("ev1", "e1") == webhook_id("ev1", "e1")
    assert webhook_id("ev1", "e1") != webhook_id("ev1", "e2") != webhook_id("ev2", "e1")
    assert webhook_id("ev1", "e1").startswith("msg_")


def test_the_signature_is_the_standard_webhooks_hmac() -> None:
    secret = signature.new_secret()
    body = '{"type":"OrderPlaced"}'
    headers = signature.headers("msg_1", NOW, body, (secret,))
    assert headers["webhook-id"] == "msg_1" and headers["webhook-timestamp"] == str(int(NOW.timestamp()))
    # Computed here from the specification, independently of the library that signs.
    key = base64.b64decode(secret.removeprefix("whsec_"))
    expected = hmac.new(key, f"msg_1.{int(NOW.timestamp())}.{body}".encode(), hashlib.sha256).digest()
    assert headers["webhook-signature"] == "v1," + base64.b64encode(expected).decode()


def test_during_a_rotation_both_secrets_sign() -> None:
    old = endpoint()
    rotated = old.rotated("whsec_" + "B" * 44, NOW, timedelta(hours=24))
    assert rotated.signing_secrets(NOW) == (rotated.secret, old.secret)
    assert rotated.signing_secrets(NOW + timedelta(hours=25)) == (rotated.secret,)
    signed = signature.headers("msg_1", NOW, "{}", rotated.signing_secrets(NOW))["webhook-signature"]
    assert len(signed.split(" ")) == 2 and all(s.startswith("v1,") for s in signed.split(" "))
