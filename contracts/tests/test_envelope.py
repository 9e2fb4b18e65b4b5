from __future__ import annotations

import gc
import weakref
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st
from oms_contracts import Actor, Envelope, Money, decode
from oms_contracts.envelope import InvalidMessage
from oms_contracts.messages.catalog import ReserveStock
from oms_contracts.money import CurrencyMismatch, round_amount


def test_round_trip_keeps_type_and_causality():
    cause = Envelope.new(
        ReserveStock(order_id="o1", lines=[{"sku": "A-1", "quantity": 2}]),
        shop_id="s",
        actor=Actor.system("t"),
    )
    effect = Envelope.new(cause.payload, shop_id="s", actor=Actor.system("t"), caused_by=cause)
    parsed = decode(effect.to_json())
    assert isinstance(parsed.payload, ReserveStock)
    assert parsed.correlation_id == cause.correlation_id
    assert parsed.causation_id == cause.event_id
    assert parsed.key == "o1"


def test_a_type_s_envelope_class_survives_garbage_collection():
    # Pydantic keeps `Envelope[X]` made inside a function only weakly: without the module's own
    # reference a full collection drops it, and the next message of the type rebuilds it (~1 ms).
    lines = [{"sku": "A-1", "quantity": 1}]
    made = weakref.ref(
        type(Envelope.new(ReserveStock(order_id="o1", lines=lines), shop_id="s", actor=Actor.system("t")))
    )
    gc.collect()
    assert made() is not None
    again = decode(
        Envelope.new(ReserveStock(order_id="o2", lines=lines), shop_id="s", actor=Actor.system("t")).to_json()
    )
    assert type(again) is made()


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (b"not json", "invalid envelope"),
        (b'{"type": "Nope", "version": 1}', "unknown message type"),
        (b'{"type": "ReserveStock", "version": 1, "payload": {}}', "invalid ReserveStock"),
    ],
)
def test_invalid_messages_say_why(raw, reason):
    with pytest.raises(InvalidMessage, match=reason):
        decode(raw)


def test_money_never_mixes_currencies():
    with pytest.raises(CurrencyMismatch):
        Money.of("1", "RUB") + Money.of("1", "UAH")


def test_money_serialises_amount_as_string():
    assert Money.of("12.50", "RUB").model_dump(mode="json") == {"amount": "12.50", "currency": "RUB"}


@given(st.decimals(min_value=-(10**9), max_value=10**9, places=4, allow_nan=False, allow_infinity=False))
def test_rounding_is_to_minor_units_and_within_half_a_unit(amount: Decimal):
    for currency, unit in (("RUB", Decimal("0.01")), ("JPY", Decimal(1)), ("KWD", Decimal("0.001"))):
        rounded = round_amount(amount, currency)
        assert rounded == rounded.quantize(unit)
        assert abs(rounded - amount) <= unit / 2
