"""MongoDB persistence of gift cards, with their index.

The balance is kept in minor units so that one conditional `$inc` (filtered on the balance and on
the movement key not yet applied) takes money off a card without ever going below zero.
"""

from __future__ import annotations

from decimal import Decimal

from oms_contracts import Money
from oms_contracts.money import minor_units
from oms_runtime.mongo import Document, IndexSpec
from pymongo import ReturnDocument
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from oms_payment.adapters.outbound.fields_mongo import money_doc, money_of
from oms_payment.domain.gift_card import GiftCard, GiftCardMovement

GIFT_CARDS = "gift_cards"
GIFT_CARD_INDEXES: list[IndexSpec] = [IndexSpec(GIFT_CARDS, [("shop_id", 1), ("_id", -1)])]


def to_minor(money: Money) -> int:
    return int(money.amount.scaleb(minor_units(money.currency)))


def from_minor(value: int, currency: str) -> Money:
    return Money(amount=Decimal(value).scaleb(-minor_units(currency)), currency=currency)


def movement_doc(movement: GiftCardMovement) -> Document:
    doc: Document = {
        "key": movement.key,
        "kind": movement.kind,
        "amount": money_doc(movement.amount),
        "at": movement.at,
    }
    if movement.actor is not None:
        doc["actor"] = movement.actor
    if movement.order_id is not None:
        doc["order_id"] = movement.order_id
    return doc


def movement_of(doc: Document) -> GiftCardMovement:
    return GiftCardMovement(
        key=doc["key"],
        kind=doc["kind"],
        amount=money_of(doc["amount"]),
        at=doc["at"],
        actor=doc.get("actor"),
        order_id=doc.get("order_id"),
    )


def card_of(doc: Document) -> GiftCard:
    return GiftCard(
        code=doc["_id"],
        shop_id=doc["shop_id"],
        balance=from_minor(doc["balance_minor"], doc["currency"]),
        created_at=doc["created_at"],
        movements=tuple(movement_of(m) for m in doc.get("movements") or ()),
    )


class MongoGiftCardRepository:
    def __init__(self, db: AsyncDatabase[Document]) -> None:
        self.collection = db[GIFT_CARDS]

    async def create(self, card: GiftCard) -> bool:
        try:
            await self.collection.insert_one(
                {
                    "_id": card.code,
                    "shop_id": card.shop_id,
                    "currency": card.currency,
                    "balance_minor": to_minor(card.balance),
                    "created_at": card.created_at,
                    "movements": [movement_doc(m) for m in card.movements],
                }
            )
        except DuplicateKeyError:
            return False
        return True

    async def get(self, shop_id: str, code: str) -> GiftCard | None:
        doc = await self.collection.find_one({"_id": code})
        return card_of(doc) if doc is not None and doc.get("shop_id") == shop_id else None

    async def move(self, shop_id: str, code: str, movement: GiftCardMovement) -> GiftCard | None:
        minor = to_minor(movement.amount)
        query: Document = {
            "_id": code,
            "shop_id": shop_id,
            "currency": movement.amount.currency,
            "movements.key": {"$ne": movement.key},
        }
        if minor < 0:
            query["balance_minor"] = {"$gte": -minor}
        doc = await self.collection.find_one_and_update(
            query,
            {"$inc": {"balance_minor": minor}, "$push": {"movements": movement_doc(movement)}},
            return_document=ReturnDocument.AFTER,
        )
        return card_of(doc) if doc is not None else None
