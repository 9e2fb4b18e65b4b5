"""The domain limits keep every order representable: the largest one still fits `Money` and MongoDB."""

from __future__ import annotations

from decimal import Decimal

import pytest
from oms_contracts import Money
from oms_contracts.limits import (
    INT64_MAX,
    MAX_LINE_QUANTITY,
    MAX_LINES_PER_ORDER,
    MAX_MONEY_AMOUNT,
    RequestedLine,
    StatedMoney,
)
from oms_contracts.messages.common import SkuQuantity
from pydantic import TypeAdapter, ValidationError


def test_the_largest_order_total_still_fits_money():
    largest_line = Money.of(MAX_MONEY_AMOUNT, "RUB").times(MAX_LINE_QUANTITY)
    total = Money.zero("RUB")
    for _ in range(MAX_LINES_PER_ORDER):
        total = total + largest_line
    assert total.amount == MAX_MONEY_AMOUNT * MAX_LINE_QUANTITY * MAX_LINES_PER_ORDER


def test_the_largest_quantities_fit_an_8_byte_integer():
    assert MAX_LINE_QUANTITY * MAX_LINES_PER_ORDER < INT64_MAX


@pytest.mark.parametrize(
    ("amount", "currency"), [("0.001", "RUB"), ("0.5", "JPY"), ("-1", "RUB"), (str(MAX_MONEY_AMOUNT + 1), "RUB")]
)
def test_stated_money_is_in_minor_units_and_within_the_limit(amount, currency):
    with pytest.raises(ValidationError):
        TypeAdapter(StatedMoney).validate_python({"amount": amount, "currency": currency})


@pytest.mark.parametrize(("amount", "currency"), [("0.01", "RUB"), ("1.234", "KWD"), ("5", "JPY"), ("0", "USD")])
def test_stated_money_accepts_what_can_be_paid(amount, currency):
    stated = TypeAdapter(StatedMoney).validate_python({"amount": amount, "currency": currency})
    assert stated == Money.of(Decimal(amount), currency)  # plain Money: equal to the same amount from storage


def test_a_requested_line_is_a_sku_quantity_within_the_line_limit():
    lines = TypeAdapter(list[RequestedLine])
    assert lines.validate_python([SkuQuantity(sku="TEA-1", quantity=3)]) == [SkuQuantity(sku="TEA-1", quantity=3)]
    with pytest.raises(ValidationError):
        lines.validate_python([{"sku": "TEA-1", "quantity": MAX_LINE_QUANTITY + 1}])
