"""HTTP API of a staff member's saved views of the order list: `GET/POST /orders/views`,
`DELETE /orders/views/{view_id}` (each person sees and changes only their own)."""

from __future__ import annotations

from datetime import datetime

from litestar import Controller, delete, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody
from oms_runtime.context import Ctx
from oms_runtime.paging import CursorPage
from oms_runtime.params import DEFAULT_PAGE_SIZE, Cursor, Limit
from pydantic import BaseModel, ConfigDict, Field

from oms_order.adapters.inbound.roles import MANAGER
from oms_order.application.saved_views import SavedViews
from oms_order.domain.saved_views import MAX_NAME, MAX_QUERY, SavedView

Views = NamedDependency[SavedViews]


class SaveViewRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=MAX_NAME)
    query: str = Field(
        max_length=MAX_QUERY,
        description="The order list's query string (filters, sort, grouping) as the console's URL holds it, "
        "without `?`; e.g. `stage=call_back&sort=total`",
    )


class SavedViewView(BaseModel):
    view_id: str
    name: str
    query: str
    created_at: datetime

    @classmethod
    def of(cls, view: SavedView) -> SavedViewView:
        return cls(view_id=view.view_id, name=view.name, query=view.query, created_at=view.created_at)


class SavedViewController(Controller):
    path = "/orders/views"
    tags = ["order lists"]
    guards = [MANAGER]

    @get("/", summary="My saved views of the order list, by name")
    async def list_views(
        self, ctx: Ctx, views: Views, cursor: Cursor = None, limit: Limit = DEFAULT_PAGE_SIZE
    ) -> CursorPage[SavedViewView]:
        return (await views.page(ctx.shop_id, ctx.actor.id, cursor, limit)).map(SavedViewView.of)

    @post("/", status_code=201, summary="Save a view of the order list under a name (409 when I have that name)")
    async def save_view(self, ctx: Ctx, views: Views, data: JSONBody[SaveViewRequest]) -> SavedViewView:
        return SavedViewView.of(await views.save(ctx.shop_id, ctx.actor.id, data.name, data.query))

    @delete("/{view_id:str}", status_code=204, summary="Delete one of my saved views")
    async def delete_view(self, ctx: Ctx, views: Views, view_id: FromPath[str]) -> None:
        await views.delete(ctx.shop_id, ctx.actor.id, view_id)
