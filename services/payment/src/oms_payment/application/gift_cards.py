"""Gift cards: issue, look up, redeem for an order, credit a refund. Every movement applied once."""

from __future__ import annotations

import secrets

from oms_contracts import Actor, Money
from oms_runtime.clock import Clock
from oms_runtime.errors import ConcurrencyError
from oms_runtime.telemetry import get_logger

from oms_payment.application.errors import GiftCardNotFound, GiftCardUnusable, InsufficientBalance
from oms_payment.application.ports import GiftCardRepository
from oms_payment.domain.account import AccountPayment
from oms_payment.domain.gift_card import GiftCard, GiftCardMovement, gift_card_code_for

log = get_logger(__name__)
# A redemption for an order's payment request looks at the balance again when another redemption
# spent it between the read and the conditional take; this bounds how often.
REDEEM_ATTEMPTS = 5


class GiftCards:
    def __init__(self, *, gift_cards: GiftCardRepository, clock: Clock) -> None:
        self.gift_cards = gift_cards
        self.clock = clock

    async def issue(self, shop_id: str, amount: Money, actor: Actor, key: str | None = None) -> GiftCard:
        """A new card; with a key (an Idempotency-Key) the same key answers the same card."""
        code = gift_card_code_for(shop_id, key) if key else "GC-" + secrets.token_hex(8).upper()
        card = GiftCard.issue(shop_id=shop_id, code=code, amount=amount, at=self.clock.now(), actor=actor.id)
        await self.gift_cards.create(card)  # False: issued before under this key, answered as it is now
        return await self.get(shop_id, code)

    async def get(self, shop_id: str, code: str) -> GiftCard:
        card = await self.gift_cards.get(shop_id, code)
        if card is None:
            raise GiftCardNotFound(code)
        return card

    async def credit(self, shop_id: str, code: str, amount: Money, *, key: str) -> None:
        """Money onto a card (a refund), made with its first credit when it does not exist yet; once per key."""
        movement = GiftCardMovement(key=key, kind="refund", amount=amount, at=self.clock.now())
        if await self.gift_cards.get(shop_id, code) is None:
            card = GiftCard(code=code, shop_id=shop_id, balance=amount, created_at=movement.at, movements=(movement,))
            if await self.gift_cards.create(card):
                return
        await self.gift_cards.move(shop_id, code, movement)  # None: this key was already credited

    async def redeem_for_order(self, shop_id: str, order_id: str, code: str, total: Money) -> AccountPayment | None:
        """Take up to `total` from a gift card for an order's payment request, once per order.

        None when the card is unknown, in another currency or empty: the order's method then
        takes the whole amount (the customer is never charged twice, only not discounted).
        """
        key = f"redeem:{order_id}:request"
        for _ in range(REDEEM_ATTEMPTS):
            card = await self.gift_cards.get(shop_id, code)
            if card is None or card.currency != total.currency:
                log.warning("gift card not usable", order_id=order_id, code=code)
                return None
            done = card.movement(key)
            if done is None:
                take = card.redeemable(total)
                if take is None:
                    return None
                movement = GiftCardMovement(
                    key=key,
                    kind="redeem",
                    amount=Money.zero(take.currency) - take,
                    at=self.clock.now(),
                    order_id=order_id,
                )
                if await self.gift_cards.move(shop_id, code, movement) is None:
                    continue  # spent meanwhile (or redeemed by a concurrent replay): look again
                done = movement
            return AccountPayment(
                payment_id=f"giftcard-{order_id}",
                method="gift_card",
                amount=Money.zero(total.currency) - done.amount,
                at=self.clock.now(),
                reference=f"gift_card:{code}",
            )
        raise ConcurrencyError("gift_cards", code, -1)

    async def redeem(self, shop_id: str, code: str, amount: Money, *, order_id: str, reference: str) -> None:
        """Take exactly `amount` for a payment a manager registers; once per (order, reference)."""
        key = f"redeem:{order_id}:{reference}"
        movement = GiftCardMovement(
            key=key, kind="redeem", amount=Money.zero(amount.currency) - amount, at=self.clock.now(), order_id=order_id
        )
        if await self.gift_cards.move(shop_id, code, movement) is not None:
            return
        card = await self.gift_cards.get(shop_id, code)
        if card is None:
            raise GiftCardUnusable("no such gift card")
        if card.movement(key) is not None:
            return  # redeemed before a crash: the account update is what is left to do
        if card.currency != amount.currency:
            raise GiftCardUnusable(f"the gift card is in {card.currency}")
        raise InsufficientBalance()
