"""The order's document: every Decimal a dump holds becomes a string, wherever it sits, and nothing else
changes (to_bson passes leaves over without walking into them)."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from oms_contracts import Actor
from oms_order.adapters.outbound.orders_mongo import order_state, to_bson
from oms_order.domain.order import Acting
from oms_order.domain.pipeline import STORE_PIPELINE

from .builders import paid_in_full, placed_order


def _plain(value: Any) -> Any:
    """The obvious walk, to compare with."""
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def _decimals(value: Any) -> int:
    if isinstance(value, Decimal):
        return 1
    if isinstance(value, dict):
        return sum(_decimals(v) for v in value.values())
    if isinstance(value, list | tuple):
        return sum(_decimals(v) for v in value)
    return 0


def test_every_decimal_of_a_paid_order_becomes_a_string_and_the_rest_stays() -> None:
    acting = Acting(at=datetime(2026, 12, 3, 12, 0, tzinfo=UTC), actor=Actor.system("test"), channel="web")
    order = paid_in_full(placed_order(STORE_PIPELINE, "courier", "card", acting), acting).order
    dump = order.model_dump(mode="python")
    assert _decimals(dump) > 5  # lines, totals, payment: a dump worth walking
    state = order_state(order)
    assert _decimals(state) == 0
    assert state == {k: v for k, v in _plain(dump).items() if k != "id"}
    assert state["totals"]["grand_total"]["amount"] == str(order.totals.grand_total.amount)
    assert state["placed_at"] == acting.at


def test_decimals_inside_tuples_lists_and_subclassed_dicts_are_strings() -> None:
    class Ordered(dict[str, Any]):
        pass

    value = {"a": (Decimal("1.50"), [Decimal("2"), {"b": Decimal("3.0")}]), "c": Ordered(d=Decimal("4")), "e": None}
    assert to_bson(value) == {"a": ["1.50", ["2", {"b": "3.0"}]], "c": {"d": "4"}, "e": None}
    assert to_bson(Decimal("0.10")) == "0.10"
    assert to_bson(True) is True and to_bson("x") == "x"
