from __future__ import annotations

from datetime import UTC, datetime, timedelta

from oms_console.domain import i18n
from oms_console.domain.board import Urgency, board_of, stage_clock
from oms_console.domain.views import ListView

from .fakes import PIPELINE

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def test_columns_are_the_flow_stages_that_are_not_final_with_their_move_targets() -> None:
    board = board_of(PIPELINE)
    assert [c.key for c in board.columns] == ["new", "call_back", "picking"]
    call_back = board.column("call_back")
    assert call_back is not None
    assert call_back.move_to == ("picking", "cancelled") and call_back.time_limit_seconds == 7200
    assert call_back.may_act("manager") and call_back.may_act("admin") and not call_back.may_act("courier")
    picking = board.column("picking")
    assert picking is not None and picking.may_act("warehouse") and not picking.may_act("manager")
    assert board.stage_name("call_back", "ru") == "Перезвонить" and board.stage_name("picking", "ru") == "Picking"


def test_the_clock_is_green_amber_red_against_the_orders_own_deadline() -> None:
    deadline = T0 + timedelta(hours=2)
    assert stage_clock(T0, deadline, T0 + timedelta(minutes=30)).urgency is Urgency.GREEN
    assert stage_clock(T0, deadline, T0 + timedelta(minutes=90)).urgency is Urgency.AMBER
    assert stage_clock(T0, deadline, T0 + timedelta(hours=2)).urgency is Urgency.RED
    # No deadline on the order: the column's limit; neither: no colour.
    assert stage_clock(T0, None, T0 + timedelta(hours=3), 3600).urgency is Urgency.RED
    assert stage_clock(T0, None, T0 + timedelta(hours=3)).urgency is Urgency.NONE
    assert stage_clock(None, None, T0).in_stage_seconds is None


def test_the_language_follows_accept_language_with_q_values() -> None:
    assert i18n.choose("ru-RU,ru;q=0.9,en;q=0.8") == "ru"
    assert i18n.choose("de, en;q=0.5, ru;q=0.7") == "ru"
    assert i18n.choose("fr") == "en" and i18n.choose(None) == "en" and i18n.choose("ru;q=0") == "en"
    assert i18n.translator("ru")("order_n", number=7) == "Заказ №7"
    assert i18n.duration(3 * 3600 + 5 * 60, "en") == "3 h 05 min" and i18n.duration(50 * 3600, "ru") == "2 д 2 ч"


def test_every_word_has_both_languages() -> None:
    assert set(i18n.EN) == set(i18n.RU)


def test_the_list_view_round_trips_through_the_url() -> None:
    view = ListView.of(
        {"stage": ["new,call_back"], "q": [" anna "], "placed_from": ["2026-01-31"], "sort": ["total"], "bogus": ["x"]}
    )
    assert view.values("stage") == ["new", "call_back"] and view.value("q") == "anna"
    assert ("placed_from", "2026-01-31T00:00:00+00:00") in view.api_params(50)
    assert view.value("placed_from") == "2026-01-31" and view.sort == "total" and view.order == "desc"
    inclusive = ListView.of({"placed_to": ["2026-01-31"], "closed_from": ["31.01.2026"]})
    assert ("placed_to", "2026-02-01T00:00:00+00:00") in inclusive.api_params(5)  # the whole last day
    assert inclusive.value("placed_to") == "2026-01-31"
    assert ("closed_from", "31.01.2026") in inclusive.api_params(5)  # not a date: the API names the field
    again = ListView.of(
        {k: [v] for k, v in [p.split("=", 1) for p in view.query().split("&")]} | {"stage": ["new", "call_back"]}
    )
    assert again.sort == "total"
    assert "cursor=c2" in view.query(cursor="c2")
    assert ListView.of({"sort": ["drop table"], "order": ["sideways"]}).api_params(10)[-3:] == [
        ("sort", "placed_at"),
        ("order", "desc"),
        ("limit", "10"),
    ]


def test_analytics_rows_average_and_bars() -> None:
    from decimal import Decimal

    from oms_console.domain import analytics

    rows = analytics.rows_of(
        [
            {"key": "2026-01-01", "count": 4, "totals": {"RUB": "1000.00", "EUR": "10.00"}},
            {"key": "2026-01-02", "count": 2, "totals": {"RUB": "300.00"}},
            {"key": None, "count": 0, "totals": {"RUB": "bogus"}},
        ]
    )
    assert rows[0].average("RUB") == Decimal("250.00") and rows[1].average("EUR") is None and rows[2].key == "—"
    assert analytics.currencies(rows) == ["RUB", "EUR"]
    bars = analytics.bars(rows, width=300, height=100)
    assert [b.height for b in bars] == [100.0, 50.0, 0.0] and bars[1].y == 50.0 and bars[2].x > bars[1].x
    assert bars[0].width < 300 / 10  # a few groups are bars, not blocks
    from datetime import date

    days = analytics.every_day(rows[:2], date(2025, 12, 31), date(2026, 1, 3))
    assert [(d.key, d.orders) for d in days] == [
        ("2025-12-31", 0),
        ("2026-01-01", 4),
        ("2026-01-02", 2),
        ("2026-01-03", 0),
    ]
    lines = analytics.to_csv(rows).splitlines()
    assert lines[0] == "key,orders,revenue_RUB,revenue_EUR,average_RUB,average_EUR"
    assert lines[1] == "2026-01-01,4,1000.00,10.00,250.00,2.50"


def test_days_sum_into_iso_weeks() -> None:
    from decimal import Decimal

    from oms_console.domain import analytics

    days = analytics.rows_of(
        [
            {"key": "2026-01-04", "count": 1, "totals": {"RUB": "10"}},  # a Sunday: week 1
            {"key": "2026-01-05", "count": 2, "totals": {"RUB": "5", "EUR": "1"}},  # Monday: week 2
            {"key": "2026-01-06", "count": 3, "totals": {"RUB": "5"}},
            {"key": None, "count": 9, "totals": {}},
        ]
    )
    weeks = analytics.by_week(days)
    assert [(w.key, w.orders) for w in weeks] == [("2026-W01", 1), ("2026-W02", 5)]
    assert weeks[1].revenue == {"RUB": Decimal("10"), "EUR": Decimal("1")}
