"""HTTP API of a customer's personal data (admins only): export everything the order service holds
about one customer as one JSON document, and erase it on request (anonymised, money kept, audited)."""

from __future__ import annotations

from datetime import datetime

from litestar import Controller, Response, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath
from oms_contracts.messages.common import Address
from oms_runtime.context import Ctx
from oms_runtime.preconditions import etag
from pydantic import BaseModel, ConfigDict, Field

from oms_order.adapters.inbound.customer_view import CustomerOrderView, customer_view
from oms_order.adapters.inbound.customers_http import CustomerView
from oms_order.adapters.inbound.customers_http import customer_view as record_view
from oms_order.adapters.inbound.order_links_http import FeedbackView
from oms_order.adapters.inbound.roles import ADMIN
from oms_order.application.customer_data import CustomerData
from oms_order.application.ports import StoredOrder

Data = NamedDependency[CustomerData]


class _View(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class StaffNoteView(_View):
    at: datetime
    author: str
    text: str


class ExportedOrder(_View):
    order: CustomerOrderView = Field(description="The order as its customer sees it: contacts, address, lines, totals")
    feedback: FeedbackView | None
    staff_notes: list[StaffNoteView] = Field(description="What the shop's staff noted on the order")
    erased_at: datetime | None


class RatingView(_View):
    order_id: str
    number: int
    rating: int
    comment: str | None
    line_ratings: dict[str, int]
    at: datetime


class CustomerExportView(_View):
    """Everything the order service holds about one customer (the other services hold their own part:
    payments, shipments, messages)."""

    exported_at: datetime
    customer: CustomerView
    merged_records: list[CustomerView] = Field(description="Duplicate records merged into this one")
    addresses: list[Address] = Field(description="Every address of the record and of the orders")
    notes: list[str] = Field(description="The record's notes and the orders' notes")
    ratings: list[RatingView]
    orders: list[ExportedOrder] = Field(description="Newest first")
    complete: bool = Field(description="False: the customer has more orders than one export holds (the oldest left)")


class ErasureView(_View):
    customer: CustomerView
    orders_erased: int = Field(description="Orders whose personal fields are anonymised (money kept)")
    merged_records_erased: list[str]


def _exported(stored: StoredOrder) -> ExportedOrder:
    order = stored.order
    rated = order.feedback
    return ExportedOrder(
        order=customer_view(stored),
        feedback=None
        if rated is None
        else FeedbackView(rating=rated.rating, comment=rated.comment, line_ratings=rated.line_ratings, at=rated.at),
        staff_notes=[StaffNoteView(at=n.at, author=n.author, text=n.text) for n in order.staff_notes],
        erased_at=order.erased_at,
    )


class CustomerDataController(Controller):
    path = "/customers/{customer_id:str}"
    tags = ["customers"]
    guards = [ADMIN]

    @get("/export", summary="Everything the order service holds about the customer, as one document")
    async def export(self, ctx: Ctx, customer_data: Data, customer_id: FromPath[str]) -> CustomerExportView:
        found = await customer_data.export(ctx.shop_id, customer_id, actor=ctx.actor)
        record = found.record.state
        orders = [s.order for s in found.orders]
        addresses: list[Address] = []
        for address in [*record.addresses, *(o.address for o in orders if o.address is not None)]:
            if address not in addresses:
                addresses.append(address)
        notes = [n for n in [record.notes, *(m.notes for m in found.merged), *(o.notes for o in orders)] if n]
        return CustomerExportView(
            exported_at=found.at,
            customer=record_view(record, found.record.version),
            merged_records=[record_view(m, 0) for m in found.merged],
            addresses=addresses,
            notes=notes,
            ratings=[
                RatingView(
                    order_id=o.id,
                    number=o.number,
                    rating=o.feedback.rating,
                    comment=o.feedback.comment,
                    line_ratings=o.feedback.line_ratings,
                    at=o.feedback.at,
                )
                for o in orders
                if o.feedback is not None
            ],
            orders=[_exported(s) for s in found.orders],
            complete=found.complete,
        )

    @post(
        "/erase",
        status_code=200,
        summary="Erase the customer's personal data: record and orders anonymised, money kept (idempotent)",
    )
    async def erase(self, ctx: Ctx, customer_data: Data, customer_id: FromPath[str]) -> Response[ErasureView]:
        done = await customer_data.erase(
            ctx.shop_id, customer_id, actor=ctx.actor, channel=ctx.channel, correlation_id=ctx.correlation_id
        )
        view = ErasureView(
            customer=record_view(done.record.state, done.record.version),
            orders_erased=done.orders,
            merged_records_erased=done.merged,
        )
        return Response(view, headers={"ETag": etag(done.record.version)})
