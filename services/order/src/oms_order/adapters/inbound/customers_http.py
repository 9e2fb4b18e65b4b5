"""HTTP API of the customer records (CRM): search, read, edit, merge, order history (managers)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from litestar import Controller, Response, get, patch, post
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody, QueryParameter
from oms_contracts import Money
from oms_contracts.limits import Version
from oms_contracts.messages.common import Address
from oms_runtime.commands import Loaded
from oms_runtime.context import Ctx
from oms_runtime.paging import CursorPage
from oms_runtime.params import Cursor, Limit
from oms_runtime.preconditions import IfMatch, etag, expected_version
from pydantic import BaseModel, ConfigDict, Field

from oms_order.adapters.inbound.roles import MANAGER
from oms_order.application.customers import CustomerRecords
from oms_order.application.ports import CustomerOrderRow
from oms_order.domain.customers import CustomerEdit, CustomerRecord

Customers = NamedDependency[CustomerRecords]


class _View(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class CustomerView(_View):
    customer_id: str
    name: str
    emails: list[str]
    phones: list[str]
    addresses: list[Address]
    group: str
    tags: list[str]
    notes: str | None
    marketing_consent: bool
    orders: int
    repeat: bool = Field(description="More than one order")
    lifetime_value: list[Money] = Field(description="The placed orders' totals, per currency")
    first_order_at: datetime | None
    last_order_at: datetime | None
    merged_into: str | None
    erased_at: datetime | None = Field(default=None, description="Personal data erased on request (then empty)")
    version: int


def customer_view(record: CustomerRecord, version: int) -> CustomerView:
    return CustomerView(
        customer_id=record.customer_id,
        name=record.name,
        emails=record.emails,
        phones=record.phones,
        addresses=record.addresses,
        group=record.group,
        tags=record.tags,
        notes=record.notes,
        marketing_consent=record.marketing_consent,
        orders=record.orders,
        repeat=record.orders > 1,
        lifetime_value=record.lifetime(),
        first_order_at=record.first_order_at,
        last_order_at=record.last_order_at,
        merged_into=record.merged_into,
        erased_at=record.erased_at,
        version=version,
    )


def _with_etag(loaded: Loaded[CustomerRecord]) -> Response[CustomerView]:
    return Response(customer_view(loaded.state, loaded.version), headers={"ETag": etag(loaded.version)})


class CustomerHistoryOrder(_View):
    order_id: str
    number: int
    placed_at: datetime
    grand_total: Money
    status: str


def _order(row: CustomerOrderRow) -> CustomerHistoryOrder:
    return CustomerHistoryOrder(
        order_id=row.order_id,
        number=row.number,
        placed_at=row.placed_at,
        grand_total=row.grand_total,
        status=row.status,
    )


class EditCustomer(CustomerEdit):
    expected_version: Version | None = Field(default=None, description="409 if the record changed since")


class MergeCustomers(BaseModel):
    from_customer_id: str = Field(min_length=1, max_length=100, description="The duplicate: merged into this one")
    expected_version: Version | None = None


class CustomerController(Controller):
    path = "/customers"
    tags = ["customers"]
    guards = [MANAGER]

    @get("/", summary="Customers of the shop; `q`: a prefix of a name word, an email or a phone")
    async def search(
        self,
        ctx: Ctx,
        customers: Customers,
        q: Annotated[str | None, QueryParameter(min_length=1, max_length=100)] = None,
        cursor: Cursor = None,
        limit: Limit = 20,
    ) -> CursorPage[CustomerView]:
        page = await customers.search(ctx.shop_id, q, cursor=cursor, limit=limit)
        return CursorPage(items=[customer_view(r, 0) for r in page.items], next_cursor=page.next_cursor)

    @get("/{customer_id:str}", summary="A customer record with totals and lifetime value")
    async def get_one(self, ctx: Ctx, customers: Customers, customer_id: FromPath[str]) -> Response[CustomerView]:
        return _with_etag(await customers.get(ctx.shop_id, customer_id))

    @get("/{customer_id:str}/orders", summary="The customer's orders, newest first")
    async def orders(
        self, ctx: Ctx, customers: Customers, customer_id: FromPath[str], cursor: Cursor = None, limit: Limit = 20
    ) -> CursorPage[CustomerHistoryOrder]:
        page = await customers.orders(ctx.shop_id, customer_id, cursor=cursor, limit=limit)
        return CursorPage(items=[_order(r) for r in page.items], next_cursor=page.next_cursor)

    @patch("/{customer_id:str}", summary="Edit contacts, addresses, group, tags, notes, marketing consent")
    async def edit(
        self,
        ctx: Ctx,
        customers: Customers,
        customer_id: FromPath[str],
        data: JSONBody[EditCustomer],
        if_match: IfMatch = None,
    ) -> Response[CustomerView]:
        change = CustomerEdit.model_validate(data.model_dump(exclude_unset=True, exclude={"expected_version"}))
        stored = await customers.edit(
            ctx.shop_id,
            customer_id,
            change,
            actor=ctx.actor,
            expected_version=expected_version(if_match, data.expected_version),
        )
        return _with_etag(stored)

    @post("/{customer_id:str}/merge", status_code=200, summary="Merge a duplicate into this record (orders follow)")
    async def merge(
        self, ctx: Ctx, customers: Customers, customer_id: FromPath[str], data: JSONBody[MergeCustomers]
    ) -> Response[CustomerView]:
        stored = await customers.merge(
            ctx.shop_id, customer_id, data.from_customer_id, actor=ctx.actor, expected_version=data.expected_version
        )
        return _with_etag(stored)
