"""HTTP API of the stage actions on an order: advance (the stage's manual exit) and move."""

from __future__ import annotations

from litestar import Controller, Response, post
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody
from oms_contracts.limits import Version
from oms_runtime.context import Ctx
from oms_runtime.preconditions import IfMatch, expected_version
from pydantic import BaseModel, Field

from oms_order.adapters.inbound.order_views import OrderView, with_etag
from oms_order.adapters.inbound.roles import ANY_STAFF
from oms_order.application.pipeline_definitions import KEY_PATTERN
from oms_order.application.stage_actions import StageActions

Stages = NamedDependency[StageActions]
OrderId = FromPath[str]


class StageAction(BaseModel):
    expected_version: Version | None = Field(
        default=None, description="Fail with 409 if the order changed since (or send If-Match)"
    )
    comment: str | None = Field(default=None, max_length=500)


class MoveOrder(StageAction):
    to: str = Field(pattern=KEY_PATTERN, description="A target of the current stage's exits, or the cancel stage")


class StageController(Controller):
    path = "/orders"
    tags = ["orders"]
    # Any staff member may ask; the stage decides (its responsible role, or admin: NotResponsible → 403).
    guards = [ANY_STAFF]

    @post("/{order_id:str}/advance", status_code=200, summary="Finish the current (manual) stage: on to the next")
    async def advance(
        self, ctx: Ctx, stages: Stages, order_id: OrderId, data: JSONBody[StageAction], if_match: IfMatch = None
    ) -> Response[OrderView]:
        stored = await stages.advance(
            ctx.shop_id,
            order_id,
            actor=ctx.actor,
            channel=ctx.channel,
            expected_version=expected_version(if_match, data.expected_version),
            comment=data.comment,
            correlation_id=ctx.correlation_id,
        )
        return with_etag(stored)

    @post("/{order_id:str}/move", status_code=200, summary="Move the order to an allowed stage")
    async def move(
        self, ctx: Ctx, stages: Stages, order_id: OrderId, data: JSONBody[MoveOrder], if_match: IfMatch = None
    ) -> Response[OrderView]:
        stored = await stages.move(
            ctx.shop_id,
            order_id,
            data.to,
            actor=ctx.actor,
            channel=ctx.channel,
            expected_version=expected_version(if_match, data.expected_version),
            comment=data.comment,
            correlation_id=ctx.correlation_id,
        )
        return with_etag(stored)
