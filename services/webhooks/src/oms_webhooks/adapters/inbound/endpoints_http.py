"""HTTP API (reached through the gateway at /api/v1/webhooks): a shop's webhook endpoints and their
delivery logs. Admins only."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from litestar import Controller, get, patch, post
from litestar.di import NamedDependency
from litestar.params import JSONBody, PathParameter
from oms_contracts.limits import Version
from oms_runtime.context import Ctx, requires
from oms_runtime.paging import DEFAULT_PAGE_SIZE, CursorPage
from oms_runtime.params import Cursor, Limit, idempotency_key_header
from oms_runtime.preconditions import IfMatch, expected_version
from pydantic import BaseModel, Field

from oms_webhooks.application.deliveries import Deliveries
from oms_webhooks.application.endpoints import Endpoints
from oms_webhooks.domain.delivery import Attempt, Delivery
from oms_webhooks.domain.endpoint import MAX_URL_LENGTH, DisabledReason, Endpoint
from oms_webhooks.domain.events import EVENT_TYPES

EndpointsDep = NamedDependency[Endpoints]
DeliveriesDep = NamedDependency[Deliveries]
EndpointId = Annotated[str, PathParameter(min_length=1, max_length=64, description="The endpoint's id")]
IdempotencyKey = Annotated[
    str | None, idempotency_key_header("Same key and body: the endpoint made the first time, with its secret")
]

_TYPES = ", ".join(f"`{t.name}` ({t.group})" for t in EVENT_TYPES)
EventTypeName = Annotated[str, Field(min_length=1, max_length=64)]


class EndpointIn(BaseModel):
    url: str = Field(min_length=1, max_length=MAX_URL_LENGTH, description="http(s), without credentials in it")
    event_types: list[EventTypeName] = Field(min_length=1, max_length=32, description=f"Any of: {_TYPES}")
    description: str = Field(default="", max_length=500)
    enabled: bool = True


class EndpointPatch(BaseModel):
    url: str | None = Field(default=None, min_length=1, max_length=MAX_URL_LENGTH)
    event_types: list[EventTypeName] | None = Field(default=None, min_length=1, max_length=32)
    description: str | None = Field(default=None, max_length=500)
    enabled: bool | None = Field(
        default=None, description="true: enabled again (queued deliveries resume); false: deliveries queue"
    )
    expected_version: Version | None = Field(default=None, description="Refused with 409 if the endpoint moved on")


class EndpointView(BaseModel):
    endpoint_id: str
    url: str
    event_types: list[str]
    description: str
    enabled: bool
    disabled_reason: DisabledReason | None = Field(description="admin, or failing: too many failures in a row")
    disabled_at: datetime | None
    consecutive_failures: int
    previous_secret_valid_until: datetime | None = Field(description="After a rotation the old secret signs too")
    created_at: datetime
    updated_at: datetime
    version: int

    @classmethod
    def of(cls, e: Endpoint, version: int) -> EndpointView:
        return cls(
            endpoint_id=e.endpoint_id,
            url=e.url,
            event_types=list(e.event_types),
            description=e.description,
            enabled=e.enabled,
            disabled_reason=e.disabled_reason,
            disabled_at=e.disabled_at,
            consecutive_failures=e.consecutive_failures,
            previous_secret_valid_until=e.previous_secret_until,
            created_at=e.created_at,
            updated_at=e.updated_at,
            version=version,
        )


class EndpointCreated(EndpointView):
    secret: str = Field(description="The signing secret (whsec_…): shown only here and after a rotation")


class SecretView(BaseModel):
    endpoint_id: str
    secret: str = Field(description="The new signing secret (whsec_…), shown only now")
    previous_secret_valid_until: datetime | None


class AttemptView(BaseModel):
    at: datetime
    status_code: int | None = Field(description="null when no answer came (timeout, refused, unreachable)")
    error: str | None
    duration_ms: int

    @classmethod
    def of(cls, a: Attempt) -> AttemptView:
        return cls(at=a.at, status_code=a.status_code, error=a.error, duration_ms=a.duration_ms)


class DeliveryView(BaseModel):
    delivery_id: str
    webhook_id: str = Field(description="The webhook-id header: the same for every attempt")
    event_id: str
    event_type: str
    order_id: str
    seq: int = Field(description="Order within the lane (endpoint, order)")
    status: str = Field(description="pending, delivered, failed (given up)")
    attempt_count: int
    next_attempt_at: datetime | None
    last_status_code: int | None
    last_error: str | None
    attempts: list[AttemptView] = Field(description="The last ten attempts, oldest first")
    created_at: datetime
    finished_at: datetime | None

    @classmethod
    def of(cls, d: Delivery) -> DeliveryView:
        last = d.last
        return cls(
            delivery_id=d.delivery_id,
            webhook_id=d.webhook_id,
            event_id=d.event_id,
            event_type=d.event_type,
            order_id=d.order_id,
            seq=d.seq,
            status=d.status,
            attempt_count=d.attempt_count,
            next_attempt_at=d.next_attempt_at,
            last_status_code=last.status_code if last else None,
            last_error=last.error if last else None,
            attempts=[AttemptView.of(a) for a in d.attempts],
            created_at=d.created_at,
            finished_at=d.finished_at,
        )


class EndpointsController(Controller):
    path = "/endpoints"
    tags = ["webhooks"]
    guards = [requires("admin")]

    @post("/", summary="Add a webhook endpoint (its signing secret is in this answer only)", status_code=201)
    async def create(
        self, ctx: Ctx, endpoints: EndpointsDep, data: JSONBody[EndpointIn], idempotency_key: IdempotencyKey = None
    ) -> EndpointCreated:
        made = await endpoints.create(
            ctx.shop_id,
            url=data.url,
            event_types=data.event_types,
            description=data.description,
            enabled=data.enabled,
            idempotency_key=idempotency_key,
        )
        return EndpointCreated(**EndpointView.of(made, 1).model_dump(), secret=made.secret)

    @get("/", summary="The shop's webhook endpoints, oldest first")
    async def list_endpoints(
        self, ctx: Ctx, endpoints: EndpointsDep, cursor: Cursor = None, limit: Limit = DEFAULT_PAGE_SIZE
    ) -> CursorPage[EndpointView]:
        page = await endpoints.page(ctx.shop_id, cursor, limit)
        return page.map(lambda loaded: EndpointView.of(loaded.state, loaded.version))

    @get("/{endpoint_id:str}", summary="One webhook endpoint")
    async def get_endpoint(self, ctx: Ctx, endpoints: EndpointsDep, endpoint_id: EndpointId) -> EndpointView:
        loaded = await endpoints.get(ctx.shop_id, endpoint_id)
        return EndpointView.of(loaded.state, loaded.version)

    @patch("/{endpoint_id:str}", summary="Edit, disable, or enable again (queued deliveries resume)")
    async def update(
        self,
        ctx: Ctx,
        endpoints: EndpointsDep,
        endpoint_id: EndpointId,
        data: JSONBody[EndpointPatch],
        if_match: IfMatch = None,
    ) -> EndpointView:
        loaded = await endpoints.update(
            ctx.shop_id,
            endpoint_id,
            url=data.url,
            event_types=data.event_types,
            description=data.description,
            enabled=data.enabled,
            expected_version=expected_version(if_match, data.expected_version),
        )
        return EndpointView.of(loaded.state, loaded.version)

    @post(
        "/{endpoint_id:str}/rotate-secret",
        summary="A new signing secret; the old one signs too for a grace period (a day)",
        status_code=200,
    )
    async def rotate_secret(self, ctx: Ctx, endpoints: EndpointsDep, endpoint_id: EndpointId) -> SecretView:
        rotated = await endpoints.rotate_secret(ctx.shop_id, endpoint_id)
        return SecretView(
            endpoint_id=rotated.endpoint_id,
            secret=rotated.secret,
            previous_secret_valid_until=rotated.previous_secret_until,
        )

    @get("/{endpoint_id:str}/deliveries", summary="The endpoint's delivery log, newest first")
    async def deliveries(
        self,
        ctx: Ctx,
        deliveries: DeliveriesDep,
        endpoint_id: EndpointId,
        cursor: Cursor = None,
        limit: Limit = DEFAULT_PAGE_SIZE,
    ) -> CursorPage[DeliveryView]:
        return (await deliveries.page(ctx.shop_id, endpoint_id, cursor, limit)).map(DeliveryView.of)
