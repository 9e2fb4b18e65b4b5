"""Saved views of the order list (pure): the name and query rules, one id per person and name."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from oms_order.domain.saved_views import InvalidView, ViewNameTaken, checked, new_view, view_id_for

AT = datetime(2026, 3, 1, tzinfo=UTC)


def test_a_name_is_trimmed_and_a_query_is_a_plain_query_string() -> None:
    assert checked("  Big   ones ", "?stage=new&sort=total") == ("Big ones", "stage=new&sort=total")
    for name, query, field in (
        ("", "a=1", "name"),
        ("x" * 81, "", "name"),
        ("ok", "a=1 b", "query"),
        ("ok", "a\x00", "query"),
    ):
        with pytest.raises(InvalidView) as refused:
            checked(name, query)
        assert refused.value.field == field


def test_one_id_per_person_and_folded_name() -> None:
    assert view_id_for("m1", "Big Ones") == view_id_for("m1", "  big   ones") != view_id_for("m2", "Big Ones")
    assert view_id_for("m1", "Ёлка") == view_id_for("m1", "елка")


def test_a_live_view_cannot_be_saved_again_a_deleted_one_can() -> None:
    view = new_view("s1", "m1", "Big ones", "sort=total", AT)
    with pytest.raises(ViewNameTaken):
        view.saved_again("Big ones", "stage=new", AT)
    again = view.removed().saved_again("big ones", "stage=new", AT)
    assert (again.deleted, again.query, again.view_id) == (False, "stage=new", view.view_id)
