"""Pricing with discounts, promo codes and delivery rates: properties that must hold for any order."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st
from oms_contracts import Money
from oms_contracts.messages.common import OrderLine
from oms_contracts.money import round_amount
from oms_order.domain.pricing import (
    DeliveryRate,
    Discount,
    PromoCode,
    line_total,
    price_order,
    promo_discount,
    promo_problem,
    spread,
)

CURRENCIES = st.sampled_from(["EUR", "JPY", "KWD"])
NOW = datetime(2026, 5, 1, 12, tzinfo=UTC)


def _line(sku: str, price: Decimal, qty: int, currency: str) -> OrderLine:
    unit = Money.of(price, currency)
    return OrderLine(sku=sku, name=sku, quantity=qty, unit_price=unit, total=line_total(unit, qty))


@st.composite
def orders(draw: st.DrawFn) -> tuple[list[OrderLine], list[Discount], DeliveryRate]:
    currency = draw(CURRENCIES)
    n = draw(st.integers(1, 6))
    lines = [
        _line(
            f"S{i}",
            draw(st.decimals(min_value=Decimal("0.001"), max_value=Decimal(5000), places=3)),
            draw(st.integers(1, 20)),
            currency,
        )
        for i in range(n)
    ]
    discounts = []
    for k in range(draw(st.integers(0, 5))):
        kind = draw(st.sampled_from(["amount", "percent"]))
        value = (
            draw(st.decimals(min_value=Decimal("0.01"), max_value=Decimal(100), places=2))
            if kind == "percent"
            else draw(st.decimals(min_value=Decimal("0.01"), max_value=Decimal(200000), places=2))
        )
        sku = draw(st.one_of(st.none(), st.sampled_from([ln.sku for ln in lines])))
        discounts.append(Discount(id=f"d{k}", kind=kind, value=value, reason="test", sku=sku))
    price = draw(st.decimals(min_value=Decimal(0), max_value=Decimal(1000), places=2))
    free_from = draw(st.one_of(st.none(), st.decimals(min_value=Decimal(0), max_value=Decimal(50000), places=2)))
    rate = DeliveryRate(
        price=Money.of(price, currency), free_from=Money.of(free_from, currency) if free_from is not None else None
    )
    return lines, discounts, rate


def _rounded(m: Money) -> bool:
    return round_amount(m.amount, m.currency) == m.amount


@settings(max_examples=120, deadline=None)
@given(orders())
def test_grand_total_is_lines_minus_discounts_plus_delivery_and_never_negative(
    case: tuple[list[OrderLine], list[Discount], DeliveryRate],
) -> None:
    lines, discounts, rate = case
    priced = price_order(lines, discounts, rate)
    t = priced.totals
    assert t.discount is not None
    assert t.subtotal.amount == sum((ln.total.amount for ln in lines), Decimal(0))
    assert t.grand_total.amount == t.subtotal.amount - t.discount.amount + t.delivery.amount
    assert t.grand_total.amount >= 0
    assert 0 <= t.discount.amount <= t.subtotal.amount
    assert all(_rounded(m) for m in (t.subtotal, t.discount, t.delivery, t.grand_total))
    assert sum((m.amount for m in priced.applied.values()), Decimal(0)) == t.discount.amount


@settings(max_examples=120, deadline=None)
@given(orders())
def test_no_discount_takes_more_than_it_discounts(case: tuple[list[OrderLine], list[Discount], DeliveryRate]) -> None:
    lines, discounts, rate = case
    priced = price_order(lines, discounts, rate)
    by_sku = {ln.sku: ln.total.amount for ln in lines}
    for discount in discounts:
        took = priced.applied[discount.id].amount
        assert took >= 0
        if discount.sku is not None:
            assert took <= by_sku[discount.sku]
        if discount.kind == "amount":
            assert took <= discount.value
    for sku, share in priced.line_discounts.items():
        assert 0 <= share.amount <= by_sku[sku]
    assert sum((m.amount for m in priced.line_discounts.values()), Decimal(0)) == priced.totals.discount.amount  # type: ignore[union-attr]


@settings(max_examples=120, deadline=None)
@given(orders())
def test_pricing_is_deterministic(case: tuple[list[OrderLine], list[Discount], DeliveryRate]) -> None:
    lines, discounts, rate = case
    assert price_order(lines, discounts, rate) == price_order(lines, discounts, rate)


@given(st.integers(0, 10_000), st.lists(st.integers(0, 10_000), min_size=1, max_size=8))
def test_spread_sums_to_total_and_stays_within_each_weight(total: int, weights: list[int]) -> None:
    total = min(total, sum(weights))
    shares = spread(total, weights)
    assert sum(shares) == total
    assert all(0 <= s <= w for s, w in zip(shares, weights, strict=True))


def test_delivery_is_free_from_the_threshold_counted_after_discounts() -> None:
    lines = [_line("A", Decimal(60), 1, "EUR")]
    rate = DeliveryRate(price=Money.of(5, "EUR"), free_from=Money.of(50, "EUR"))
    assert price_order(lines, [], rate).totals.delivery.amount == 0
    ten_off = Discount(id="d", kind="amount", value=Decimal(15), reason="goodwill")
    totals = price_order(lines, [ten_off], rate).totals
    assert totals.delivery.amount == 5
    assert totals.grand_total.amount == Decimal("50.00")


def test_percent_discount_rounds_to_minor_unit_of_jpy() -> None:
    lines = [_line("A", Decimal(333), 1, "JPY")]
    totals = price_order(
        lines, [Discount(id="d", kind="percent", value=Decimal(10), reason="x")], DeliveryRate(price=Money.zero("JPY"))
    ).totals
    assert totals.discount == Money.of(33, "JPY")
    assert totals.grand_total.amount == 300


def test_order_discount_is_spread_over_lines_deterministically() -> None:
    lines = [_line("A", Decimal(1), 1, "EUR"), _line("B", Decimal(1), 1, "EUR"), _line("C", Decimal(1), 1, "EUR")]
    priced = price_order(
        lines,
        [Discount(id="d", kind="amount", value=Decimal("0.01"), reason="x")],
        DeliveryRate(price=Money.zero("EUR")),
    )
    assert [priced.line_discounts[s].amount for s in "ABC"] == [Decimal("0.01"), 0, 0]


def _promo(**kw: object) -> PromoCode:
    base: dict[str, object] = {"code": "SPRING", "kind": "percent", "value": Decimal(10)}
    base.update(kw)
    return PromoCode.model_validate(base)


def test_promo_rules_minimum_window_currency_and_disabled() -> None:
    goods = Money.of(100, "EUR")
    assert promo_problem(_promo(), goods, NOW) is None
    assert "at least" in (promo_problem(_promo(min_order=Money.of(150, "EUR")), goods, NOW) or "")
    assert "expired" in (promo_problem(_promo(valid_to=NOW), goods, NOW) or "")
    assert "valid from" in (promo_problem(_promo(valid_from=NOW + timedelta(seconds=1)), goods, NOW) or "")
    assert "disabled" in (promo_problem(_promo(active=False), goods, NOW) or "")
    assert "in USD" in (promo_problem(_promo(kind="amount", currency="USD"), goods, NOW) or "")
    discount = promo_discount(_promo(kind="amount", value=Decimal(500), currency="EUR"), "p1")
    lines = [_line("A", Decimal(100), 1, "EUR")]
    totals = price_order(lines, [discount], DeliveryRate(price=Money.of(5, "EUR"))).totals
    assert totals.grand_total.amount == 5  # capped at the goods, delivery still due
