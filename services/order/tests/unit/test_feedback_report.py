"""The feedback report's counting, pure: per SKU (a line's own rating, else the order's), per manager,
per courier who delivered (carriers count for nobody); averages to two places; low ratings counted."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from oms_contracts import Actor
from oms_order.domain import order as domain
from oms_order.domain.feedback_report import ReportBy, tally
from oms_order.domain.order import Acting, Feedback, Order
from oms_order.domain.pipeline import STORE_PIPELINE

from .builders import placed_order

T0 = datetime(2026, 4, 1, 9, tzinfo=UTC)


def rated(rating: int, *, manager: str | None, courier: str | None, lines: dict[str, int] | None = None) -> Order:
    web = Acting(at=T0, actor=Actor(kind="storefront", id="web"), channel="web")
    order = placed_order(STORE_PIPELINE, "courier", "card", web)
    deliverer = Actor(kind="staff", id=courier, role="courier") if courier else Actor.system("carrier")
    order = domain.shipment_progressed(
        order, "s1", "delivered", 1, Acting(at=T0, actor=deliverer, channel="kafka")
    ).order
    order.manager_id = manager
    order.feedback = Feedback(rating=rating, line_ratings=lines or {}, at=T0)
    return order


def test_counts_per_sku_manager_and_courier() -> None:
    orders = [
        rated(5, manager="m-1", courier="c-1", lines={"TEA-1": 2}),
        rated(4, manager="m-1", courier="c-2"),
        rated(1, manager=None, courier=None),
        placed_order(STORE_PIPELINE, "pickup", "card", Acting(at=T0, actor=Actor.system("x"), channel="web")),
    ]
    [tea] = tally(orders, ReportBy.SKU)
    assert (tea.key, tea.count, tea.total, tea.low, tea.average) == ("TEA-1", 3, 7, 2, Decimal("2.33"))
    [m1] = tally(orders, ReportBy.MANAGER)
    assert (m1.key, m1.count, m1.average, m1.low) == ("m-1", 2, Decimal("4.50"), 0)
    assert [(c.key, c.count, c.low) for c in tally(orders, ReportBy.COURIER)] == [("c-1", 1, 0), ("c-2", 1, 0)]
    assert tally([], ReportBy.SKU) == []
