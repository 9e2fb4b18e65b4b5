"""HTTP: shop payment settings, an order's payment status, manual payments, refunds, gift cards."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any, Literal

from litestar import Controller, Response, delete, get, post, put
from litestar.di import NamedDependency
from litestar.params import FromPath, HeaderParameter, JSONBody
from oms_contracts import new_id
from oms_contracts.limits import Amount, StatedMoney
from oms_runtime.context import Ctx, requires
from oms_runtime.problems import Problem
from pydantic import BaseModel, ConfigDict, Field

from oms_payment.application.accounts import AccountNotFound, AccountService
from oms_payment.domain.account import AccountRefused, OrderAccount, PrepaymentRule
from oms_payment.domain.shop_config import BankRequisites, ConfigInvalid, ShopPaymentConfig

STAFF = ("admin", "manager")
Accounts = NamedDependency[AccountService]


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class PrepaymentIn(Body):
    kind: Literal["percent", "amount"]
    value: Amount = Field(gt=0)


class BankIn(Body):
    recipient: str = Field(min_length=1, max_length=300)
    inn: str
    kpp: str
    account: str
    bank: str = Field(min_length=1, max_length=300)
    bic: str
    correspondent_account: str


class PaymentConfigIn(Body):
    methods: list[Literal["cash_on_delivery", "card", "bank_transfer", "gift_card"]] = Field(min_length=1)
    card_provider: Literal["sandbox", "stripe"] = "sandbox"
    prepayment: PrepaymentIn | None = None
    prepayment_method: Literal["card", "bank_transfer"] = "card"
    bank: BankIn | None = None
    # A year at most: a reminder is a timedelta, and 1e308 hours is none.
    reminder_cadence_hours: list[Annotated[float, Field(gt=0, le=24 * 366)]] = Field(default=[1, 24, 72], max_length=10)
    vat_rate: Decimal | None = Field(
        default=None,
        ge=0,
        le=100,
        decimal_places=2,
        description="VAT percent included in the prices (20, 10…), printed on the invoice and the PD-4 slip; "
        'null: without VAT ("Без налога (НДС)")',
    )


class ManualPaymentIn(Body):
    method: Literal["cash", "bank_transfer", "gift_card"]
    amount: StatedMoney
    reference: str = Field(min_length=1, max_length=200, description="Receipt or bank reference: idempotency key")
    gift_card_code: str | None = Field(default=None, max_length=64)


class RefundIn(Body):
    amount: StatedMoney | None = Field(default=None, description="None: everything paid and not refunded")
    reason: str = Field(min_length=1, max_length=500)
    destination: Literal["original", "gift_card"] = "original"


class GiftCardIn(Body):
    amount: StatedMoney


def config_view(config: ShopPaymentConfig) -> dict[str, Any]:
    return {
        "currency": config.currency,
        "methods": list(config.methods),
        "card_provider": config.card_provider,
        "prepayment": (
            {"kind": config.prepayment.kind, "value": str(config.prepayment.value)} if config.prepayment else None
        ),
        "prepayment_method": config.prepayment_method,
        "bank": dict(config.bank.__dict__) if config.bank else None,
        "reminder_cadence_hours": list(config.reminder_cadence_hours),
        "vat_rate": str(config.vat_rate) if config.vat_rate is not None else None,
    }


def account_view(account: OrderAccount, version: int) -> dict[str, Any]:
    p = account.position()
    m = lambda x: x.model_dump(mode="json") if x is not None else None  # noqa: E731
    return {
        "order_id": account.order_id,
        "order_number": account.order_number,
        "method": account.method,
        "status": p.status,
        "total": m(p.total),
        "paid": m(p.paid),
        "refunded": m(p.refunded),
        "due": m(p.due),
        "prepayment_required": m(p.prepayment_required),
        "prepayment_met": p.prepayment_met,
        "payments": [
            {
                "payment_id": x.payment_id,
                "method": x.method,
                "amount": m(x.amount),
                "reference": x.reference,
                "at": x.at.isoformat(),
            }
            for x in account.payments
        ],
        "refunds": [
            {
                "refund_id": r.refund_id,
                "refund_request_id": r.refund_request_id,
                "amount": m(r.amount),
                "destination": r.destination,
                "gift_card_code": r.gift_card_code,
                "reason": r.reason,
                "return_id": r.return_id,
                "at": r.at.isoformat(),
            }
            for r in account.refunds
        ],
        "reminders_sent": account.reminders_sent,
        "version": version,
    }


class PaymentSettingsController(Controller):
    path = "/payment-settings"
    tags = ["payment settings"]

    @get("/", summary="The shop's payment setup per currency (admin, manager)")
    async def list_configs(self, ctx: Ctx, accounts: Accounts) -> dict[str, Any]:
        ctx.require_role(*STAFF)
        configs = await accounts.configs.list(ctx.shop_id)
        return {"items": [config_view(c) for c in configs], "next_cursor": None}

    @get("/{currency:str}", summary="The shop's payment setup for one currency (admin, manager)")
    async def get_config(self, ctx: Ctx, accounts: Accounts, currency: FromPath[str]) -> dict[str, Any]:
        ctx.require_role(*STAFF)
        config = await accounts.config(ctx.shop_id, currency)
        if config is None:
            raise Problem(404, "Not found", f"no payment setup for {currency}")
        return config_view(config)

    @put(
        "/{currency:str}",
        summary="Set the payment methods, prepayment, bank requisites, VAT rate, reminders (admin)",
        guards=[requires("admin")],
    )
    async def put_config(
        self, ctx: Ctx, accounts: Accounts, currency: FromPath[str], data: JSONBody[PaymentConfigIn]
    ) -> dict[str, Any]:
        if not (len(currency) == 3 and currency.isalpha() and currency.isupper()):
            raise Problem.field("currency", "an ISO 4217 code such as RUB")
        try:
            config = ShopPaymentConfig(
                shop_id=ctx.shop_id,
                currency=currency,
                methods=tuple(data.methods),
                card_provider=data.card_provider,
                prepayment=PrepaymentRule(data.prepayment.kind, data.prepayment.value) if data.prepayment else None,
                prepayment_method=data.prepayment_method,
                bank=BankRequisites(**data.bank.model_dump()) if data.bank else None,
                reminder_cadence_hours=tuple(data.reminder_cadence_hours),
                vat_rate=data.vat_rate,
            )
        except ConfigInvalid as exc:
            raise Problem.field(exc.field, str(exc)) from None
        except ValueError as exc:
            raise Problem.field("prepayment.value", str(exc)) from None
        version = await accounts.put_config(config, ctx.actor)
        return {**config_view(config), "version": version}

    @delete("/{currency:str}", summary="Remove the setup for a currency: every method, no prepayment (admin)")
    async def delete_config(self, ctx: Ctx, accounts: Accounts, currency: FromPath[str]) -> None:
        ctx.require_role("admin")
        if not await accounts.delete_config(ctx.shop_id, currency, ctx.actor):
            raise Problem(404, "Not found", f"no payment setup for {currency}")


class OrderPaymentsController(Controller):
    path = "/orders/{order_id:str}"
    tags = ["order payments"]

    @get("/payment-status", summary="The order's payment status, payments and refunds (admin, manager)")
    async def status(self, ctx: Ctx, accounts: Accounts, order_id: FromPath[str]) -> dict[str, Any]:
        ctx.require_role(*STAFF)
        try:
            account, version = await accounts.get(ctx.shop_id, order_id)
        except AccountNotFound:
            raise Problem(404, "Not found", f"no payment requested for order {order_id}") from None
        return account_view(account, version)

    @post(
        "/payments",
        summary="Register a payment by hand: cash, bank transfer, gift card (admin, manager)",
        guards=[requires(*STAFF)],
    )
    async def register(
        self, ctx: Ctx, accounts: Accounts, order_id: FromPath[str], data: JSONBody[ManualPaymentIn]
    ) -> Response[dict[str, Any]]:
        if data.method == "gift_card" and not data.gift_card_code:
            raise Problem.field("gift_card_code", "required for a gift-card payment")
        try:
            result = await accounts.register_payment(
                ctx.shop_id,
                order_id,
                method=data.method,
                amount=data.amount,
                reference=data.reference,
                actor=ctx.actor,
                gift_card_code=data.gift_card_code,
            )
        except AccountNotFound:
            raise Problem(404, "Not found", f"no payment requested for order {order_id}") from None
        body = {"payment_id": result.payment.payment_id, **account_view(result.account, result.version)}
        return Response(body, status_code=201 if result.created else 200)

    @post(
        "/refunds",
        summary="Refund the order, fully or partly, to the original method or a gift card",
        guards=[requires(*STAFF)],
    )
    async def refund(
        self,
        ctx: Ctx,
        accounts: Accounts,
        order_id: FromPath[str],
        data: JSONBody[RefundIn],
        idempotency_key: Annotated[str | None, HeaderParameter(name="Idempotency-Key", max_length=200)] = None,
    ) -> Response[dict[str, Any]]:
        try:
            refund, created = await accounts.refund(
                ctx.shop_id,
                order_id,
                refund_request_id=f"http:{idempotency_key}" if idempotency_key else new_id(),
                amount=data.amount,
                reason=data.reason,
                destination=data.destination,
                actor=ctx.actor,
            )
        except AccountNotFound:
            raise Problem(404, "Not found", f"no payment requested for order {order_id}") from None
        except AccountRefused as exc:
            raise Problem.field(exc.field, str(exc)) from None
        return Response(
            {
                "refund_id": refund.refund_id,
                "amount": refund.amount.model_dump(mode="json"),
                "destination": refund.destination,
                "gift_card_code": refund.gift_card_code,
                "reason": refund.reason,
            },
            status_code=201 if created else 200,
        )


class GiftCardController(Controller):
    path = "/gift-cards"
    tags = ["gift cards"]

    @post("/", summary="Issue a gift card (admin, manager)", guards=[requires(*STAFF)])
    async def issue(
        self,
        ctx: Ctx,
        accounts: Accounts,
        data: JSONBody[GiftCardIn],
        idempotency_key: Annotated[str | None, HeaderParameter(name="Idempotency-Key", max_length=200)] = None,
    ) -> dict[str, Any]:
        code = await accounts.issue_gift_card(
            ctx.shop_id, data.amount, ctx.actor, key=f"issue:{idempotency_key}" if idempotency_key else None
        )
        card = await accounts.gift_card(ctx.shop_id, code)
        assert card is not None
        return card

    @get("/{code:str}", summary="A gift card's balance and movements (admin, manager)")
    async def get_card(self, ctx: Ctx, accounts: Accounts, code: FromPath[str]) -> dict[str, Any]:
        ctx.require_role(*STAFF)
        card = await accounts.gift_card(ctx.shop_id, code)
        if card is None:
            raise Problem(404, "Not found", f"no gift card {code}")
        return card


ROUTE_HANDLERS = [PaymentSettingsController, OrderPaymentsController, GiftCardController]
