"""The VK Callback API endpoint (public through the gateway) and the organiser's VK settings."""

from __future__ import annotations

import hmac
from typing import Annotated, Any

from litestar import Controller, Request, Response, get, post, put
from litestar.connection import ASGIConnection
from litestar.di import NamedDependency
from litestar.exceptions import NotAuthorizedException
from litestar.handlers import BaseRouteHandler
from litestar.params import FromPath, JSONBody
from oms_runtime.context import INTERNAL_TOKEN_HEADER, Ctx, requires
from pydantic import BaseModel, Field

from oms_groupbuy.adapters.inbound.purchases_http import caller
from oms_groupbuy.application.intake import VkIntake
from oms_groupbuy.domain.vk import VkGroup

IntakeDep = NamedDependency[VkIntake]
GroupId = Annotated[int, Field(gt=0, le=2**53)]


class VkGroupIn(BaseModel):
    secret: Annotated[str, Field(min_length=8, max_length=50)] = Field(
        description="The secret key set in the community's Callback API settings"
    )
    confirmation: Annotated[str, Field(min_length=1, max_length=100)] = Field(
        description="The string VK asks the server to return to confirm it"
    )


class VkGroupView(BaseModel):
    group_id: int
    callback_path: str = Field(description="Where VK posts: the gateway's public URL plus this path")
    secret_set: bool

    @classmethod
    def of(cls, g: VkGroup) -> VkGroupView:
        return cls(group_id=g.group_id, callback_path=f"/webhooks/vk/{g.group_id}", secret_set=bool(g.secret))


class VkGroupsController(Controller):
    path = "/vk/groups"
    tags = ["VK intake"]
    guards = [requires("admin")]

    @put("/{group_id:int}", summary="Connect a VK community: its callback secret and confirmation string (admin)")
    async def connect(
        self, ctx: Ctx, intake: IntakeDep, group_id: FromPath[int], data: JSONBody[VkGroupIn]
    ) -> VkGroupView:
        return VkGroupView.of(await intake.connect(caller(ctx), group_id, data.secret, data.confirmation))

    @get("/{group_id:int}", summary="A connected VK community (admin)")
    async def connected(self, ctx: Ctx, intake: IntakeDep, group_id: FromPath[int]) -> VkGroupView:
        return VkGroupView.of(await intake.connected(caller(ctx), group_id))


def through_gateway(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
    """A public route has no shop or actor headers; the gateway's token still proves the path."""
    token = connection.headers.get(INTERNAL_TOKEN_HEADER, "")
    if not hmac.compare_digest(token.encode(), connection.app.state.settings.internal_token.encode()):
        raise NotAuthorizedException("requests reach services through the gateway")


@post(
    "/vk/callback/{group_id:int}",
    guards=[through_gateway],
    status_code=200,
    tags=["VK intake"],
    summary="VK Callback API: confirmation handshake, market_order_new / market_order_edit; answers as VK expects",
    media_type="text/plain",
)
async def vk_callback(request: Request[Any, Any, Any], intake: IntakeDep, group_id: FromPath[int]) -> Response[str]:
    body = await intake.callback(group_id, await request.body())
    return Response(body, media_type="text/plain; charset=utf-8")
