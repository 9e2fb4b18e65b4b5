"""HTTP API of pipelines (admin writes, staff reads) and of the shop's pipeline settings."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from litestar import Controller, Response, get, post, put
from litestar.di import NamedDependency
from litestar.params import JSONBody, PathParameter
from oms_contracts import Actor
from oms_runtime.context import Ctx, RequestContext
from oms_runtime.paging import CursorPage
from oms_runtime.params import Cursor, Limit, VersionInQuery
from pydantic import BaseModel, Field

from oms_order.adapters.inbound.roles import ADMIN, ANY_STAFF
from oms_order.application.pipeline_definitions import (
    KEY_PATTERN,
    NewPipelineVersion,
    PipelineDefinition,
    PipelineSettings,
    PipelineSettingsBody,
    StoredPipeline,
)
from oms_order.application.pipelines import PipelineService
from oms_order.domain.pipeline import DEFAULT_PIPELINE_FOR

Pipelines = NamedDependency[PipelineService]
PipelineKey = Annotated[str, PathParameter(pattern=KEY_PATTERN)]


class PipelineView(PipelineDefinition):
    """One stored version of a pipeline."""

    key: str
    version: int
    ref: str = Field(description="key@version: what an order records")
    created_at: datetime | None
    created_by: Actor | None = Field(description="null: built in")
    comment: str | None


class PipelineSettingsView(BaseModel):
    pipeline_for: dict[str, str] = Field(description="Pipeline key per delivery type")
    statuses: dict[str, str] = Field(description="Customer-visible status per stage key, overriding the stage's own")
    version: int = Field(description="0: never saved (the defaults)")


def pipeline_view(stored: StoredPipeline) -> PipelineView:
    return PipelineView(
        key=stored.key,
        version=stored.version,
        ref=f"{stored.key}@{stored.version}",
        **stored.definition.model_dump(),
        created_at=stored.created_at,
        created_by=stored.created_by,
        comment=stored.comment,
    )


def settings_view(settings: PipelineSettings) -> PipelineSettingsView:
    return PipelineSettingsView(
        pipeline_for={d: settings.key_for(d) for d in sorted(DEFAULT_PIPELINE_FOR)},
        statuses=settings.statuses,
        version=settings.version,
    )


class PipelineController(Controller):
    path = "/pipelines"
    tags = ["pipelines"]

    @get("/", summary="The shop's pipelines (latest version of each), by key", guards=[ANY_STAFF])
    async def list_pipelines(
        self, ctx: Ctx, pipelines: Pipelines, cursor: Cursor = None, limit: Limit = 20
    ) -> CursorPage[PipelineView]:
        items, next_cursor = await pipelines.page(ctx.shop_id, cursor=cursor, limit=limit)
        return CursorPage(items=[pipeline_view(p) for p in items], next_cursor=next_cursor)

    @get("/{key:str}", summary="A pipeline: its latest version, or ?version=N", guards=[ANY_STAFF])
    async def get_one(
        self, ctx: Ctx, pipelines: Pipelines, key: PipelineKey, version: VersionInQuery = None
    ) -> PipelineView:
        return pipeline_view(await pipelines.get(ctx.shop_id, key, version))

    async def _new_version(
        self, ctx: RequestContext, pipelines: PipelineService, key: str, data: NewPipelineVersion
    ) -> Response[PipelineView]:
        stored = await pipelines.new_version(ctx.shop_id, key, data, actor=ctx.actor)
        location = f"/pipelines/{key}?version={stored.version}"
        return Response(pipeline_view(stored), status_code=201, headers={"Location": location})

    @put("/{key:str}", status_code=201, summary="Store a new version of the pipeline (admin)", guards=[ADMIN])
    async def put_one(
        self, ctx: Ctx, pipelines: Pipelines, key: PipelineKey, data: JSONBody[NewPipelineVersion]
    ) -> Response[PipelineView]:
        return await self._new_version(ctx, pipelines, key, data)

    @post("/{key:str}/versions", status_code=201, summary="Store a new version of the pipeline (admin)", guards=[ADMIN])
    async def post_version(
        self, ctx: Ctx, pipelines: Pipelines, key: PipelineKey, data: JSONBody[NewPipelineVersion]
    ) -> Response[PipelineView]:
        return await self._new_version(ctx, pipelines, key, data)


class PipelineSettingsController(Controller):
    path = "/pipeline-settings"
    tags = ["pipelines"]

    @get(
        "/",
        summary="Which pipeline each delivery type gets, and the customer-visible status per stage",
        guards=[ANY_STAFF],
    )
    async def get_settings(self, ctx: Ctx, pipelines: Pipelines) -> PipelineSettingsView:
        return settings_view(await pipelines.settings(ctx.shop_id, fresh=True))

    @put("/", status_code=200, summary="Change the pipeline settings (admin)", guards=[ADMIN])
    async def put_settings(
        self, ctx: Ctx, pipelines: Pipelines, data: JSONBody[PipelineSettingsBody]
    ) -> PipelineSettingsView:
        return settings_view(await pipelines.save_settings(ctx.shop_id, data, actor=ctx.actor))
