"""Saved views of the order list, per staff member: list, save, delete (through the command loop;
no events: nothing outside the service needs them)."""

from __future__ import annotations

from oms_runtime.clock import Clock
from oms_runtime.commands import CommandLoop, Decision, Loaded, NoChange, RetryPolicy
from oms_runtime.paging import CursorPage, decode_cursor, encode_cursor

from oms_order.application.ports import SavedViewRepository
from oms_order.domain.order_list import BadCursor
from oms_order.domain.saved_views import (
    MAX_VIEWS_PER_PERSON,
    SavedView,
    TooManyViews,
    checked,
    new_view,
    view_id_for,
)


class ViewNotFound(LookupError):
    """No view of that id among the caller's own."""


class SavedViews:
    def __init__(self, views: SavedViewRepository, clock: Clock, policy: RetryPolicy) -> None:
        self.views = views
        self.clock = clock
        self.loop: CommandLoop[SavedView] = CommandLoop(views, policy, name="saved_views")

    async def page(self, shop_id: str, owner_id: str, cursor: str | None, limit: int) -> CursorPage[SavedView]:
        after = _decode(cursor) if cursor else None
        rows = await self.views.of_owner(shop_id, owner_id, after, limit + 1)
        return CursorPage[SavedView].from_rows(
            rows, limit, cursor_of=lambda last: encode_cursor(["v", last.name_key, last.view_id])
        )

    async def save(self, shop_id: str, owner_id: str, name: str, query: str) -> SavedView:
        """A new view (ViewNameTaken when the person has one of that name; TooManyViews at the limit)."""
        name, query = checked(name, query)
        if await self.views.count_of(shop_id, owner_id, MAX_VIEWS_PER_PERSON) >= MAX_VIEWS_PER_PERSON:
            raise TooManyViews(f"at most {MAX_VIEWS_PER_PERSON} saved views per person")
        at = self.clock.now()
        view_id = view_id_for(owner_id, name)

        def decide(loaded: Loaded[SavedView]) -> Decision[SavedView]:
            return Decision(loaded.state.saved_again(name, query, at), [])

        # A name never used starts as a deleted view, so that saving it and saving a deleted name
        # again are one decision (a live view of the name: ViewNameTaken).
        stored = await self.loop.run(
            shop_id, view_id, decide, new=lambda: new_view(shop_id, owner_id, name, query, at).removed()
        )
        return stored.state

    async def delete(self, shop_id: str, owner_id: str, view_id: str) -> None:
        def decide(loaded: Loaded[SavedView]) -> Decision[SavedView] | NoChange:
            if loaded.state.owner_id != owner_id or loaded.state.deleted:
                raise ViewNotFound(view_id)
            return Decision(loaded.state.removed(), [])

        await self.loop.run(shop_id, view_id, decide, missing=lambda: ViewNotFound(view_id))


def _decode(token: str) -> tuple[str, str]:
    try:
        kind, name_key, view_id = decode_cursor(token)
        if kind != "v" or not isinstance(name_key, str) or not isinstance(view_id, str):
            raise ValueError("not a views cursor")
    except ValueError as exc:
        raise BadCursor("not a cursor of this list") from exc
    return name_key, view_id
