"""Returns (RMA) over HTTP, reached through the gateway (`/api/v1/returns…` → `/returns…`)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from litestar import Controller, Response, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody, PathParameter, QueryParameter
from oms_contracts import Actor, Money
from oms_contracts.limits import LineQuantity
from oms_contracts.messages.common import Sku
from oms_runtime.context import Ctx, RequestContext, requires
from oms_runtime.errors import FieldError
from oms_runtime.paging import DEFAULT_PAGE_SIZE, CursorPage
from oms_runtime.params import Cursor, Limit, TimeInQuery, aware_time, idempotency_key_header
from oms_runtime.preconditions import IfMatch, etag
from pydantic import BaseModel, ConfigDict, Field
from typing_extensions import TypedDict

from oms_fulfilment.adapters.inbound.shipments_http import command_options
from oms_fulfilment.application.link_returns import LinkReturns
from oms_fulfilment.application.returns import ReturnsService
from oms_fulfilment.domain.returns import RequestedLine, Return, ReturnStatus, Verdict

REQUESTERS = ("storefront", "admin", "manager")
READERS = ("admin", "manager", "warehouse", "storefront")
LISTERS = ("admin", "manager", "warehouse")
DECIDERS = ("admin", "manager")
WAREHOUSE = ("warehouse", "admin")

Returns = NamedDependency[ReturnsService]
ReturnId = FromPath[str]
IdempotencyKey = Annotated[
    str | None,
    idempotency_key_header("Same key and lines: the same return again (Idempotent-Replayed: true); other lines: 422"),
]


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ReturnLineIn(_Body):
    sku: Sku
    quantity: LineQuantity
    reason: str = Field(min_length=1, max_length=500)


class ReturnRequestIn(_Body):
    order_id: str = Field(min_length=1, max_length=64)
    lines: list[ReturnLineIn] = Field(min_length=1, max_length=500)


class RejectIn(_Body):
    reason: str = Field(min_length=1, max_length=500)


class ReceiveIn(_Body):
    warehouse_id: str = Field(min_length=1, max_length=64)


class VerdictIn(_Body):
    sku: Sku
    restock: int = Field(ge=0, le=100_000, description="Units fit for sale: back on the shelf")
    write_off: int = Field(ge=0, le=100_000, description="Units not fit for sale")


class InspectIn(_Body):
    lines: list[VerdictIn] = Field(min_length=1, max_length=500)


class ReturnLineOut(BaseModel):
    sku: str
    quantity: int
    reason: str


class InspectedLineOut(BaseModel):
    sku: str
    restock: int
    write_off: int
    refund: Money | None


# "from" is a keyword: a TypedDict keeps the public key.
ReturnChangeOut = TypedDict(
    "ReturnChangeOut", {"at": datetime, "actor": Actor, "from": str | None, "to": str, "note": str | None}
)


class ReturnOut(BaseModel):
    """A return as staff see it: who asked, the warehouse, the inspection, the refund, the history."""

    return_id: str
    rma_number: str
    order_id: str
    order_number: int | None
    status: ReturnStatus
    lines: list[ReturnLineOut]
    requested_by: Actor
    warehouse_id: str | None
    inspection: list[InspectedLineOut]
    refund: Money | None
    refund_request_id: str | None
    refund_id: str | None
    refunded: Money | None
    fully_returned: bool
    rejection_reason: str | None
    history: list[ReturnChangeOut]
    version: int
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, item: Return) -> ReturnOut:
        return cls(
            return_id=item.return_id,
            rma_number=item.rma_number,
            order_id=item.order_id,
            order_number=item.order_number,
            status=item.status,
            lines=[ReturnLineOut(sku=line.sku, quantity=line.quantity, reason=line.reason) for line in item.lines],
            requested_by=item.requested_by,
            warehouse_id=item.warehouse_id,
            inspection=[
                InspectedLineOut(sku=v.sku, restock=v.restock, write_off=v.write_off, refund=v.refund)
                for v in item.verdicts
            ],
            refund=item.refund,
            refund_request_id=item.refund_request_id,
            refund_id=item.refund_id,
            refunded=item.refunded,
            fully_returned=item.fully_returned,
            rejection_reason=item.rejection_reason,
            history=[
                {
                    "at": change.at,
                    "actor": change.actor,
                    "from": change.from_status.value if change.from_status is not None else None,
                    "to": change.to_status.value,
                    "note": change.note,
                }
                for change in item.history
            ],
            version=item.version,
            created_at=item.created_at,
            updated_at=item.updated_at,
        )


class CustomerReturnLine(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    sku: str
    quantity: int
    reason: str


class CustomerReturnView(BaseModel):
    """What a storefront shows its customer of a return: no staff, warehouse or inspection details."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    return_id: str
    rma_number: str
    order_id: str
    order_number: int | None
    status: str
    lines: list[CustomerReturnLine]
    rejection_reason: str | None
    refund: Money | None
    refunded: Money | None
    created_at: datetime
    updated_at: datetime


def customer_view(item: Return) -> CustomerReturnView:
    return CustomerReturnView(
        return_id=item.return_id,
        rma_number=item.rma_number,
        order_id=item.order_id,
        order_number=item.order_number,
        status=item.status.value,
        lines=[CustomerReturnLine(sku=ln.sku, quantity=ln.quantity, reason=ln.reason) for ln in item.lines],
        rejection_reason=item.rejection_reason,
        refund=item.refund,
        refunded=item.refunded,
        created_at=item.created_at,
        updated_at=item.updated_at,
    )


AnyReturnView = ReturnOut | CustomerReturnView


def respond(item: Return, ctx: RequestContext, status_code: int = 200) -> Response[AnyReturnView]:
    """Staff see the whole return; anyone else (a storefront) the customer view. The caller is always
    named, so a route opened to storefronts later cannot fall back to the staff view."""
    body: AnyReturnView = ReturnOut.of(item) if ctx.actor.kind == "staff" else customer_view(item)
    return Response(body, status_code=status_code, headers={"ETag": etag(item.version)})


class ReturnReasonOut(BaseModel):
    reason: str
    returns: int = Field(description="Returns with a line giving this reason")
    lines: int
    units: int
    rejected: int = Field(description="Of those returns, how many were rejected")


class ReturnReasonsOut(BaseModel):
    since: datetime
    until: datetime
    reasons: list[ReturnReasonOut] = Field(description="The most units first")
    truncated: bool = Field(description="More returns in the period than one overview reads: the oldest are counted")


class ReturnController(Controller):
    path = "/returns"
    tags = ["returns"]

    @post(
        "/",
        status_code=201,
        summary="Ask to return some or all delivered lines of an order (a storefront gets the customer view)",
        guards=[requires(*REQUESTERS)],
    )
    async def request_return(
        self, ctx: Ctx, returns: Returns, data: JSONBody[ReturnRequestIn], idempotency_key: IdempotencyKey = None
    ) -> Response[AnyReturnView]:
        lines = [RequestedLine(line.sku, line.quantity, line.reason) for line in data.lines]
        made = await returns.request(
            ctx.shop_id,
            data.order_id,
            lines,
            ctx.actor,
            correlation_id=ctx.correlation_id,
            idempotency_key=idempotency_key,
        )
        response = respond(made.item, ctx, status_code=201)
        if made.replayed:
            response.headers["Idempotent-Replayed"] = "true"
        return response

    @get("/", summary="List returns, oldest first, a page at a time", guards=[requires(*LISTERS)])
    async def list_returns(
        self,
        ctx: Ctx,
        returns: Returns,
        order_id: Annotated[str | None, QueryParameter(max_length=64)] = None,
        status: Annotated[ReturnStatus | None, QueryParameter()] = None,
        cursor: Cursor = None,
        limit: Limit = DEFAULT_PAGE_SIZE,
    ) -> CursorPage[ReturnOut]:
        page = await returns.find(ctx.shop_id, order_id=order_id, status=status, cursor=cursor, limit=limit)
        return page.map(ReturnOut.of)

    @get(
        "/reasons",
        summary="Per reason customers gave: the returns asked for in a period, their lines, units, how many rejected",
        guards=[requires(*DECIDERS)],
    )
    async def reasons(
        self, ctx: Ctx, returns: Returns, since: TimeInQuery = None, until: TimeInQuery = None
    ) -> ReturnReasonsOut:
        start, end = aware_time("since", since), aware_time("until", until)
        if start is None:
            raise FieldError("since", "is required")
        if end is None:
            raise FieldError("until", "is required")
        found, truncated = await returns.reasons(ctx.shop_id, start, end)
        return ReturnReasonsOut(
            since=start,
            until=end,
            reasons=[
                ReturnReasonOut(reason=r.reason, returns=r.returns, lines=r.lines, units=r.units, rejected=r.rejected)
                for r in found
            ],
            truncated=truncated,
        )

    @get("/{return_id:str}", summary="One return (a storefront gets the customer view)", guards=[requires(*READERS)])
    async def get_return(self, ctx: Ctx, returns: Returns, return_id: ReturnId) -> Response[AnyReturnView]:
        return respond(await returns.get(ctx.shop_id, return_id), ctx)

    @post(
        "/{return_id:str}/approve",
        status_code=200,
        summary="A manager accepts the return",
        guards=[requires(*DECIDERS)],
    )
    async def approve(
        self, ctx: Ctx, returns: Returns, return_id: ReturnId, if_match: IfMatch = None
    ) -> Response[AnyReturnView]:
        return respond(await returns.approve(ctx.shop_id, return_id, ctx.actor, **command_options(ctx, if_match)), ctx)

    @post(
        "/{return_id:str}/reject",
        status_code=200,
        summary="A manager refuses the return, with a reason",
        guards=[requires(*DECIDERS)],
    )
    async def reject(
        self, ctx: Ctx, returns: Returns, return_id: ReturnId, data: JSONBody[RejectIn], if_match: IfMatch = None
    ) -> Response[AnyReturnView]:
        item = await returns.reject(ctx.shop_id, return_id, data.reason, ctx.actor, **command_options(ctx, if_match))
        return respond(item, ctx)

    @post(
        "/{return_id:str}/receive",
        status_code=200,
        summary="The returned parcel arrived at a warehouse",
        guards=[requires(*WAREHOUSE)],
    )
    async def receive(
        self, ctx: Ctx, returns: Returns, return_id: ReturnId, data: JSONBody[ReceiveIn], if_match: IfMatch = None
    ) -> Response[AnyReturnView]:
        item = await returns.receive(
            ctx.shop_id, return_id, data.warehouse_id, ctx.actor, **command_options(ctx, if_match)
        )
        return respond(item, ctx)

    @post(
        "/{return_id:str}/inspect",
        status_code=200,
        summary="Per line: restock or write off; refund follows",
        guards=[requires(*WAREHOUSE)],
    )
    async def inspect(
        self, ctx: Ctx, returns: Returns, return_id: ReturnId, data: JSONBody[InspectIn], if_match: IfMatch = None
    ) -> Response[AnyReturnView]:
        verdicts = [Verdict(line.sku, line.restock, line.write_off) for line in data.lines]
        item = await returns.inspect(ctx.shop_id, return_id, verdicts, ctx.actor, **command_options(ctx, if_match))
        return respond(item, ctx)


class LinkReturnIn(_Body):
    lines: list[ReturnLineIn] = Field(min_length=1, max_length=500)


LinkToken = Annotated[str, PathParameter(min_length=20, max_length=1000, description="The order-status link's token")]


class OrderLinkReturnController(Controller):
    """The customer asks for a return on their order-status link: no credential, the token is the key."""

    path = "/order-returns/{token:str}"
    tags = ["returns"]

    @post("/", status_code=201, summary="The customer asks to return delivered lines (by the order-status link)")
    async def request_return(
        self,
        link_returns: NamedDependency[LinkReturns],
        token: LinkToken,
        data: JSONBody[LinkReturnIn],
        idempotency_key: IdempotencyKey = None,
    ) -> Response[CustomerReturnView]:
        lines = [RequestedLine(line.sku, line.quantity, line.reason) for line in data.lines]
        made = await link_returns.request(token, lines, idempotency_key=idempotency_key)
        headers = {"ETag": etag(made.item.version)}
        if made.replayed:
            headers["Idempotent-Replayed"] = "true"
        return Response(customer_view(made.item), status_code=201, headers=headers)
