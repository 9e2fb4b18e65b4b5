"""HTTP API of the customer's order-status link: a storefront or a manager issues it; the customer
opens it with no credential (a public route of the gateway), the signed token being the key."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from litestar import Controller, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody, PathParameter
from oms_runtime.context import Ctx
from pydantic import BaseModel, ConfigDict, Field

from oms_order.adapters.inbound.customer_view import CustomerOrderView, customer_view
from oms_order.adapters.inbound.roles import STOREFRONT_OR_MANAGER
from oms_order.application.order_links import OrderLinks
from oms_order.application.ports import StoredOrder
from oms_order.domain.order import customer_may_cancel, customer_may_return, feedback_open

Links = NamedDependency[OrderLinks]
Token = Annotated[str, PathParameter(min_length=20, max_length=1000, description="The signed link token")]


class _View(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class OrderLinkView(_View):
    url: str = Field(description="Send it to the customer (the order-status page through the gateway)")
    token: str
    expires_at: datetime


class FeedbackView(_View):
    rating: int
    comment: str | None
    line_ratings: dict[str, int]
    at: datetime


class LinkDocument(_View):
    kind: Literal["invoice", "pd4"] = Field(description="invoice: for payment by bank transfer; pd4: the bank slip")
    url: str = Field(description="A PDF, by the same link (no other credential)")


class OrderStatusPage(_View):
    """What the customer sees through the link: the customer view and what they may do now."""

    order: CustomerOrderView
    documents: list[LinkDocument] = Field(description="The order's documents the customer may download")
    can_return: bool = Field(description="Delivered: the customer may ask for a return (POST `return_url`)")
    return_url: str | None = Field(description="Where to ask for a return (lines, quantities, reasons)")
    can_cancel: bool
    pay_now_url: str | None = Field(description="The payment page while money is due")
    can_rate: bool = Field(description="Delivered and not rated yet: ask for a rating")
    feedback: FeedbackView | None


class LineRating(BaseModel):
    sku: str = Field(min_length=1, max_length=64)
    rating: int = Field(ge=1, le=5)


class LeaveFeedback(BaseModel):
    rating: int = Field(ge=1, le=5)
    comment: str | None = Field(default=None, max_length=2000)
    lines: list[LineRating] = Field(default_factory=list, max_length=200)


class CancelByCustomer(BaseModel):
    reason: str = Field(min_length=1, max_length=500)


def status_page(stored: StoredOrder, page_url: str) -> OrderStatusPage:
    order = stored.order
    documents = (
        [
            LinkDocument(kind="invoice", url=f"{page_url}/invoice.pdf"),
            LinkDocument(kind="pd4", url=f"{page_url}/pd4.pdf"),
        ]
        if order.payment_method == "bank_transfer" and order.payment.payment_id is not None
        else []
    )
    returnable = customer_may_return(order)
    due = order.payment.due
    # `awaiting`: asked for, and the payment service has not reported the order's money yet.
    owing = order.payment.status in ("unpaid", "awaiting", "partly_paid") and (due is None or due.amount > 0)
    rated = order.feedback
    return OrderStatusPage(
        order=customer_view(stored),
        documents=documents,
        can_return=returnable,
        return_url=f"{page_url}/returns" if returnable else None,
        can_cancel=customer_may_cancel(order),
        pay_now_url=order.payment.checkout_url if owing and not order.final else None,
        can_rate=feedback_open(order),
        feedback=None
        if rated is None
        else FeedbackView(rating=rated.rating, comment=rated.comment, line_ratings=rated.line_ratings, at=rated.at),
    )


class OrderLinkController(Controller):
    path = "/orders"
    tags = ["order link"]

    @post(
        "/{order_id:str}/status-link",
        status_code=201,
        summary="A signed, expiring order-status link for the customer",
        guards=[STOREFRONT_OR_MANAGER],
    )
    async def issue(self, ctx: Ctx, links: Links, order_id: FromPath[str]) -> OrderLinkView:
        link = await links.issue(ctx.shop_id, order_id)
        return OrderLinkView(url=link.url, token=link.token, expires_at=link.expires_at)


class OrderStatusController(Controller):
    """No credential: the token is the key (checked for signature, purpose and expiry)."""

    path = "/order-status"
    tags = ["order link"]

    @get("/{token:str}", summary="The customer's order page: status, shipments and tracking, payment, actions")
    async def show(self, links: Links, token: Token) -> OrderStatusPage:
        return status_page(await links.open(token), links.issuer.page_url(token))

    @post("/{token:str}/cancel", status_code=200, summary="The customer cancels (while nothing is picked or shipped)")
    async def cancel(self, links: Links, token: Token, data: JSONBody[CancelByCustomer]) -> OrderStatusPage:
        return status_page(await links.cancel(token, data.reason), links.issuer.page_url(token))

    @post("/{token:str}/feedback", status_code=200, summary="The customer rates the delivered order (once)")
    async def feedback(self, links: Links, token: Token, data: JSONBody[LeaveFeedback]) -> OrderStatusPage:
        stored = await links.feedback(
            token,
            rating=data.rating,
            comment=data.comment,
            line_ratings={line.sku: line.rating for line in data.lines},
        )
        return status_page(stored, links.issuer.page_url(token))
