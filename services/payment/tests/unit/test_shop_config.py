"""The VAT rate of a shop's payment settings: validated, kept in its plain form, and the VAT in an amount."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from oms_contracts import Money
from oms_documents import BankRequisites, Invoice, Party, PricedLine
from oms_payment.domain.shop_config import ConfigInvalid, ShopPaymentConfig, vat_included


def config(vat_rate: Decimal | None) -> ShopPaymentConfig:
    return ShopPaymentConfig(shop_id="s1", currency="RUB", methods=("card",), vat_rate=vat_rate)


@pytest.mark.parametrize(
    ("given", "kept"),
    [("20", "20"), ("20.00", "20"), ("10.5", "10.5"), ("0", "0"), ("100", "100"), ("16.67", "16.67")],
)
def test_a_vat_rate_from_0_to_100_with_2_decimals_is_kept_in_its_plain_form(given: str, kept: str) -> None:
    assert str(config(Decimal(given)).vat_rate) == kept


def test_no_vat_rate_means_without_vat() -> None:
    assert config(None).vat_rate is None
    assert config(None).vat_in(Money.of("1200.00", "RUB")) is None


@pytest.mark.parametrize("bad", ["-1", "-0.01", "100.01", "120", "20.125", "NaN", "Infinity", "sNaN"])
def test_a_vat_rate_out_of_range_or_too_precise_is_refused_naming_the_field(bad: str) -> None:
    with pytest.raises(ConfigInvalid) as refused:
        config(Decimal(bad))
    assert refused.value.field == "vat_rate"


@pytest.mark.parametrize(
    ("total", "rate", "vat"),
    [("1200.00", "20", "200.00"), ("1100.00", "10", "100.00"), ("1499.70", "20", "249.95"), ("999.99", "0", "0.00")],
)
def test_vat_included_in_an_amount_is_rounded_to_the_currency(total: str, rate: str, vat: str) -> None:
    assert config(Decimal(rate)).vat_in(Money.of(total, "RUB")) == Money.of(vat, "RUB")


@pytest.mark.parametrize(("total", "rate"), [("1200.00", "20"), ("333.33", "10"), ("0.05", "20"), ("7.77", "12.5")])
def test_the_slip_vat_agrees_with_the_invoice_vat(total: str, rate: str) -> None:
    bank = BankRequisites("R", "7701234567", None, "4" * 20, "B", "044525225", "3" * 20)
    invoice = Invoice(
        number="1",
        issued_on=date(2026, 11, 23),
        seller=Party("R"),
        bank=bank,
        buyer=Party("B"),
        lines=(PricedLine("x", 1, Money.of(total, "RUB")),),
        currency="RUB",
        vat_rate=Decimal(rate),
    )
    assert vat_included(Money.of(total, "RUB"), Decimal(rate)) == invoice.vat
