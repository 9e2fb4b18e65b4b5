"""One cursor page type: read limit + 1, answer limit items and the cursor of the last when there are more."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from oms_runtime.paging import CursorPage, decode_cursor, encode_cursor
from pydantic import BaseModel


@dataclass(frozen=True)
class Message:
    message_id: str


class MessageView(BaseModel):
    id: str


def rows(n: int) -> list[Message]:
    return [Message(f"m{i}") for i in range(n)]


def test_a_full_page_with_more_names_its_last_item_as_the_cursor():
    page = CursorPage[Message].from_rows(rows(3), 2, cursor_of=lambda m: m.message_id)
    assert page.items == rows(2) and page.next_cursor == "m1"


def test_the_last_page_has_no_cursor():
    assert CursorPage[Message].from_rows(rows(2), 2, cursor_of=lambda m: m.message_id).next_cursor is None
    assert CursorPage[Message].from_rows([], 2, cursor_of=lambda m: m.message_id) == CursorPage[Message](
        items=[], next_cursor=None
    )


def test_a_page_maps_to_its_views_and_serialises_as_items_and_next_cursor():
    page = CursorPage[Message].from_rows(rows(2), 1, cursor_of=lambda m: m.message_id)
    views = page.map(lambda m: MessageView(id=m.message_id))
    assert views.model_dump(mode="json") == {"items": [{"id": "m0"}], "next_cursor": "m0"}
    schema = CursorPage[MessageView].model_json_schema()
    assert set(schema["required"]) == {"items", "next_cursor"}


def test_a_cursor_gives_back_the_parts_it_was_made_of():
    parts = ["placed_at", True, "t", "2026-12-02T10:00:00+00:00", "ord-1"]
    token = encode_cursor(parts)
    assert "=" not in token and "/" not in token and "+" not in token
    assert decode_cursor(token) == parts


@pytest.mark.parametrize("token", ["", "not base64!", "e30", "bnVsbA"])
def test_what_is_no_cursor_is_refused_as_a_value_error(token: str):
    # "e30" is `{}` and "bnVsbA" is `null`: JSON, but no list of parts.
    with pytest.raises(ValueError):
        decode_cursor(token)
