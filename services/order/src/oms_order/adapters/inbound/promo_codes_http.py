"""HTTP API of promo codes (managers; reached through the gateway)."""

from __future__ import annotations

from typing import Literal

from litestar import Controller, Response, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody
from oms_contracts import Money
from oms_contracts.limits import Amount, Count
from oms_contracts.money import CurrencyCode
from oms_runtime.context import Ctx
from oms_runtime.paging import CursorPage
from oms_runtime.params import Cursor, Limit
from pydantic import AwareDatetime, BaseModel, Field

from oms_order.adapters.inbound.roles import MANAGER
from oms_order.application.promo_codes import PromoCodeAdmin
from oms_order.domain.pricing import FieldError, InvalidOrder, PromoCode

PromoCodes = NamedDependency[PromoCodeAdmin]


class NewPromoCode(BaseModel):
    code: str = Field(min_length=2, max_length=40, pattern=r"^[A-Za-z0-9_-]+$")
    kind: Literal["amount", "percent"]
    value: Amount = Field(gt=0)
    currency: CurrencyCode | None = Field(default=None, description="Required for amount codes")
    min_order: Amount | None = Field(default=None, description="In `currency` (required with it)")
    valid_from: AwareDatetime | None = None
    valid_to: AwareDatetime | None = None
    max_uses: Count | None = None
    max_uses_per_customer: Count | None = None
    description: str | None = Field(default=None, max_length=500)

    def promo_code(self) -> PromoCode:
        """The domain's promo code; raises InvalidOrder when `min_order` comes without its currency."""
        if self.min_order is not None and self.currency is None:
            raise InvalidOrder([FieldError("currency", "required with min_order")])
        return PromoCode(
            code=self.code.upper(),
            kind=self.kind,
            value=self.value,
            currency=self.currency,
            min_order=Money.of(self.min_order, self.currency) if self.min_order is not None and self.currency else None,
            valid_from=self.valid_from,
            valid_to=self.valid_to,
            max_uses=self.max_uses,
            max_uses_per_customer=self.max_uses_per_customer,
            description=self.description,
        )


class PromoCodeView(PromoCode):
    uses: int = Field(description="Orders that use the code now (a cancelled order gives its use back)")


def promo_view(promo: PromoCode, uses: int) -> PromoCodeView:
    return PromoCodeView.model_validate({**promo.model_dump(), "uses": uses})


class PromoCodeController(Controller):
    path = "/promo-codes"
    tags = ["promo codes"]
    guards = [MANAGER]

    @post("/", status_code=201, summary="Create a promo code")
    async def create(self, ctx: Ctx, promo_codes: PromoCodes, data: JSONBody[NewPromoCode]) -> Response[PromoCodeView]:
        created, uses = await promo_codes.create(ctx.shop_id, data.promo_code(), ctx.actor)
        return Response(
            promo_view(created, uses), status_code=201, headers={"Location": f"/promo-codes/{created.code}"}
        )

    @get("/", summary="Promo codes of the shop, by code")
    async def list_codes(
        self, ctx: Ctx, promo_codes: PromoCodes, cursor: Cursor = None, limit: Limit = 20
    ) -> CursorPage[PromoCodeView]:
        page = await promo_codes.page(ctx.shop_id, cursor=cursor, limit=limit)
        return CursorPage(items=[promo_view(p, u) for p, u in page.items], next_cursor=page.next_cursor)

    @get("/{code:str}", summary="One promo code with its use count")
    async def get_one(self, ctx: Ctx, promo_codes: PromoCodes, code: FromPath[str]) -> PromoCodeView:
        return promo_view(*await promo_codes.get(ctx.shop_id, code.upper()))

    @post("/{code:str}/disable", status_code=200, summary="Disable a promo code (orders that used it keep it)")
    async def disable(self, ctx: Ctx, promo_codes: PromoCodes, code: FromPath[str]) -> PromoCodeView:
        return promo_view(*await promo_codes.disable(ctx.shop_id, code.upper(), ctx.actor))
