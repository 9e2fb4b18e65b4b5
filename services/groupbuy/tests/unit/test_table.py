"""The organiser's table: rows, totals, sort/filter/cursor, CSV, partners' views and earnings."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest
from oms_contracts import Money
from oms_groupbuy.domain import purchase as gb
from oms_groupbuy.domain import table as tb
from oms_groupbuy.domain.errors import InvalidInput
from oms_groupbuy.domain.purchase import PartnerRef
from oms_groupbuy.domain.table import TableQuery, Viewer

from .builders import NOW, D, claim, join, opened

AGENT = PartnerRef("agent-1", "agent", D("10"), "Olga")
OTHER_AGENT = PartnerRef("agent-2", "agent", D("5"), "Petr")
DEALER = PartnerRef("dealer-1", "dealer", D("20"), "Dan")
ORGANISER = Viewer("organiser", "boss")


def purchase() -> gb.JointPurchase:
    """Six participants in two currencies, brought by two agents, a dealer and the organiser."""
    p = opened()
    people = [
        ("ann", "RUB", AGENT, [("SCARF", 2)]),
        ("bob", "RUB", None, [("DRESS-S", 1)]),
        ("cat", "UAH", AGENT, [("DRESS-M", 1), ("SCARF", 1)]),
        ("dan", "RUB", DEALER, [("DRESS-L", 1)]),
        ("eve", "RUB", OTHER_AGENT, [("DRESS-M", 1)]),
        ("fay", "UAH", None, [("SCARF", 3)]),
    ]
    for n, (pid, cur, partner, lines) in enumerate(people):
        p = join(p, pid, currency=cur, partner=partner, at=NOW + timedelta(minutes=n))
        p = claim(p, pid, *lines).purchase
    return p


def test_rows_show_items_sums_and_who_brought_them() -> None:
    rows = {r.participant_id: r for r in tb.table(purchase(), ORGANISER)}
    assert rows["cat"].items == "DRESS-Mx1, SCARFx1" and rows["cat"].quantity == 2
    assert rows["cat"].goods == D("600.00") and rows["cat"].fee == D("90.00") and rows["cat"].currency == "UAH"
    assert rows["cat"].status == "active"  # bob S, cat M, dan L: row 1 is full
    assert rows["eve"].status == "waiting"  # row 2 has her M only
    assert rows["dan"].goods == D("800.00")  # the dealer's 20 % off 1000
    assert (rows["ann"].partner_id, rows["ann"].partner_kind, rows["ann"].partner_name) == ("agent-1", "agent", "Olga")
    assert rows["bob"].partner_id is None and rows["bob"].payment_status == "unpaid"


def test_totals_per_currency_add_up_the_rows() -> None:
    p = purchase()
    totals = {t.currency: t for t in tb.totals(tb.table(p, ORGANISER), p.currencies)}
    # RUB: ann 666.66, bob 1000, dan 800, eve 1000 = 3466.66; fee 15 %: 100.00 + 150 + 120 + 150 = 520.00
    assert totals["RUB"].participants == 4 and totals["RUB"].goods == D("3466.66") and totals["RUB"].fee == D("520.00")
    # UAH: cat 600, fay 450 = 1050; fee 90 + 67.50
    assert totals["UAH"].goods == D("1050.00") and totals["UAH"].fee == D("157.50") and totals["UAH"].quantity == 5
    assert totals["UAH"].owed == totals["UAH"].due == D("1207.50")


def test_an_agent_sees_only_the_people_they_brought_and_a_dealer_only_their_own() -> None:
    p = purchase()
    assert [r.participant_id for r in tb.table(p, Viewer("agent", "agent-1"))] == ["ann", "cat"]
    assert [r.participant_id for r in tb.table(p, Viewer("dealer", "dealer-1"))] == ["dan"]
    assert tb.table(p, Viewer("agent", "agent-9")) == []
    assert not tb.takes_part(p, Viewer("agent", "agent-9")) and tb.takes_part(p, Viewer("agent", "agent-2"))
    assert Viewer.of("manager", "m1").kind == "organiser" and Viewer.of("agent", "a").kind == "agent"
    with pytest.raises(InvalidInput):
        Viewer.of("warehouse", "w")


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        (TableQuery(), ["ann", "bob", "cat", "dan", "eve", "fay"]),
        (TableQuery(descending=True), ["fay", "eve", "dan", "cat", "bob", "ann"]),
        (TableQuery(sort="goods"), ["fay", "cat", "ann", "dan", "bob", "eve"]),
        (TableQuery(sort="name", currency="UAH"), ["cat", "fay"]),
        (TableQuery(status="waiting"), ["eve"]),
        (TableQuery(partner_id="agent-1"), ["ann", "cat"]),
        (TableQuery(search="BOB@EXAMPLE"), ["bob"]),
        (TableQuery(sort="partner"), ["bob", "fay", "dan", "ann", "cat", "eve"]),
    ],
)
def test_sort_and_filter(query: TableQuery, expected: list[str]) -> None:
    assert [r.participant_id for r in tb.select(tb.table(purchase(), ORGANISER), query)] == expected


@pytest.mark.parametrize("query", [TableQuery(sort="goods"), TableQuery(sort="name", descending=True), TableQuery()])
def test_the_cursor_walks_every_row_once_in_order(query: TableQuery) -> None:
    rows = tb.table(purchase(), ORGANISER)
    seen: list[str] = []
    cursor = None
    for _ in range(10):
        chunk, cursor = tb.page(rows, query, cursor=cursor, limit=4)
        seen += [r.participant_id for r in chunk]
        if cursor is None:
            break
    assert seen == [r.participant_id for r in tb.select(rows, query)]


def test_a_cursor_of_another_order_or_garbage_names_the_field() -> None:
    rows = tb.table(purchase(), ORGANISER)
    _, cursor = tb.page(rows, TableQuery(sort="goods"), cursor=None, limit=2)
    for bad in (cursor, "!!", "bm9wZQ"):
        with pytest.raises(InvalidInput) as err:
            tb.page(rows, TableQuery(sort="name"), cursor=bad, limit=2)
        assert err.value.field == "cursor"
    with pytest.raises(InvalidInput) as err:
        TableQuery(sort="password")
    assert err.value.field == "sort"
    with pytest.raises(InvalidInput):
        tb.page(rows, TableQuery(), cursor=None, limit=10_000)


def test_csv_has_every_column_and_defuses_formulas() -> None:
    p = gb.add_participant(
        purchase(), participant_id="zed", name="=HYPERLINK(1)", contact="+7 900", currency="RUB", partner=None, now=NOW
    ).purchase
    text = tb.to_csv(tb.table(p, ORGANISER))
    parsed = list(csv.DictReader(io.StringIO(text)))
    assert list(parsed[0]) == tb.CSV_COLUMNS and len(parsed) == 7
    zed = parsed[-1]
    assert zed["name"] == "'=HYPERLINK(1)" and zed["contact"] == "'+7 900" and zed["goods"] == "0"
    assert parsed[0]["goods"] == "666.66" and parsed[0]["added_at"] == NOW.isoformat()


def test_fill_state_names_free_positions_without_naming_people() -> None:
    fills = tb.fill_state(purchase(), ORGANISER)
    assert [(f.number, f.taken, f.filled, f.free) for f in fills] == [
        (1, 3, True, []),
        (2, 1, False, ["DRESS-S", "DRESS-L"]),
    ]


def test_commission_accrues_on_fully_paid_participants_and_is_payable_after_distribution() -> None:
    p = gb.open_payment(gb.stop(purchase(), now=NOW).purchase, now=NOW).purchase
    [rub, uah] = tb.earnings(p, "agent-1")
    assert (rub.currency, rub.participants, rub.paid_participants, rub.commission, rub.status) == (
        "RUB",
        1,
        0,
        D("0"),
        "accrued",
    )
    owed = gb.accounts(p)["ann"].owed
    p = gb.record_payment(p, "ann", Money(amount=owed, currency="RUB"), "ann-1", now=NOW).purchase  # type: ignore[union-attr]
    [rub, uah] = tb.earnings(p, "agent-1")
    assert rub.commission == D("66.67") and rub.paid_goods == D("666.66")  # 10 % of 666.66 = 66.666 → 66.67
    assert uah.commission == 0  # cat has not paid
    assert tb.earnings(p, "dealer-1")[0].commission == 0  # a dealer earns a discount, not a commission
    for pid in ("bob", "cat", "dan", "fay"):
        owed = gb.accounts(p)[pid].owed
        if owed:
            p = gb.record_payment(  # type: ignore[union-attr]
                p, pid, Money(amount=owed, currency=p.participant(pid).currency), f"{pid}-1", now=NOW
            ).purchase
    for _ in range(3):
        p = gb.advance(p, now=NOW).purchase  # ordered, received, distributed
    assert p.state == "distributed"
    [rub, uah] = tb.earnings(p, "agent-1")
    assert (rub.status, uah.status, uah.commission) == ("payable", "payable", D("60.00"))
