"""THE cursor page: every list a service answers is a `CursorPage[T]` (`items`, `next_cursor`).

Pure pydantic (no litestar): the application may return it, a route answers it. The query
parameters of a list are `oms_runtime.params.Limit` and `oms_runtime.params.Cursor`.

    # application: read one more than asked, to know whether there is a next page
    rows = await self.messages.page(shop_id, conversation_id, after=cursor, limit=limit + 1)
    return CursorPage.from_rows(rows, limit, cursor_of=lambda m: m.message_id)

    # adapters/inbound/<feature>_http.py
    @get("/orders/{order_id:str}/messages")
    async def messages(self, ctx: Ctx, conversations: Conversations,
                       cursor: Cursor = None, limit: Limit = DEFAULT_PAGE_SIZE) -> CursorPage[MessageView]:
        page = await conversations.messages(ctx.shop_id, order_id, cursor=cursor, limit=limit)
        return page.map(MessageView.of)
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Sequence
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field

T = TypeVar("T")
U = TypeVar("U")

DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 100


def encode_cursor(parts: Sequence[Any]) -> str:
    """An opaque cursor for a keyset position of several JSON values (the sort, its direction, the
    last row's sort value and id): compact JSON in URL-safe base64 without padding.

        next_cursor = encode_cursor([sort.value, descending, str(last.placed_at), last.order_id])
    """
    raw = json.dumps(list(parts), separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(token: str) -> list[Any]:
    """The parts `encode_cursor` packed. Raises ValueError for anything else; the caller checks the
    parts (their number, types, that they belong to the sort asked for) and names its field."""
    try:
        parts = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
    except (binascii.Error, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError("not a cursor") from exc
    if not isinstance(parts, list):
        raise ValueError("not a cursor")
    return parts


class CursorPage(BaseModel, Generic[T]):
    """One page of a list, oldest or newest first as the list documents; `next_cursor` is null on the last."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    items: list[T]
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page; null on the last page")

    @classmethod
    def from_rows(cls, rows: Sequence[T], limit: int, *, cursor_of: Callable[[T], str]) -> CursorPage[T]:
        """The page of `rows` read with `limit + 1`: the extra row only says that there is a next page."""
        items = list(rows[:limit])
        more = len(rows) > limit and bool(items)
        return cls(items=items, next_cursor=cursor_of(items[-1]) if more else None)

    def map(self, convert: Callable[[T], U]) -> CursorPage[U]:
        """The same page with every item converted (a domain object to its response view)."""
        page: CursorPage[Any] = CursorPage[Any](
            items=[convert(item) for item in self.items], next_cursor=self.next_cursor
        )
        return page
