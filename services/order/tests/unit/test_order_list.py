"""The list row, search terms and cursors (pure)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st
from oms_order.adapters.outbound.order_list_mongo import after_cursor
from oms_order.domain.order_list import (
    BadCursor,
    Cursor,
    SortField,
    fold,
    list_row,
    minor_amount,
    query_words,
    search_terms,
)

T0 = datetime(2026, 3, 1, 12, tzinfo=UTC)


def test_fold_ignores_case_accents_and_spacing() -> None:
    assert fold("  Zoë   MÜLLER ") == "zoe muller"
    assert fold("Ёлкин Пётр") == "елкин петр"


def test_search_terms_cover_name_words_email_phone_and_number() -> None:
    terms = search_terms(name="Ann Lee", email="Ann.Lee@Example.com", phone="+49 (151) 000-00", number=42)
    assert {"ann lee", "ann", "lee", "ann.lee@example.com", "ann.lee", "4915100000", "42"} <= set(terms)
    assert len(terms) == len(set(terms))


def test_query_words_read_a_phone_number_as_its_digits() -> None:
    assert query_words("+49 (151) 000") == ["49151000"]
    assert query_words("  Ann   LEE ") == ["ann", "lee"]
    assert query_words("Ann@Example.com") == ["ann@example.com"]
    assert query_words("   ") == []


def test_minor_amount_is_exact_per_currency() -> None:
    assert minor_amount("12.50", "EUR") == 1250
    assert minor_amount(Decimal("1999"), "JPY") == 1999
    assert minor_amount("1.234", "KWD") == 1234


def test_row_of_a_minimal_document_has_no_null_sort_keys() -> None:
    row = list_row({"stage": "new", "placed_at": T0, "version": 1})
    assert row["name_key"] == "" and row["item_count"] == 0 and row["total_minor"] == 0
    assert row["payment_status"] == "unpaid" and row["problem"] is False and row["closed_at"] is None


def test_row_is_closed_when_its_stage_is_final() -> None:
    doc = {
        "stage": "cancelled",
        "placed_at": T0,
        "stage_entered_at": T0 + timedelta(hours=3),
        "customer": {"name": "Ann Lee", "email": "ann@example.com"},
        "lines": [{"quantity": 2}, {"quantity": 3}],
        "totals": {"grand_total": {"amount": "10.05", "currency": "EUR"}},
        "payment": {"status": "paid"},
        "problem": True,
        "version": 4,
    }
    row = list_row(doc, status="Cancelled", final=True)
    assert row["closed_at"] == T0 + timedelta(hours=3)
    assert (row["item_count"], row["total_minor"], row["payment_status"], row["problem"]) == (5, 1005, "paid", True)
    assert list_row(doc, final=False)["closed_at"] is None


values = st.one_of(
    st.datetimes(timezones=st.just(UTC)),
    st.integers(min_value=-(2**53), max_value=2**53),
    st.text(max_size=40),
)


@given(sort=st.sampled_from(list(SortField)), descending=st.booleans(), value=values, order_id=st.text(max_size=40))
def test_cursor_round_trips(sort: SortField, descending: bool, value: object, order_id: str) -> None:
    cursor = Cursor(sort, descending, value, order_id)
    assert Cursor.decode(cursor.encode(), sort=sort, descending=descending) == cursor


@given(token=st.text(max_size=60))
def test_garbage_is_never_a_cursor(token: str) -> None:
    try:
        Cursor.decode(token, sort=SortField.TOTAL, descending=True)
    except BadCursor:
        return
    # A random string that happens to decode must still be a well-formed cursor of this sort.
    assert Cursor.decode(token, sort=SortField.TOTAL, descending=True).sort is SortField.TOTAL


def test_a_cursor_of_another_sort_is_refused() -> None:
    token = Cursor(SortField.TOTAL, True, 100, "id").encode()
    with pytest.raises(BadCursor):
        Cursor.decode(token, sort=SortField.TOTAL, descending=False)
    with pytest.raises(BadCursor):
        Cursor.decode(token, sort=SortField.ITEM_COUNT, descending=True)


def test_keyset_condition_continues_after_the_cursor_in_both_directions() -> None:
    down = after_cursor("total_minor", Cursor(SortField.TOTAL, True, 100, "b"))
    assert down == {"$or": [{"total_minor": {"$lt": 100}}, {"total_minor": 100, "_id": {"$lt": "b"}}]}
    up = after_cursor("total_minor", Cursor(SortField.TOTAL, False, 100, "b"))
    assert up["$or"][1]["_id"] == {"$gt": "b"}
