"""HTTP: a shop's payment settings per currency (methods, card provider, prepayment, bank, VAT, reminders)."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Literal

from litestar import Controller, delete, get, put
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody
from oms_contracts.limits import Amount
from oms_runtime.context import Ctx, requires
from oms_runtime.paging import CursorPage
from pydantic import BaseModel, ConfigDict, Field

from oms_payment.application.configs import PaymentConfigs
from oms_payment.domain.account import PrepaymentRule
from oms_payment.domain.shop_config import BankRequisites, ShopPaymentConfig

STAFF = requires("admin", "manager")
ADMIN = requires("admin")
ConfigsDep = NamedDependency[PaymentConfigs]

Method = Literal["cash_on_delivery", "card", "bank_transfer", "gift_card"]


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
    methods: list[Method] = Field(min_length=1)
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

    def config(self, shop_id: str, currency: str) -> ShopPaymentConfig:
        """The domain's config; raises ConfigInvalid naming the field at fault."""
        return ShopPaymentConfig(
            shop_id=shop_id,
            currency=currency,
            methods=tuple(self.methods),
            card_provider=self.card_provider,
            prepayment=PrepaymentRule(self.prepayment.kind, self.prepayment.value) if self.prepayment else None,
            prepayment_method=self.prepayment_method,
            bank=BankRequisites(**self.bank.model_dump()) if self.bank else None,
            reminder_cadence_hours=tuple(self.reminder_cadence_hours),
            vat_rate=self.vat_rate,
        )


class View(BaseModel):
    model_config = ConfigDict(frozen=True)


class PrepaymentView(View):
    kind: Literal["percent", "amount"]
    value: str


class BankView(View):
    recipient: str
    inn: str
    kpp: str
    account: str
    bank: str
    bic: str
    correspondent_account: str


class PaymentConfigView(View):
    currency: str
    methods: list[str]
    card_provider: Literal["sandbox", "stripe"]
    prepayment: PrepaymentView | None
    prepayment_method: str
    bank: BankView | None
    reminder_cadence_hours: list[float]
    vat_rate: str | None = Field(description='VAT percent in plain form ("20", "10.5"); null: without VAT')

    @classmethod
    def of(cls, config: ShopPaymentConfig) -> PaymentConfigView:
        return cls(
            currency=config.currency,
            methods=list(config.methods),
            card_provider=config.card_provider,
            prepayment=(
                PrepaymentView(kind=config.prepayment.kind, value=str(config.prepayment.value))
                if config.prepayment
                else None
            ),
            prepayment_method=config.prepayment_method,
            bank=BankView(**config.bank.__dict__) if config.bank else None,
            reminder_cadence_hours=list(config.reminder_cadence_hours),
            vat_rate=str(config.vat_rate) if config.vat_rate is not None else None,
        )


class SavedPaymentConfigView(PaymentConfigView):
    version: int


class PaymentSettingsController(Controller):
    path = "/payment-settings"
    tags = ["payment settings"]

    @get("/", summary="The shop's payment setup per currency (admin, manager)", guards=[STAFF])
    async def list_configs(self, ctx: Ctx, configs: ConfigsDep) -> CursorPage[PaymentConfigView]:
        # One setup per currency (a handful, at most 200 read): one page, `next_cursor` always null.
        return CursorPage(items=[PaymentConfigView.of(c) for c in await configs.list(ctx.shop_id)], next_cursor=None)

    @get("/{currency:str}", summary="The shop's payment setup for one currency (admin, manager)", guards=[STAFF])
    async def get_config(self, ctx: Ctx, configs: ConfigsDep, currency: FromPath[str]) -> PaymentConfigView:
        return PaymentConfigView.of(await configs.get(ctx.shop_id, currency))

    @put(
        "/{currency:str}",
        summary="Set the payment methods, prepayment, bank requisites, VAT rate, reminders (admin)",
        guards=[ADMIN],
    )
    async def put_config(
        self, ctx: Ctx, configs: ConfigsDep, currency: FromPath[str], data: JSONBody[PaymentConfigIn]
    ) -> SavedPaymentConfigView:
        config = data.config(ctx.shop_id, currency)
        version = await configs.put(config, ctx.actor)
        return SavedPaymentConfigView(**PaymentConfigView.of(config).model_dump(), version=version)

    @delete(
        "/{currency:str}",
        summary="Remove the setup for a currency: every method, no prepayment (admin)",
        guards=[ADMIN],
    )
    async def delete_config(self, ctx: Ctx, configs: ConfigsDep, currency: FromPath[str]) -> None:
        await configs.delete(ctx.shop_id, currency, ctx.actor)
