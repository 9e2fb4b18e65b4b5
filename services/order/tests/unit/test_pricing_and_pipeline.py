from __future__ import annotations

import pytest
from oms_contracts import Money
from oms_contracts.messages.common import SkuQuantity
from oms_order.domain.pipeline import (
    DEFAULT_PIPELINE,
    Exit,
    Pipeline,
    PipelineError,
    Stage,
    Trigger,
)
from oms_order.domain.pricing import InvalidOrder, SkuPrice, price_lines

PRICES = {
    "A": SkuPrice("A", "Apple", Money.of("0.335", "EUR"), True),
    "B": SkuPrice("B", "Banana", Money.of("1", "USD"), True),
    "OLD": SkuPrice("OLD", "Old", Money.of("1", "EUR"), False),
}


def test_line_totals_round_half_up_to_the_currency() -> None:
    [line] = price_lines([SkuQuantity(sku="A", quantity=3)], PRICES)
    assert line.total == Money.of("1.01", "EUR")  # 1.005 rounds up


def test_every_bad_line_is_named() -> None:
    requested = [
        SkuQuantity(sku="A", quantity=1),
        SkuQuantity(sku="NOPE", quantity=1),
        SkuQuantity(sku="OLD", quantity=1),
        SkuQuantity(sku="B", quantity=1),
        SkuQuantity(sku="A", quantity=2),
    ]
    with pytest.raises(InvalidOrder) as caught:
        price_lines(requested, PRICES)
    assert [e.field for e in caught.value.errors] == ["lines[1].sku", "lines[2].sku", "lines[3].sku", "lines[4].sku"]
    assert "USD" in caught.value.errors[2].message


@pytest.mark.parametrize(
    ("delivery_type", "payment_method", "expected"),
    [
        ("courier", "card", ["new", "awaiting_payment", "picking", "in_delivery", "delivered", "completed"]),
        ("courier", "cash_on_delivery", ["new", "picking", "in_delivery", "delivered", "completed"]),
        ("pickup", "card", ["new", "awaiting_payment", "picking", "delivered", "completed"]),
        ("pickup", "cash_on_delivery", ["new", "picking", "delivered", "completed"]),
    ],
)
def test_applicable_flow_per_delivery_and_payment(delivery_type: str, payment_method: str, expected: list[str]) -> None:
    walked = [DEFAULT_PIPELINE.first_stage().key]
    while not DEFAULT_PIPELINE.stage(walked[-1]).final:
        walked.append(DEFAULT_PIPELINE.next_stage(walked[-1], delivery_type, payment_method).key)
    assert walked == expected


def test_inconsistent_pipelines_are_refused() -> None:
    with pytest.raises(PipelineError):
        Pipeline(
            "bad",
            1,
            (
                Stage("new", "New", exits=(Exit(Trigger.PAID, to="nowhere"),)),
                Stage("cancelled", "Cancelled", final=True, in_flow=False),
            ),
        )
    with pytest.raises(PipelineError):
        Pipeline("bad", 1, (Stage("new", "New"),))
