"""HTTP API of pipelines (admin), pipeline settings, and the stage actions on an order (advance, move)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated, Any

from litestar import Controller, Response, get, post, put
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody, PathParameter, QueryParameter
from oms_contracts.limits import INT64_MAX, Version
from oms_runtime.context import Ctx, RequestContext, requires
from oms_runtime.preconditions import IfMatch, expected_version
from oms_runtime.problems import Problem
from pydantic import BaseModel, Field

from oms_order.adapters.inbound.http import STAFF, _etag, _not_found, order_body
from oms_order.application.orders import OrderNotFound
from oms_order.application.pipelines import (
    KEY_PATTERN,
    InvalidPipeline,
    NewPipelineVersion,
    PipelineNotFound,
    PipelineService,
    PipelineSettings,
    PipelineSettingsBody,
    stored_pipeline_body,
)
from oms_order.application.ports import StoredOrder
from oms_order.application.stage_actions import StageActions
from oms_order.domain.order import NotResponsible
from oms_order.domain.pipeline import DEFAULT_PIPELINE_FOR, MoveRefused

MAX_PAGE = 100

ADMIN = requires("admin")
Pipelines = NamedDependency[PipelineService]
Stages = NamedDependency[StageActions]
PipelineKey = Annotated[str, PathParameter(pattern=KEY_PATTERN)]
OrderId = FromPath[str]


def _invalid(exc: InvalidPipeline) -> Problem:
    return Problem(
        422,
        "Invalid pipeline",
        str(exc),
        errors=[{"field": e.field, "message": e.message} for e in exc.errors],
    )


def settings_body(settings: PipelineSettings) -> dict[str, Any]:
    return {
        "pipeline_for": {d: settings.key_for(d) for d in sorted(DEFAULT_PIPELINE_FOR)},
        "statuses": settings.statuses,
        "version": settings.version,
    }


class PipelineController(Controller):
    path = "/pipelines"
    tags = ["pipelines"]

    @get("/", summary="The shop's pipelines (latest version of each), by key")
    async def list_pipelines(
        self,
        ctx: Ctx,
        pipelines: Pipelines,
        cursor: Annotated[str | None, QueryParameter(max_length=200)] = None,
        limit: Annotated[int, QueryParameter(ge=1, le=MAX_PAGE)] = 20,
    ) -> dict[str, Any]:
        ctx.require_role(*STAFF)
        items, next_cursor = await pipelines.page(ctx.shop_id, cursor=cursor, limit=limit)
        return {"items": [stored_pipeline_body(p) for p in items], "next_cursor": next_cursor}

    @get("/{key:str}", summary="A pipeline: its latest version, or ?version=N")
    async def get_one(
        self,
        ctx: Ctx,
        pipelines: Pipelines,
        key: PipelineKey,
        version: Annotated[int | None, QueryParameter(ge=1, le=INT64_MAX)] = None,
    ) -> dict[str, Any]:
        ctx.require_role(*STAFF)
        try:
            return stored_pipeline_body(await pipelines.get(ctx.shop_id, key, version))
        except PipelineNotFound as exc:
            raise Problem(404, "Not found", f"no pipeline {exc}") from exc

    async def _new_version(
        self, ctx: RequestContext, pipelines: PipelineService, key: str, data: NewPipelineVersion
    ) -> Response[dict[str, Any]]:
        try:
            stored = await pipelines.new_version(ctx.shop_id, key, data, actor=ctx.actor)
        except InvalidPipeline as exc:
            raise _invalid(exc) from exc
        body = stored_pipeline_body(stored)
        return Response(body, status_code=201, headers={"Location": f"/pipelines/{key}?version={stored.version}"})

    @put("/{key:str}", status_code=201, summary="Store a new version of the pipeline (admin)", guards=[ADMIN])
    async def put_one(
        self, ctx: Ctx, pipelines: Pipelines, key: PipelineKey, data: JSONBody[NewPipelineVersion]
    ) -> Response[dict[str, Any]]:
        return await self._new_version(ctx, pipelines, key, data)

    @post("/{key:str}/versions", status_code=201, summary="Store a new version of the pipeline (admin)", guards=[ADMIN])
    async def post_version(
        self, ctx: Ctx, pipelines: Pipelines, key: PipelineKey, data: JSONBody[NewPipelineVersion]
    ) -> Response[dict[str, Any]]:
        return await self._new_version(ctx, pipelines, key, data)


class PipelineSettingsController(Controller):
    path = "/pipeline-settings"
    tags = ["pipelines"]

    @get("/", summary="Which pipeline each delivery type gets, and the customer-visible status per stage")
    async def get_settings(self, ctx: Ctx, pipelines: Pipelines) -> dict[str, Any]:
        ctx.require_role(*STAFF)
        return settings_body(await pipelines.settings(ctx.shop_id))

    @put("/", status_code=200, summary="Change the pipeline settings (admin)", guards=[ADMIN])
    async def put_settings(
        self, ctx: Ctx, pipelines: Pipelines, data: JSONBody[PipelineSettingsBody]
    ) -> dict[str, Any]:
        try:
            saved = await pipelines.save_settings(ctx.shop_id, data, actor=ctx.actor)
        except InvalidPipeline as exc:
            raise _invalid(exc) from exc
        return settings_body(saved)


class StageAction(BaseModel):
    expected_version: Version | None = Field(
        default=None, description="Fail with 409 if the order changed since (or send If-Match)"
    )
    comment: str | None = Field(default=None, max_length=500)


class MoveOrder(StageAction):
    to: str = Field(pattern=KEY_PATTERN, description="A target of the current stage's exits, or the cancel stage")


def _acting(ctx: RequestContext) -> dict[str, Any]:
    return {"actor": ctx.actor, "channel": ctx.channel, "correlation_id": ctx.correlation_id}


async def _stage_step(
    call: Awaitable[StoredOrder], order_id: str, refused: Callable[[MoveRefused], Problem]
) -> Response[dict[str, Any]]:
    """Advance or move: the same answers, but for how a refused move is told (409 vs 422 on `to`)."""
    try:
        stored = await call
    except OrderNotFound as exc:
        raise _not_found(order_id) from exc
    except NotResponsible as exc:
        raise Problem(403, "Forbidden", str(exc)) from exc
    except MoveRefused as exc:
        raise refused(exc) from exc
    return Response(order_body(stored), headers={"ETag": _etag(stored)})


class StageController(Controller):
    path = "/orders"
    tags = ["orders"]

    @post(
        "/{order_id:str}/advance",
        status_code=200,
        summary="Finish the current (manual) stage: on to the next",
        guards=[requires(*STAFF)],
    )
    async def advance(
        self, ctx: Ctx, stages: Stages, order_id: OrderId, data: JSONBody[StageAction], if_match: IfMatch = None
    ) -> Response[dict[str, Any]]:
        expected = expected_version(if_match, data.expected_version)

        def refused(exc: MoveRefused) -> Problem:
            return Problem(409, "Stage cannot be advanced", str(exc))

        return await _stage_step(
            stages.advance(ctx.shop_id, order_id, expected_version=expected, comment=data.comment, **_acting(ctx)),
            order_id,
            refused,
        )

    @post(
        "/{order_id:str}/move", status_code=200, summary="Move the order to an allowed stage", guards=[requires(*STAFF)]
    )
    async def move(
        self, ctx: Ctx, stages: Stages, order_id: OrderId, data: JSONBody[MoveOrder], if_match: IfMatch = None
    ) -> Response[dict[str, Any]]:
        expected = expected_version(if_match, data.expected_version)

        def refused(exc: MoveRefused) -> Problem:
            return Problem(422, "Move not allowed", str(exc), errors=[{"field": "to", "message": str(exc)}])

        return await _stage_step(
            stages.move(
                ctx.shop_id, order_id, data.to, expected_version=expected, comment=data.comment, **_acting(ctx)
            ),
            order_id,
            refused,
        )
