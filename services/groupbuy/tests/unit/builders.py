"""Joint purchases as the unit tests need them."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from oms_groupbuy.domain import purchase as gb
from oms_groupbuy.domain.purchase import JointPurchase, Offer, Option, PartnerRef, RowSpec

NOW = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)
D = Decimal

# Dresses in sizes S, M, L bought by the row (one of each); a scarf bought loose.
OFFERS = [
    Offer("DRESS-S", "Dress S", {"RUB": D("1000.00"), "UAH": D("450.00")}, weight_grams=300),
    Offer("DRESS-M", "Dress M", {"RUB": D("1000.00"), "UAH": D("450.00")}, weight_grams=300),
    Offer("DRESS-L", "Dress L", {"RUB": D("1000.00"), "UAH": D("450.00")}, weight_grams=300),
    Offer("SCARF", "Scarf", {"RUB": D("333.33"), "UAH": D("150.00")}, weight_grams=100),
    Offer("HAT", "Hat", {"RUB": D("500.00"), "UAH": D("225.00")}, weight_grams=200, min_quantity=3),
]
ROWS = [RowSpec("dress", "Dress S-M-L", ("DRESS-S", "DRESS-M", "DRESS-L"))]
OPTIONS = [
    Option("rub-post", "delivery", "RUB", "Russian Post", D("250.00")),
    Option("rub-card", "payment", "RUB", "Card", D("0.00")),
    Option("uah-np", "delivery", "UAH", "Nova Poshta", D("70.00")),
]


def ids(prefix: str = "i") -> Callable[[], str]:
    counter = itertools.count(1)
    return lambda: f"{prefix}{next(counter)}"


def opened(**overrides: object) -> JointPurchase:
    args: dict[str, object] = {
        "purchase_id": "jp-1",
        "shop_id": "shop-1",
        "title": "Winter dresses",
        "supplier": "Ivanovo Textile",
        "closes_at": NOW + timedelta(days=7),
        "currencies": ["RUB", "UAH"],
        "offers": OFFERS,
        "row_specs": ROWS,
        "options": OPTIONS,
        "fee_percent": D("15"),
        "now": NOW,
    }
    args.update(overrides)
    return gb.open_purchase(**args).purchase  # type: ignore[arg-type]


def join(
    p: JointPurchase,
    pid: str,
    currency: str = "RUB",
    partner: PartnerRef | None = None,
    delivery: str | None = None,
    at: datetime = NOW,
) -> JointPurchase:
    return gb.add_participant(
        p,
        participant_id=pid,
        name=f"Participant {pid}",
        contact=f"{pid}@example.com",
        currency=currency,
        partner=partner,
        delivery_option=delivery,
        now=at,
    ).purchase


def claim(p: JointPurchase, pid: str, *lines: tuple[str, int], new_id: Callable[[], str] | None = None) -> gb.Decision:
    return gb.add_items(p, pid, list(lines), new_id=new_id or ids(f"{pid}-{len(p.items)}-"), now=NOW)
