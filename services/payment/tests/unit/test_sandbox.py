import json
from datetime import UTC, datetime, timedelta

import pytest
from oms_contracts import Money
from oms_payment.adapters.sandbox import cards
from oms_payment.adapters.sandbox.provider import SandboxProvider, signature_header
from oms_payment.application.errors import InvalidWebhook

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
SECRET = "test-secret"


def provider() -> SandboxProvider:
    return SandboxProvider(
        public_checkout_base_url="http://gw.example/", webhook_secret=SECRET, tolerance=timedelta(minutes=5)
    )


def test_the_approved_test_card_is_charged_and_reduced_to_token_brand_last4() -> None:
    outcome = cards.charge("4242 4242 4242 4242", "12/30", "123", NOW)
    assert outcome.approved
    assert (outcome.brand, outcome.last4) == ("visa", "4242")
    assert outcome.token.startswith("tok_sandbox_")
    assert "4242424242424242" not in repr(outcome)


def test_the_declined_test_card_is_declined() -> None:
    outcome = cards.charge("4000 0000 0000 0002", "12/30", "123", NOW)
    assert not outcome.approved
    assert outcome.decline_reason == "card_declined"
    assert outcome.last4 == "0002"


@pytest.mark.parametrize(
    ("number", "expiry", "cvc", "field"),
    [
        ("4242 4242 4242 4241", "12/30", "123", "card_number"),  # fails Luhn
        ("42", "12/30", "123", "card_number"),
        ("4242424242424242", "13/30", "123", "expiry"),
        ("4242424242424242", "10/26", "123", "expiry"),  # expired before November 2026
        ("4242424242424242", "soon", "123", "expiry"),
        ("4242424242424242", "12/30", "12", "cvc"),
    ],
)
def test_unusable_card_data_names_the_field(number: str, expiry: str, cvc: str, field: str) -> None:
    with pytest.raises(cards.CardRejected) as err:
        cards.charge(number, expiry, cvc, NOW)
    assert err.value.field == field


@pytest.mark.parametrize(
    ("number", "brand"),
    [
        ("4242424242424242", "visa"),
        ("5555555555554444", "mastercard"),
        ("378282246310005", "amex"),
        ("2200000000000004", "mir"),
    ],
)
def test_brand_of(number: str, brand: str) -> None:
    assert cards.brand_of(number) == brand


def test_checkout_link_goes_through_the_gateway_with_the_token() -> None:
    checkout = provider().create_checkout("p-1", "tok/en")
    assert checkout.url == "http://gw.example/pay/sandbox/p-1?token=tok%2Fen"


def signed_webhook(now: datetime, approved: bool = True) -> tuple[bytes, dict[str, str]]:
    sandbox = provider()
    charge = cards.charge("4242424242424242" if approved else "4000000000000002", "12/30", "123", now)
    body = sandbox.webhook_for(payment_id="p-1", amount=Money.of("10.00", "EUR"), charge=charge, now=now)
    return body, sandbox.sign(body, now)


def test_a_signed_webhook_parses_into_a_provider_event() -> None:
    body, headers = signed_webhook(NOW)
    event = provider().parse_webhook(body, headers, NOW + timedelta(seconds=3))
    assert event.outcome == "succeeded"
    assert event.payment_id == "p-1"
    assert event.amount == Money.of("10.00", "EUR")
    assert event.card is not None and event.card.last4 == "4242"
    assert event.event_id == json.loads(body)["id"]


def test_a_declined_webhook_carries_the_reason() -> None:
    body, headers = signed_webhook(NOW, approved=False)
    event = provider().parse_webhook(body, headers, NOW)
    assert (event.outcome, event.failure_reason) == ("failed", "card_declined")


def test_a_tampered_body_is_refused() -> None:
    body, headers = signed_webhook(NOW)
    with pytest.raises(InvalidWebhook, match="signature"):
        provider().parse_webhook(body.replace(b"10.00", b"1.00"), headers, NOW)


def test_a_wrong_secret_is_refused() -> None:
    body, _ = signed_webhook(NOW)
    forged = {"X-Sandbox-Signature": signature_header("guess", int(NOW.timestamp()), body)}
    with pytest.raises(InvalidWebhook):
        provider().parse_webhook(body, forged, NOW)


def test_a_stale_webhook_is_refused_even_with_a_valid_signature() -> None:
    body, headers = signed_webhook(NOW)
    with pytest.raises(InvalidWebhook, match="tolerance"):
        provider().parse_webhook(body, headers, NOW + timedelta(minutes=5, seconds=1))


def test_a_missing_or_malformed_signature_is_refused() -> None:
    body, _ = signed_webhook(NOW)
    for headers in ({}, {"X-Sandbox-Signature": "garbage"}, {"X-Sandbox-Signature": "t=x,v1=00"}):
        with pytest.raises(InvalidWebhook):
            provider().parse_webhook(body, headers, NOW)
