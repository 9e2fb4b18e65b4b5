"""HTTP: gift cards (issue, balance and movements)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from litestar import Controller, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody
from oms_contracts import Money
from oms_contracts.limits import StatedMoney
from oms_runtime.context import Ctx, requires
from oms_runtime.params import idempotency_key_header
from pydantic import BaseModel, ConfigDict, Field, SerializerFunctionWrapHandler, model_serializer

from oms_payment.application.gift_cards import GiftCards
from oms_payment.domain.gift_card import GiftCard, MovementKind

REPLAYED_CARD = "The same key again answers the card issued the first time and issues no other"

STAFF = requires("admin", "manager")
GiftCardsDep = NamedDependency[GiftCards]


class GiftCardIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    amount: StatedMoney


class MovementView(BaseModel):
    model_config = ConfigDict(frozen=True)

    key: str
    kind: MovementKind
    amount: Money
    at: datetime
    actor: str | None = Field(default=None, description="Who issued the card (issue movements only)")
    order_id: str | None = Field(default=None, description="The order paid with the card (redemptions only)")

    @model_serializer(mode="wrap")
    def _only_present(self, handler: SerializerFunctionWrapHandler) -> dict[str, object]:
        # As stored: a movement has `actor` or `order_id` only when it concerns one.
        body: dict[str, object] = handler(self)
        return {k: v for k, v in body.items() if v is not None or k not in ("actor", "order_id")}


class GiftCardView(BaseModel):
    model_config = ConfigDict(frozen=True)

    code: str
    balance: Money
    created_at: datetime
    movements: list[MovementView]

    @classmethod
    def of(cls, card: GiftCard) -> GiftCardView:
        return cls(
            code=card.code,
            balance=card.balance,
            created_at=card.created_at,
            movements=[
                MovementView(key=m.key, kind=m.kind, amount=m.amount, at=m.at, actor=m.actor, order_id=m.order_id)
                for m in card.movements
            ],
        )


class GiftCardController(Controller):
    path = "/gift-cards"
    tags = ["gift cards"]
    guards = [STAFF]

    @post("/", summary="Issue a gift card (admin, manager)")
    async def issue(
        self,
        ctx: Ctx,
        gift_cards: GiftCardsDep,
        data: JSONBody[GiftCardIn],
        idempotency_key: Annotated[str | None, idempotency_key_header(REPLAYED_CARD, max_length=200)] = None,
    ) -> GiftCardView:
        key = f"issue:{idempotency_key}" if idempotency_key else None
        return GiftCardView.of(await gift_cards.issue(ctx.shop_id, data.amount, ctx.actor, key=key))

    @get("/{code:str}", summary="A gift card's balance and movements (admin, manager)")
    async def get_card(self, ctx: Ctx, gift_cards: GiftCardsDep, code: FromPath[str]) -> GiftCardView:
        return GiftCardView.of(await gift_cards.get(ctx.shop_id, code))
