"""HTTP: an order's payment status, payments registered by hand, refunds."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from litestar import Controller, Response, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody
from oms_contracts import Money, new_id
from oms_contracts.limits import StatedMoney
from oms_runtime.context import Ctx, requires
from oms_runtime.params import idempotency_key_header
from pydantic import BaseModel, ConfigDict, Field

from oms_payment.application.ledger import OrderAccounts
from oms_payment.application.ports import StoredAccount
from oms_payment.application.refunds import Refunds
from oms_payment.domain.account import AccountRefund, OrderPaymentStatus, RefundDestination

REPLAYED_REFUND = "The same key again answers the refund made the first time (200) and refunds nothing more"

STAFF = requires("admin", "manager")
AccountsDep = NamedDependency[OrderAccounts]
RefundsDep = NamedDependency[Refunds]


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ManualPaymentIn(Body):
    method: Literal["cash", "bank_transfer", "gift_card"]
    amount: StatedMoney
    reference: str = Field(min_length=1, max_length=200, description="Receipt or bank reference: idempotency key")
    gift_card_code: str | None = Field(default=None, max_length=64)


class RefundIn(Body):
    amount: StatedMoney | None = Field(default=None, description="None: everything paid and not refunded")
    reason: str = Field(min_length=1, max_length=500)
    destination: RefundDestination = "original"


class View(BaseModel):
    model_config = ConfigDict(frozen=True)


class AccountPaymentView(View):
    payment_id: str
    method: str
    amount: Money
    reference: str | None
    at: datetime


class AccountRefundView(View):
    refund_id: str
    refund_request_id: str
    amount: Money
    destination: RefundDestination
    gift_card_code: str | None
    reason: str
    return_id: str | None
    at: datetime


class AccountView(View):
    order_id: str
    order_number: int
    method: str
    status: OrderPaymentStatus
    total: Money
    paid: Money
    refunded: Money
    due: Money
    prepayment_required: Money | None
    prepayment_met: bool
    payments: list[AccountPaymentView]
    refunds: list[AccountRefundView]
    reminders_sent: int
    version: int

    @staticmethod
    def fields(stored: StoredAccount) -> dict[str, object]:
        account = stored.state
        p = account.position()
        return {
            "order_id": account.order_id,
            "order_number": account.order_number,
            "method": account.method,
            "status": p.status,
            "total": p.total,
            "paid": p.paid,
            "refunded": p.refunded,
            "due": p.due,
            "prepayment_required": p.prepayment_required,
            "prepayment_met": p.prepayment_met,
            "payments": [
                AccountPaymentView(
                    payment_id=x.payment_id, method=x.method, amount=x.amount, reference=x.reference, at=x.at
                )
                for x in account.payments
            ],
            "refunds": [
                AccountRefundView(
                    refund_id=r.refund_id,
                    refund_request_id=r.refund_request_id,
                    amount=r.amount,
                    destination=r.destination,
                    gift_card_code=r.gift_card_code,
                    reason=r.reason,
                    return_id=r.return_id,
                    at=r.at,
                )
                for r in account.refunds
            ],
            "reminders_sent": account.reminders_sent,
            "version": stored.version,
        }

    @classmethod
    def of(cls, stored: StoredAccount) -> AccountView:
        return cls.model_validate(cls.fields(stored))


class RegisteredView(AccountView):
    """The account after a payment registered by hand, and that payment's id."""

    payment_id: str


class RefundView(View):
    refund_id: str
    amount: Money
    destination: RefundDestination
    gift_card_code: str | None
    reason: str

    @classmethod
    def of(cls, refund: AccountRefund) -> RefundView:
        return cls(
            refund_id=refund.refund_id,
            amount=refund.amount,
            destination=refund.destination,
            gift_card_code=refund.gift_card_code,
            reason=refund.reason,
        )


class OrderPaymentsController(Controller):
    path = "/orders/{order_id:str}"
    tags = ["order payments"]
    guards = [STAFF]

    @get("/payment-status", summary="The order's payment status, payments and refunds (admin, manager)")
    async def status(self, ctx: Ctx, accounts: AccountsDep, order_id: FromPath[str]) -> AccountView:
        return AccountView.of(await accounts.get(ctx.shop_id, order_id))

    @post("/payments", summary="Register a payment by hand: cash, bank transfer, gift card (admin, manager)")
    async def register(
        self, ctx: Ctx, accounts: AccountsDep, order_id: FromPath[str], data: JSONBody[ManualPaymentIn]
    ) -> Response[RegisteredView]:
        result = await accounts.register_payment(
            ctx.shop_id,
            order_id,
            method=data.method,
            amount=data.amount,
            reference=data.reference,
            actor=ctx.actor,
            gift_card_code=data.gift_card_code,
        )
        body = RegisteredView.model_validate(
            {**AccountView.fields(result.stored), "payment_id": result.payment.payment_id}
        )
        return Response(body, status_code=201 if result.created else 200)

    @post("/refunds", summary="Refund the order, fully or partly, to the original method or a gift card")
    async def refund(
        self,
        ctx: Ctx,
        refunds: RefundsDep,
        order_id: FromPath[str],
        data: JSONBody[RefundIn],
        idempotency_key: Annotated[str | None, idempotency_key_header(REPLAYED_REFUND, max_length=200)] = None,
    ) -> Response[RefundView]:
        refund, created = await refunds.refund(
            ctx.shop_id,
            order_id,
            refund_request_id=f"http:{idempotency_key}" if idempotency_key else new_id(),
            amount=data.amount,
            reason=data.reason,
            destination=data.destination,
            actor=ctx.actor,
        )
        return Response(RefundView.of(refund), status_code=201 if created else 200)
