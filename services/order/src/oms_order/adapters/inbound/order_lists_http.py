"""HTTP API of the order lists (operations team): search, groups, CSV export, and an order's audit trail."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime
from typing import Annotated, Any, Literal

from litestar import Controller, get
from litestar.di import NamedDependency, Provide
from litestar.openapi import ResponseSpec
from litestar.params import FromPath, QueryParameter
from litestar.response import Stream
from oms_contracts import Actor
from oms_runtime.context import Ctx
from oms_runtime.paging import CursorPage
from oms_runtime.params import Limit, TimeInQuery, aware_time
from pydantic import BaseModel, Field

from oms_order.adapters.inbound.roles import ANY_STAFF, MANAGER
from oms_order.application.listing import OrderLists
from oms_order.application.ports import AuditRecord, ListFilter, ListSort
from oms_order.domain.order_list import GroupBy, ListRow, SortField

CSV = "text/csv"  # Litestar adds `; charset=utf-8` to text types (naming it here too sent it twice)

Lists = NamedDependency[OrderLists]
Where = NamedDependency[ListFilter]
Many = Annotated[
    list[str] | None,
    QueryParameter(description="Repeat the parameter or separate values with commas; any of them matches"),
]


Q = Annotated[
    str | None, QueryParameter(max_length=100, description="Customer name, phone, email or order number (prefix)")
]
Kind = Annotated[Literal["first", "repeat"] | None, QueryParameter(description="First or repeat customer")]
Manager = Annotated[str | None, QueryParameter(max_length=64)]
ProblemFlag = Annotated[bool | None, QueryParameter(description="Only orders flagged (true) or not flagged (false)")]


def _many(values: list[str] | None) -> tuple[str, ...]:
    found: list[str] = []
    for value in values or ():
        found += [v.strip() for v in value.split(",") if v.strip()]
    return tuple(dict.fromkeys(found))[:50]


def list_filter(
    stage: Many = None,
    status: Many = None,
    payment_status: Many = None,
    placed_from: TimeInQuery = None,
    placed_to: TimeInQuery = None,
    closed_from: TimeInQuery = None,
    closed_to: TimeInQuery = None,
    delivery_type: Many = None,
    region: Many = None,
    channel: Many = None,
    customer_kind: Kind = None,
    manager_id: Manager = None,
    problem: ProblemFlag = None,
    q: Q = None,
) -> ListFilter:
    """The filter query parameters search, groups and export share: one dependency, declared once."""
    return ListFilter(
        stages=_many(stage),
        statuses=_many(status),
        payment_statuses=_many(payment_status),
        placed_from=aware_time("placed_from", placed_from),
        placed_to=aware_time("placed_to", placed_to),
        closed_from=aware_time("closed_from", closed_from),
        closed_to=aware_time("closed_to", closed_to),
        delivery_types=_many(delivery_type),
        regions=_many(region),
        channels=_many(channel),
        customer_kind=customer_kind,
        manager_id=manager_id,
        problem=problem,
        text=q.strip() if q and q.strip() else None,
    )


def _sort(sort: SortField, order: Literal["asc", "desc"]) -> ListSort:
    return ListSort(field=sort, descending=order == "desc")


Sort = Annotated[SortField, QueryParameter(description="Sort key; ties are broken by order id in the same direction")]
Order = Annotated[Literal["asc", "desc"], QueryParameter()]


class RowCustomer(BaseModel):
    name: str | None
    email: str | None
    phone: str | None


class RowTotal(BaseModel):
    amount: str | None
    currency: str | None


class OrderRow(BaseModel):
    """An order as the list shows it (the read model's row)."""

    @classmethod
    def of(cls, row: ListRow) -> OrderRow:
        return cls(
            order_id=row.order_id,
            number=row.number,
            stage=row.stage,
            status=row.status,
            payment_status=row.payment_status,
            placed_at=row.placed_at,
            closed_at=row.closed_at,
            stage_entered_at=row.stage_entered_at,
            stage_deadline=row.stage_deadline,
            delivery_type=row.delivery_type,
            payment_method=row.payment_method,
            region=row.region,
            channel=row.channel,
            customer_kind=row.customer_kind,
            manager_id=row.manager_id,
            problem=row.problem,
            customer=RowCustomer(name=row.customer_name, email=row.email, phone=row.phone),
            item_count=row.item_count,
            grand_total=RowTotal(amount=row.total_amount, currency=row.currency),
            version=row.version,
        )

    order_id: str
    number: int | None
    stage: str | None
    status: str | None
    payment_status: str | None
    placed_at: datetime | None
    closed_at: datetime | None
    stage_entered_at: datetime | None = Field(default=None, description="When the order entered its stage")
    stage_deadline: datetime | None = Field(default=None, description="When the stage's time limit runs out")
    delivery_type: str | None
    payment_method: str | None
    region: str | None
    channel: str | None
    customer_kind: Literal["first", "repeat"] | None
    manager_id: str | None
    problem: bool
    customer: RowCustomer
    item_count: int | None
    grand_total: RowTotal
    version: int | None


class GroupView(BaseModel):
    key: str | None
    count: int
    totals: dict[str, str] = Field(description="Amount per currency")


class Groups(BaseModel):
    by: GroupBy
    groups: list[GroupView]


class AuditItem(BaseModel):
    seq: int = Field(description="Position in the trail, 0 = oldest")
    at: datetime
    actor: Actor
    channel: str
    action: str
    changes: dict[str, Any]

    @classmethod
    def of(cls, record: AuditRecord) -> AuditItem:
        e = record.entry
        return cls(seq=record.seq, at=e.at, actor=e.actor, channel=e.channel, action=e.action, changes=e.changes)


class AuditTrailPage(CursorPage[AuditItem]):
    total: int = Field(description="Entries in the whole trail")


class OrderListController(Controller):
    path = "/orders"
    tags = ["order lists"]
    dependencies = {"where": Provide(list_filter, sync_to_thread=False)}

    @get("/search", summary="Orders of the shop: filters, sort and cursor pagination", guards=[MANAGER])
    async def search(
        self,
        ctx: Ctx,
        lists: Lists,
        where: Where,
        sort: Sort = SortField.PLACED_AT,
        order: Order = "desc",
        cursor: Annotated[str | None, QueryParameter(max_length=512)] = None,
        limit: Limit = 20,
    ) -> CursorPage[OrderRow]:
        page = await lists.search(ctx.shop_id, where, _sort(sort, order), cursor, limit)
        return page.map(OrderRow.of)

    @get("/groups", summary="Order counts and totals per currency, grouped", guards=[MANAGER])
    async def groups(
        self,
        ctx: Ctx,
        lists: Lists,
        by: Annotated[GroupBy, QueryParameter(description="What to group by")],
        where: Where,
    ) -> Groups:
        groups = await lists.groups(ctx.shop_id, where, by)
        return Groups(by=by, groups=[GroupView(key=g.key, count=g.count, totals=g.totals) for g in groups])

    @get(
        "/export.csv",
        summary="The filtered list as CSV, streamed",
        media_type=CSV,
        guards=[MANAGER],
        responses={
            200: ResponseSpec(
                data_container=str, media_type=CSV, description="The CSV, streamed", generate_examples=False
            )
        },
    )
    async def export_csv(
        self,
        ctx: Ctx,
        lists: Lists,
        where: Where,
        sort: Sort = SortField.PLACED_AT,
        order: Order = "desc",
    ) -> Stream:
        chunks: AsyncIterator[str] = lists.export_csv(ctx.shop_id, where, _sort(sort, order))
        return Stream(
            chunks,
            media_type=CSV,
            headers={"Content-Disposition": 'attachment; filename="orders.csv"'},
        )

    @get(
        "/{order_id:str}/audit",
        summary="An order's audit trail: who did what, when, from where",
        guards=[ANY_STAFF],
    )
    async def audit(
        self,
        ctx: Ctx,
        lists: Lists,
        order_id: FromPath[str],
        order: Order = "desc",
        cursor: Annotated[str | None, QueryParameter(pattern=r"^\d{1,9}$", description="next_cursor")] = None,
        limit: Limit = 50,
    ) -> AuditTrailPage:
        page = await lists.audit(ctx.shop_id, order_id, cursor=cursor, limit=limit, newest_first=order == "desc")
        return AuditTrailPage(
            items=[AuditItem.of(r) for r in page.items], next_cursor=page.next_cursor, total=page.total
        )
